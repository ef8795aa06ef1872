"""A loopback HTTP server (stdlib, a thread, port 0) that counts the requests it gets."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

PAGE = b"""<!doctype html><html><head><title>Loopback  page</title>
<style>body { color: red }</style><script>alert("no")</script></head>
<body><h1>Hello</h1><p>First &amp; second.</p><ul><li>one</li><li>two</li></ul></body></html>"""


class Server:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes, ctype: str,
                      extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.hits.append(self.path)
                port = self.server.server_address[1]
                if self.path == "/json":
                    body = json.dumps({"ok": True, "ua": self.headers["User-Agent"],
                                       "accept": self.headers["Accept"]}).encode()
                    self._send(200, body, "application/json")
                elif self.path == "/page":
                    self._send(200, PAGE, "text/html; charset=utf-8")
                elif self.path == "/big":
                    self._send(200, b"x" * 3_000_000, "text/plain")
                elif self.path == "/redirect":
                    self._send(302, b"", "text/plain", {"Location": "/page"})
                elif self.path == "/loop":
                    self._send(302, b"", "text/plain", {"Location": "/loop"})
                elif self.path == "/to-localhost":
                    self._send(302, b"", "text/plain",
                               {"Location": f"http://localhost:{port}/json"})
                elif self.path == "/slow":
                    server.release.wait(10)
                    self._send(200, b"late", "text/plain")
                else:
                    self._send(404, b"not here", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as s:
        yield s

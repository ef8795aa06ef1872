"""Run the service with uvicorn in a thread on a loopback port (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any, Iterator

__all__ = ["serve_in_thread"]


@contextlib.contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1",
                    timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` (lifespan on, WebSockets through ``websockets``) on ``host`` port 0;
    yield ``http://host:port``. Start and stop wait on events, never on sleeps."""
    import uvicorn

    started = threading.Event()
    failure: list[BaseException] = []

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            started.set()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                            ws="websockets-sansio", http="h11", loop="asyncio",
                            access_log=False, timeout_graceful_shutdown=2,
                            ws_ping_interval=None)
    server = _Server(config)

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name=f"teragent-service-{port}", daemon=True)
    thread.start()
    started.wait(timeout)
    if failure or not server.started:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        raise RuntimeError(f"the service did not start: {failure[:1]!r}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()

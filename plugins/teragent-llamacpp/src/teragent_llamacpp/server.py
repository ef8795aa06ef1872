"""Run llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``) on
loopback, for integration tests of HTTP adapters against a real server.

Needs the server extra: ``pip install 'teragent-llamacpp[server]'``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Iterator

import httpx

from teragent.errors import RunError

__all__ = ["serve_llama_cpp"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_llama_cpp(model_path: str, *, alias: str = "smollm2", n_ctx: int = 2048,
                    startup_timeout: float = 60.0) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` for ``model_path`` on 127.0.0.1 and yield its
    base URL (``http://127.0.0.1:PORT/v1``) once ``/v1/models`` answers; the process is
    always terminated on exit.

    Raises:
        RunError: the server exited or did not answer within ``startup_timeout``
            (the message carries the end of its log).
    """
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", model_path,
         "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx), "--n_threads", str(os.cpu_count() or 1)],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"

    def tail() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RunError(f"llama_cpp.server exited with {proc.returncode}:\n{tail()}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RunError(f"llama_cpp.server did not answer /v1/models within "
                               f"{startup_timeout:g} s:\n{tail()}")
            time.sleep(0.2)  # polling a subprocess: there is no event to wait on
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

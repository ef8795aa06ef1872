"""``teragent serve`` as a real subprocess: registered through the plugin commands hook,
it serves /health and the UI, and refuses bad settings with one clean line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TERAGENT = [sys.executable, "-m", "teragent.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "TERAGENT_SERVICE_TOKENS": "alice:alice-token-0123456789"}
    proc = subprocess.Popen([*TERAGENT, "serve", "--port", str(port), "--workspace-root",
                             str(tmp_path / "root"), "--database-url",
                             f"sqlite:///{tmp_path / 'svc.db'}"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "teragent serve did not answer"
                time.sleep(0.1)
        assert r.json()["status"] == "ok"
        assert "TerAgent" in httpx.get(f"http://127.0.0.1:{port}/").text
        h = {"Authorization": "Bearer alice-token-0123456789"}
        cid = httpx.post(f"http://127.0.0.1:{port}/api/chat", json={}, headers=h) \
            .json()["conversation_id"]
        assert (tmp_path / "root" / "alice" / cid).is_dir()
        assert (tmp_path / "svc.db").is_file()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "alice-token-0123456789" not in out


def test_serve_without_tokens_says_how_to_set_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TERAGENT_SERVICE_TOKENS"}
    r = subprocess.run([*TERAGENT, "serve", "--workspace-root", str(tmp_path)], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "TERAGENT_SERVICE_TOKENS" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*TERAGENT, "serve", "--open", "--host", "0.0.0.0"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "127.0.0.1" in r.stderr

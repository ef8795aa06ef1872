"""A real service on loopback (uvicorn in a thread) whose conversations get a
:class:`~teragent.testing.ScriptedModel` each, scripted by the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from teragent.testing import ScriptedModel

from teragent_service.app import create_app
from teragent_testing.fake_openai import serve_in_thread
from teragent_service.settings import ServiceSettings, parse_tokens

#: serve_in_thread options for the real service app (lifespan, WebSockets, no pings).
SERVICE = {"path": "", "name": "teragent-service", "lifespan": "on",
           "ws": "websockets-sansio", "ws_ping_interval": None, "log_level": "warning",
           "timeout_graceful_shutdown": 2}

TOKEN_A = "alice-token-0123456789"
TOKEN_B = "bob-token-9876543210"


class Svc:
    def __init__(self, base: str, models: dict[str, Any], root: Path) -> None:
        self.base = base
        self.ws_base = "ws" + base[len("http"):]
        self.models = models
        self.root = root
        self.a = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN_A}"},
                              timeout=30)
        self.b = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN_B}"},
                              timeout=30)

    def create(self, steps: list[Any] | None = None, **flags: Any) -> str:
        r = self.a.post("/api/chat", json=flags)
        assert r.status_code == 200, r.text
        cid = r.json()["conversation_id"]
        self.models[cid] = ScriptedModel(list(steps or []))
        return cid

    def connect(self, cid: str, token: str = TOKEN_A, last_seq: int | None = None) -> Any:
        from websockets.sync.client import connect

        url = f"{self.ws_base}/api/chat/{cid}/ws"
        if last_seq is not None:
            url += f"?last_seq={last_seq}"
        return connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                       open_timeout=10)

    def close(self) -> None:
        self.a.close()
        self.b.close()

    recv = staticmethod(lambda ws, timeout=20.0: recv(ws, timeout))
    until = staticmethod(lambda ws, kind, seen=None, timeout=20.0: until(ws, kind, seen, timeout))


def recv(ws: Any, timeout: float = 20.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def until(ws: Any, kind: str, seen: list[dict[str, Any]] | None = None,
          timeout: float = 20.0) -> dict[str, Any]:
    """Read events until one of type ``kind``; every event read goes into ``seen``."""
    while True:
        event = recv(ws, timeout)
        if seen is not None:
            seen.append(event)
        if event["type"] == kind:
            return event


@pytest.fixture
def approval_timeout() -> float:
    """Seconds an approval waits (long: a loaded machine must not time a test out;
    test_approval_timeout.py overrides it)."""
    return 15.0


@pytest.fixture
def max_steps() -> int:
    return 50


@pytest.fixture
def svc(tmp_path: Path, approval_timeout: float, max_steps: int) -> Iterator[Svc]:
    models: dict[str, Any] = {}
    pending: list[Any] = []  # models for conversations created by a browser

    def factory(meta: Any, agent: str | None = None) -> Any:
        """The scripted model of a conversation; ``models[(id, name)]`` for a teammate."""
        if agent is not None:
            return models.get((meta.id, agent))
        if meta.id not in models:
            models[meta.id] = pending.pop(0)
        return models[meta.id]
    settings = ServiceSettings(
        workspace_root=tmp_path / "root", database=tmp_path / "db" / "service.db",
        tokens=parse_tokens(f"alice:{TOKEN_A},bob:{TOKEN_B}"),
        provider_factory=factory, config={}, teammate_idle_timeout=5.0,
        teammate_idle_poll=0.2,
        approval_timeout=approval_timeout, max_steps=max_steps, max_upload_bytes=64 * 1024, max_read_bytes=1000)
    with serve_in_thread(create_app(settings), **SERVICE) as base:
        s = Svc(base, models, tmp_path / "root")
        s.pending = pending
        try:
            yield s
        finally:
            s.close()

"""Conversations outlive the service process's memory: a new service on the same
database and workspace root restores the history, the usage and the task graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from teragent.testing import ScriptedModel
from teragent.testing.scripted import call_tool, reply

from teragent_service.app import create_app
from teragent_testing.fake_openai import serve_in_thread
from teragent_service.settings import ServiceSettings, parse_tokens

TOKEN = "carol-token-0123456789"
SERVICE = {"path": "", "name": "teragent-service", "lifespan": "on",
           "ws": "websockets-sansio", "ws_ping_interval": None}


def _settings(tmp_path: Path, model: Any) -> ServiceSettings:
    return ServiceSettings(workspace_root=tmp_path / "root", database=tmp_path / "s.db",
                           tokens=parse_tokens(f"carol:{TOKEN}"),
                           provider_factory=lambda meta: model, config={})


def _turn(base: str, cid: str, text: str) -> dict[str, Any]:
    ws_url = "ws" + base[4:] + f"/api/chat/{cid}/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"},
                 open_timeout=10) as ws:
        json.loads(ws.recv(timeout=20))
        ws.send(json.dumps({"type": "message", "content": text}))
        while True:
            event = json.loads(ws.recv(timeout=20))
            if event["type"] == "done":
                return event


def test_history_usage_and_tasks_survive_a_restart(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = ScriptedModel([call_tool("task_create", {"subject": "Remember me"}),
                           reply("My name is Ada.")])
    with serve_in_thread(create_app(_settings(tmp_path, first)), **SERVICE) as base:
        cid = httpx.post(base + "/api/chat", json={}, headers=headers).json()[
            "conversation_id"]
        done = _turn(base, cid, "who are you?")
    second = ScriptedModel([call_tool("task_list", {}), reply("Still Ada.")])
    with serve_in_thread(create_app(_settings(tmp_path, second)), **SERVICE) as base:
        conv = httpx.get(f"{base}/api/conversations/{cid}", headers=headers).json()
        assert [m["role"] for m in conv["messages"]] == ["user", "assistant", "tool",
                                                         "assistant"]
        assert conv["usage"]["total_tokens"] == done["total_usage"]["total_tokens"] > 0
        assert conv["title"] == "who are you?"
        _turn(base, cid, "and now?")
    sent = second.requests[0].as_messages()
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant",
                                         "user"]
    assert sent[4]["content"] == "My name is Ada."
    listed = [m for m in second.requests[1].as_messages() if m["role"] == "tool"][-1]
    assert "#1 [pending] Remember me" in listed["content"]


def _until_no_client(app: Any, cid: str) -> None:
    """The server notices a closed WebSocket a moment after the client: wait for it."""
    import time

    deadline = time.monotonic() + 10
    while app.state.service.runtimes[cid].log.subscribers:
        assert time.monotonic() < deadline, "the server kept the closed client"
        time.sleep(0.01)


def test_idle_conversations_past_the_limit_are_closed_and_come_back(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    # One model per agent built: a, b, and a again after it was closed.
    models = [ScriptedModel([reply("one")]), ScriptedModel([reply("two")]),
              ScriptedModel([reply("one again")])]
    settings = _settings(tmp_path, None)
    settings.provider_factory = lambda meta: models.pop(0)
    settings.max_active_conversations = 1
    model = models[2]
    app = create_app(settings)
    with serve_in_thread(app, **SERVICE) as base:
        a = httpx.post(base + "/api/chat", json={}, headers=headers).json()["conversation_id"]
        b = httpx.post(base + "/api/chat", json={}, headers=headers).json()["conversation_id"]
        _turn(base, a, "first")
        assert list(app.state.service.runtimes) == [a]
        _until_no_client(app, a)
        _turn(base, b, "second")
        assert list(app.state.service.runtimes) == [b]    # a was idle: closed
        _until_no_client(app, b)
        _turn(base, a, "first again")                    # and comes back from the database
        assert list(app.state.service.runtimes) == [a]
    sent = model.requests[0].as_messages()
    assert [m["content"] for m in sent[1:]] == ["first", "one", "first again"]

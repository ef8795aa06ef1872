"""The CLI sees the same tools: ``teragent run`` (in process) with an ``agent.toml``
holding ``[openapi.pets]``, a model on the OpenAI fake server asking for the FastAPI
app's operations; the GET runs, the DELETE (offered to nobody, no TTY, no --yes) never
reaches the app."""

from __future__ import annotations

import io
import json
import sys

import pytest


class NoTTY(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_teragent_run_calls_an_openapi_tool(tmp_path, isolated, pets, monkeypatch, capsys):
    teragent_openai = pytest.importorskip("teragent_openai")
    import teragent_auth
    import teragent_cache
    import teragent_openapi
    from teragent.cli import main
    from teragent.testing.hosts import isolated_host
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000111222")
    monkeypatch.setattr(sys, "stdin", NoTTY(""))
    (tmp_path / ".git").mkdir()
    (tmp_path / "agent.toml").write_text(
        f'[openapi.pets]\nspec = "{pets.url}/openapi.json"\ninclude = ["getPet", "deletePet"]\n')
    model = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("pets_getPet", {"pet_id": 1})]),
        ScriptedReply(tool_calls=[("pets_deletePet", {"pet_id": 1})]),
        ScriptedReply(text="Rex is a good dog."))
    with isolated_host(teragent_openapi, teragent_auth, teragent_cache, teragent_openai), \
            serve_in_thread(model) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code = main(["run", "tell me about pet 1", "-m", "openai:gpt-4o-mini",
                     "--no-stream", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    calls = out["tool_calls"]
    assert [c["name"] for c in calls] == ["pets_getPet", "pets_deletePet"]
    assert calls[0]["success"] is True and calls[1]["success"] is False
    assert ("GET", "/pets/1") in pets.requests
    assert ("DELETE", "/pets/1") not in pets.requests and 1 in pets.pets

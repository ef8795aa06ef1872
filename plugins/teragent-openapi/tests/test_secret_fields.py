"""A field the spec marks secret (``format: password`` / ``writeOnly: true``, as
pydantic's ``SecretStr`` and most generators emit) reaches the API but no record of the
call: not the audit log, the events, the conversation kept for the next model call, nor
the run's result. The app serves its own ``/openapi.json`` on loopback; the agent is
built by ``teragent.compose.build_agent`` from an ``agent.toml``."""

# (no "from __future__ import annotations": FastAPI reads the endpoints' annotations)

import asyncio
import json
from typing import Any, Iterator, Optional

import pytest
from pydantic import BaseModel, SecretStr

from teragent.compose import build_agent
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_openapi import OpenAPIToolset

PASSWORD, OTP, PIN = "correct-horse-battery", "914-227", "2468"


class Credentials(BaseModel):
    username: str
    password: SecretStr


class Login(BaseModel):
    credentials: Credentials
    remember: bool = False


def make_app(seen: list[dict[str, Any]]) -> Any:
    from fastapi import Body, FastAPI, Header

    app = FastAPI(title="Accounts", version="1.0.0")

    @app.post("/login", operation_id="login", summary="Log in")
    def login(body: Login, x_otp: Optional[str] = Header(
            None, json_schema_extra={"format": "password"})) -> Any:
        seen.append({"user": body.credentials.username,
                     "password": body.credentials.password.get_secret_value(),
                     "otp": x_otp})
        return {"ok": True, "user": body.credentials.username}

    @app.post("/pin", operation_id="setPin", summary="Set a PIN")
    def set_pin(pin: str = Body(..., embed=True, json_schema_extra={"writeOnly": True}),
                label: str = Body("card", embed=True)) -> Any:
        seen.append({"pin": pin})
        return {"ok": True, "label": label}

    return app


@pytest.fixture
def accounts() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    from teragent_testing.fake_openai import serve_in_thread

    seen: list[dict[str, Any]] = []
    with serve_in_thread(make_app(seen), path="") as url:
        yield url, seen


def test_the_spec_marks_which_arguments_are_secret(accounts):
    url, _ = accounts
    tools = {t.name: t for t in OpenAPIToolset(f"{url}/openapi.json", name="acct").get_tools()}
    assert set(tools["acct_login"].sensitive_params) == {"body.credentials.password", "x-otp"}
    assert tools["acct_setPin"].sensitive_params == ("body.pin",)
    shown = tools["acct_login"].redact({"body": {"credentials": {"username": "ann",
                                                                 "password": PASSWORD}},
                                        "x-otp": OTP})
    assert shown == {"body": {"credentials": {"username": "ann",
                                              "password": "[redacted: 21 chars]"}},
                     "x-otp": "[redacted: 7 chars]"}


def test_secret_fields_reach_the_api_and_no_record(tmp_path, accounts):
    url, seen = accounts
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "agent.toml").write_text(f'[openapi.acct]\nspec = "{url}/openapi.json"\n')
    later_prompts: list[str] = []
    model = ScriptedModel([
        call_tool("acct_login", {"body": {"credentials": {"username": "ann",
                                                          "password": PASSWORD}},
                                 "x-otp": OTP}),
        call_tool("acct_setPin", {"body": {"pin": PIN, "label": "debit"}},
                  expect=lambda messages, tools: later_prompts.append(json.dumps(messages))),
        reply("done", expect=lambda messages, tools: later_prompts.append(json.dumps(messages))),
    ])
    events: list[str] = []

    async def main():
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model,
                            offer_all_tools=True, allow_writes=True)
        agent.bus.on("*", lambda name, *a, **kw: events.append(f"{name} {a!r} {kw!r}"))
        try:
            return await agent.run("log in as ann and set the debit PIN")
        finally:
            await agent.aclose()

    result = asyncio.run(main())
    model.assert_consumed()
    assert result.final_text == "done"
    # the API got the real values
    assert seen == [{"user": "ann", "password": PASSWORD, "otp": OTP}, {"pin": PIN}]
    out = {o.call.name: o.result for o in result.tool_outcomes}
    assert out["acct_setPin"].data["body"] == {"ok": True, "label": "debit"}
    audit = (ws / ".teragent" / "audit.jsonl").read_text()
    records = {"audit log": audit, "events": "\n".join(events),
               "later model calls": "\n".join(later_prompts),
               "result": json.dumps(result.as_dict(), default=str)}
    for where, text in records.items():
        for secret in (PASSWORD, OTP, PIN):
            assert secret not in text, f"{secret!r} in the {where}"
    # what is not secret stays readable, so the records still say what happened (the
    # audit log also hides every field with a secret's name, here all of "credentials")
    assert "debit" in audit and "[redacted: 7 chars]" in audit
    assert '\\"username\\": \\"ann\\"' in records["later model calls"]  # JSON in JSON
    assert "[redacted: 21 chars]" in records["later model calls"]

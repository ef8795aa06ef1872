"""Secret arguments of MCP tools: a field the server's input schema marks (``format:
password`` / ``writeOnly``, what a ``SecretStr`` parameter gives) or a parameter the
``[mcp.servers.NAME] params`` table calls ``"secret"`` reaches the server and no record:
not the audit log, the events, the messages of later model calls, nor the result. The
server is a real MCP server (the SDK's ``MCPServer``) over stdio, built from
``agent.toml`` by ``build_agent``."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import teragent
from teragent.testing import ScriptedModel, call_tool, reply

SERVER = '''
from pydantic import SecretStr
from mcp.server.mcpserver import MCPServer

app = MCPServer("vault")


@app.tool()
def unlock(vault: str, passphrase: SecretStr) -> str:
    """Unlock a vault."""
    secret = passphrase.get_secret_value()
    return f"unlocked {vault}: {'right' if secret == 'open sesame 42' else 'wrong'} passphrase"


@app.tool()
def set_pin(card: str, pin: str) -> str:
    """Set a card's PIN."""
    return f"pin of {card} set: {'as asked' if pin == '8642' else 'other'}"


if __name__ == "__main__":
    app.run()
'''
PASSPHRASE, PIN = "open sesame 42", "8642"


def test_marked_and_configured_secrets_reach_the_server_and_no_record(isolated):
    server = isolated / "vault_server.py"
    server.write_text(SERVER)
    (isolated / "agent.toml").write_text(f"""
[mcp.servers.vault]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(server))}]
health_interval = 0
tool_safety = {{ unlock = "safe_write", set_pin = "safe_write" }}
params = {{ set_pin = {{ pin = "secret", card = "data" }} }}
""")
    prompts: list[str] = []

    def seen(messages: Any, tools: Any) -> None:
        prompts.append(json.dumps(messages))

    model = ScriptedModel([
        call_tool("vault_unlock", {"vault": "ops", "passphrase": PASSPHRASE}),
        call_tool("vault_set_pin", {"card": "debit", "pin": PIN}, expect=seen),
        reply("done", expect=seen),
    ])
    events: list[str] = []

    async def main() -> Any:
        agent = teragent.build_agent(isolated / "agent.toml", workspace=isolated,
                                     provider=model, allow_writes=True)
        agent.bus.on("*", lambda name, *a, **kw: events.append(f"{name} {a!r} {kw!r}"))
        try:
            tools = {n: agent.tools.get(n) for n in ("vault_unlock", "vault_set_pin")}
            return tools, await agent.run("unlock ops and set the debit PIN")
        finally:
            await agent.aclose()

    tools, result = asyncio.run(main())
    model.assert_consumed()
    assert tools["vault_unlock"].sensitive_params == ("passphrase",)  # from the schema
    assert tools["vault_set_pin"].sensitive_params == ("pin",)  # from the table
    out = {o.call.name: o.result for o in result.tool_outcomes}
    assert "right passphrase" in out["vault_unlock"].data  # the server got the real ones
    assert "pin of debit set: as asked" in out["vault_set_pin"].data
    audit = (isolated / ".teragent" / "audit.jsonl").read_text()
    records = {"audit log": audit, "events": "\n".join(events),
               "later model calls": "\n".join(prompts),
               "result": json.dumps(result.as_dict(), default=str)}
    for where, text in records.items():
        for secret in (PASSPHRASE, PIN):
            assert secret not in text, f"{secret!r} in the {where}"
    assert "debit" in audit and "[redacted: 14 chars]" in audit and "[redacted: 4 chars]" in audit

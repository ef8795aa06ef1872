"""Building an agent stays cheap (issue 12, ``bench/bench_startup.py``): with an empty
configuration, a plugin whose table is absent imports nothing beyond its hookimpls and
the classes of the tools it offers, a tool's heavy dependencies load when it runs, and
no pydantic model is built or validated for an absent table.

The bench's case runs in a fresh interpreter; the test reads which modules it loaded
and which pydantic models it completed. No timing: the machine is shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# What the build of an agent with an empty configuration must not load, and why.
NOT_AT_BUILD = {
    "teragent_mcp.connection": "no [mcp] table: no server is connected",
    "teragent_mcp.session": "no [mcp] table: no server is connected",
    "teragent_mcp.config": "no [mcp] table: its model is not needed",
    "teragent_openapi.spec": "no [openapi] table: no document is parsed",
    "teragent_openapi.config": "no [openapi] table",
    "teragent_auth.manager": "no [auth] or [openapi] table",
    "teragent_auth.credentials": "no [auth] or [openapi] table",
    "teragent_webtools.fetch": "fetch_url/http_get load their client when they run",
    "html.parser": "fetch_url parses HTML when it runs",
    "teragent_hooks.base": "no [[hooks]]: the hook machinery stays cold",
    "teragent_hooks.config": "no [[hooks]]",
    "teragent_long_horizon.config": "no [long_horizon] table: its model is not needed",
    "teragent_long_horizon.status": "no long task runs: its status recorder stays cold",
    "ctypes": "namespaces are unshared when a command runs, not at build",
    "teragent.security.confine": "confinement is set up when a command runs",
    "teragent.security.sandbox": "the sandbox is chosen when a command runs",
    "asyncio": "the loop's primitives are made when it runs (asyncio costs 12-20 ms)",
    "subprocess": "processes are started when a tool runs",
}

_CASE = textwrap.dedent("""
    import json, os, sys, tempfile
    import teragent
    os.environ["BENCH_KEY"] = "x"
    d = tempfile.mkdtemp()
    p = teragent.create_provider(adapter="openai_compatible", model="m",
                                 base_url="http://127.0.0.1:1", api_key_env="BENCH_KEY")

    def complete_models():
        if "pydantic" not in sys.modules:
            return set()
        from pydantic import BaseModel
        seen, todo = set(), [BaseModel]
        while todo:
            for sub in todo.pop().__subclasses__():
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        return {f"{c.__module__}.{c.__qualname__}" for c in seen
                if c.__dict__.get("__pydantic_complete__")}

    before, loaded = complete_models(), set(sys.modules)
    a = teragent.build_agent({}, workspace=d, provider=p)
    print(json.dumps({"modules": sorted(set(sys.modules) - loaded),
                      "built": sorted(complete_models() - before),
                      "tools": sorted(a.tools.list_tool_names())}))
""")


def _run_case() -> dict:
    out = subprocess.run([sys.executable, "-c", _CASE], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_build_agent_with_empty_config_stays_cold():
    result = _run_case()
    loaded = set(result["modules"])  # by build_agent (create_provider is another path's)
    wrong = {m: why for m, why in NOT_AT_BUILD.items() if m in loaded}
    assert not wrong, f"building an agent with an empty config loaded: {wrong}"
    assert result["built"] == [], (
        "building an agent with an empty config built pydantic models (their tables are "
        f"absent; defaults need no validation): {result['built']}")
    # Lazy means deferred, not dropped: the tools are all there.
    # (bash, write_file and edit_file are not offered: the default permissions refuse them)
    assert {"read_file", "grep", "fetch_url", "http_get", "memory_search", "compact",
            "think"} <= set(result["tools"])

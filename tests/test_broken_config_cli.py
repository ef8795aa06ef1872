"""Broken agent.toml files through the CLI as a user meets them: `teragent run hi` in a
project whose agent.toml is wrong must exit 2 with exactly one line on stderr naming
the file, the line and the table/key (`agent.toml:LINE: [table] key: what is wrong, how
to fix`), no traceback, and no model call (issue 18, "Must show")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TERAGENT = [sys.executable, "-m", "teragent.cli"]

DRIVER = '[drivers.openai_compatible.main]\nmodel = "gpt-4o-mini"\n'

# id, agent.toml, line, where ("[table] key:" or "[table]"), what the line must also say,
# plugins the table needs
CASES = [
    # TOML syntax: the parser's line, and the table/key written there
    ("syntax-unclosed-header", "[agent\nmax_steps = 3\n", 1, "[agent]",
     ["invalid TOML", "Expected ']'"], []),
    ("syntax-duplicate-key", "[agent]\nmax_steps = 3\nmax_steps = 4\n", 3,
     "[agent] max_steps:", ["invalid TOML", "Cannot overwrite a value"], []),
    ("syntax-unterminated-string", '[agent]\nsystem_prompt = "be brief\n', 2,
     "[agent] system_prompt:", ["invalid TOML"], []),
    # unknown tables and keys, with did-you-mean
    ("unknown-table", "[agnet]\nmax_steps = 3\n", 1, "[agnet]",
     ["unknown table; did you mean [agent]?"], []),
    ("unknown-key", "[agent]\nmax_stepz = 3\n", 2, "[agent] max_stepz:",
     ["unknown key; did you mean 'max_steps'?"], []),
    ("unknown-key-audit", "[audit]\nenable = false\n", 2, "[audit] enable:",
     ["did you mean 'enabled'?"], []),
    ("table-as-scalar", "agent = 3\n", 1, "[agent]",
     ["must be a table", "write [agent]"], []),
    # wrong types and values
    ("wrong-type-int", '[agent]\nmax_steps = "ten"\n', 2, "[agent] max_steps:",
     ["valid integer", "(got 'ten')", "write a whole number"], []),
    ("out-of-range", "[agent]\nmax_steps = 0\n", 2, "[agent] max_steps:",
     ["greater than or equal to 1", "(got 0)"], []),
    ("wrong-type-bool", '[streaming]\nenabled = "yes please"\n', 2, "[streaming] enabled:",
     ["write true or false"], []),
    ("wrong-type-list", '[tools]\ndisabled = "bash"\n', 2, "[tools] disabled:",
     ["write a list"], []),
    # drivers
    ("driver-key-typo", DRIVER.replace("model", "modle"), 2,
     "[drivers] openai_compatible.main.modle:", ["did you mean 'model'?"], []),
    ("driver-api-keyenv", DRIVER + 'api_keyenv = "OPENAI_API_KEY"\n', 3,
     "[drivers] openai_compatible.main.api_keyenv:", ["did you mean 'api_key_env'?"], []),
    ("driver-inline-key", DRIVER + 'api_key = "sk-inline-000"\n', 3,
     "[drivers.openai_compatible.main] api_key:", ["must not be written", "api_key_env"], []),
    ("driver-wrong-type", DRIVER + 'timeout = "slow"\n', 3,
     "[drivers.openai_compatible.main] timeout:", ["(got 'slow')", "write a number"], []),
    ("driver-unknown-adapter", DRIVER.replace("openai_compatible", "opnai_compatible"), 1,
     "[drivers] opnai_compatible.main:",
     ["unknown adapter 'opnai_compatible'", "did you mean 'openai_compatible'?"], []),
    ("driver-unknown-compiler", DRIVER + 'compiler = "deepsek"\n', 3,
     "[drivers] openai_compatible.main.compiler:",
     ["unknown compiler 'deepsek'", "did you mean 'deepseek'?"], []),
    ("drivers-not-a-table", 'drivers = "openai"\n', 1, "[drivers]",
     ["must be a table of tables", "[drivers.<adapter>.<identity>]"], []),
    ("agent-driver-undefined", DRIVER + '\n[agent]\ndriver = "openai_compatible.mian"\n', 5,
     "[agent] driver:", ["is not a driver of this configuration",
                         "did you mean 'openai_compatible.main'?"], []),
    # tables owned by plugins, validated by their models
    ("permission-bad-enum", '[permission]\nmode = "sometimes"\n', 2, "[permission] mode:",
     ["unknown permission level 'sometimes'", "plan"], ["teragent_permissions"]),
    ("permission-rules-key", '[permission]\nmode = "plan"\nrules = { allw = ["read_file:*"] }\n',
     3, "[permission] rules.allw:", ["did you mean 'allow'?"], ["teragent_permissions"]),
    ("circuit-breaker-key", "[circuit_breaker]\ntoken_budgett = 1000\n", 2,
     "[circuit_breaker] token_budgett:", ["did you mean 'token_budget'?"],
     ["teragent_reliability"]),
    ("circuit-breaker-value", "[circuit_breaker]\ntoken_budget = -1\n", 2,
     "[circuit_breaker] token_budget:", ["greater than or equal to 0"],
     ["teragent_reliability"]),
    ("recovery-key", "[recovery]\nmax_retrys = 1\n", 2, "[recovery] max_retrys:",
     ["did you mean 'max_retries'?"], ["teragent_reliability"]),
    # [[hooks]]
    ("hooks-key-typo", '[[hooks]]\ntype = "shell"\ncommand = "true"\ntimout = 3\n', 4,
     "[hooks[0]] timout:", ["did you mean 'timeout'?"], ["teragent_hooks"]),
    ("hooks-bad-type", '[[hooks]]\ntype = "shel"\ncommand = "true"\n', 2, "[hooks[0]] type:",
     ["'shell'", "(got 'shel')"], ["teragent_hooks"]),
    ("hooks-second-item", '[[hooks]]\ntype = "audit"\n\n[[hooks]]\ntype = "shell"\n', 4,
     "[hooks[1]]", ['command = "..."'], ["teragent_hooks"]),
    ("hooks-single-brackets", '[hooks]\ntype = "shell"\ncommand = "true"\n', 1, "[hooks]",
     ["must be an array of tables", "[[hooks]]"], ["teragent_hooks"]),
    ("plugins-unknown", "[plugins.nosuchplugin]\nenabled = true\n", 1,
     "[plugins] nosuchplugin:", ["no loaded plugin is named 'nosuchplugin'"], []),
]

VENDOR = ("OPENAI_", "ANTHROPIC_", "DEEPSEEK_", "GLM_", "ZHIPUAI_", "MINIMAX_", "OLLAMA_",
          "TERAGENT_")


def test_the_table_has_at_least_twenty_distinct_cases():
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len({c[1] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("text, line, where, says, plugins",
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_broken_agent_toml_is_one_line_exit_2(tmp_path, text, line, where, says, plugins):
    for module in plugins:
        pytest.importorskip(module)
    (tmp_path / ".git").mkdir()
    config = tmp_path / "agent.toml"
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR)}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               OPENAI_API_KEY="sk-test-unused-000")  # a key, so no run fails for want of it
    out = subprocess.run([*TERAGENT, "run", "hi"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)

    assert out.returncode == 2, (out.returncode, out.stderr, out.stdout)
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert out.stdout == ""  # nothing ran: no model call, no answer
    assert out.stderr.endswith("\n") and out.stderr.count("\n") == 1, out.stderr
    message = out.stderr.rstrip("\n")
    shown = re.match(r"teragent: error: (.+?):(\d+): (.*)$", message)
    assert shown, message
    path, shown_line, rest = shown.groups()
    assert Path(path).resolve() == config.resolve(), message       # the file
    assert int(shown_line) == line, message                          # the line
    assert rest.startswith(where + " "), message                     # the table and key
    for fragment in says:                                            # what is wrong / fix
        assert fragment in rest, (fragment, message)

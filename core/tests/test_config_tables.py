"""Every agent.toml table validated by its owner's model (TerAgentConfig), errors as
``agent.toml:LINE: [table] key: what is wrong, how to fix``; ``teragent config
check|show``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from teragent.cli import main
from teragent.config.loader import load_full_config
from teragent.config.teragent_config import TerAgentConfig
from teragent.errors import ConfigError

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def _with(*names: str):
    """An isolated host holding these installed plugins (the suite's default host is
    the kernel only)."""
    from teragent.testing.hosts import isolated_host

    return isolated_host(*(pytest.importorskip(n) for n in names))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_full_config(path)
    return str(info.value)


# --- every kernel table, valid ----------------------------------------------------------

GOOD = """\
[drivers.mock.local]
model = "m"

[drivers.mock.backup]
model = "b"

[agent]
driver = "mock.local"
max_steps = 7

[audit]
path = "logs/audit.jsonl"

[workspace]
protected = ["secrets/**"]

[streaming]
enabled = false
retries = 4

[tools]
disabled = ["bash"]
timeout = 30
max_output_chars = 5000

[model_fallback]
chain = ["mock.backup"]

[circuit_breaker]
token_budget = 1000

[recovery]
max_retries = 5

[rate_limit]
strategy = "token_bucket"
max_tokens = 10

[routing]
default_driver = "mock.local"

[routing.monthly_budget]
limit_cny = 100.0

[execution.pipeline]
design_driver = "mock.local"

[pipeline.profiles.fast]
design_driver = "mock.local"
"""


#: Tables of teragent-reliability and teragent-router (in GOOD and in ERRORS).
PLUGIN_TABLES = ("circuit_breaker", "recovery", "rate_limit", "routing", "execution",
                 "pipeline")


def test_every_kernel_table_validates_and_is_typed(tmp_path):
    # GOOD also holds the reliability and router plugins' tables: they validate too.
    with _with("teragent_reliability", "teragent_router"):
        cfg = TerAgentConfig.from_config(load_full_config(_write(tmp_path, GOOD)))
    assert cfg.agent.max_steps == 7 and cfg.agent.driver == "mock.local"
    assert cfg.audit.path == "logs/audit.jsonl"
    assert cfg.workspace.protected == ["secrets/**"]
    assert (cfg.streaming.enabled, cfg.streaming.retries) == (False, 4)
    assert cfg.tools.disabled == ["bash"] and cfg.tools.timeout == 30
    assert cfg.model_fallback.drivers == ["mock.backup"]
    assert cfg.table("circuit_breaker").token_budget == 1000
    assert cfg.table("recovery").max_retries == 5
    assert cfg.table("rate_limit").max_tokens == 10
    assert cfg.table("routing").default_driver == "mock.local"
    assert cfg.table("execution").pipeline.design_driver == "mock.local"
    assert "fast" in cfg.table("pipeline").profiles


def _example(name_hint: str) -> list[str]:
    seed = next(SEEDS.glob("000_*.txt"), None)
    if seed is None:
        pytest.skip("the seeds are not next to this checkout")
    text = seed.read_text(encoding="utf-8")
    blocks = re.findall(r"(\[drivers\.openai_compatible\.[\s\S]+?)(?:import teragent|API Key)",
                        text)
    assert len(blocks) == 2, "the seed's two example configurations moved"
    out = []
    for block in blocks:
        # the README flattens "auto_downgrade = true" and the next line together
        block = block.replace("auto_downgrade = trueimport", "auto_downgrade = true")
        out.append(block.split("import teragent")[0])
    return out


@pytest.mark.parametrize("index", [0, 1])
def test_the_documented_example_configs_validate(tmp_path, index):
    text = _example("000")[index]
    with _with("teragent_permissions", "teragent_reliability", "teragent_router"):
        cfg = TerAgentConfig.from_config(load_full_config(_write(tmp_path, text)))
    assert cfg.drivers
    if "[permission]" in text:
        assert cfg.table("permission").mode == "plan"
    if "[routing.monthly_budget]" in text:
        assert cfg.table("routing").monthly_budget["limit_cny"] == 500.0


# --- errors: one line, file:line, table, key, the fix -----------------------------------


@pytest.mark.parametrize("text, line, expected", [
    ("[agnet]\nmax_steps = 3\n", 1, "[agnet] unknown table; did you mean [agent]?"),
    ("[agent]\nmax_stepz = 3\n", 2, "[agent] max_stepz: unknown key; did you mean 'max_steps'?"),
    ('[agent]\nmax_steps = "ten"\n', 2,
     "[agent] max_steps: Input should be a valid integer"),
    ("[streaming]\nenabled = 3\n", 2, "[streaming] enabled:"),
    ("[streaming]\nretrys = 2\n", 2, "[streaming] retrys: unknown key; did you mean 'retries'?"),
    ("[tools]\ndisabled = \"bash\"\n", 2, "[tools] disabled: Input should be a valid list"),
    ('[tools]\nenabled = ["bash"]\ndisabled = ["bash"]\n', 1, "[tools] bash is both"),
    ("[audit]\nenable = false\n", 2, "[audit] enable: unknown key; did you mean 'enabled'?"),
    ("[workspace]\nprotect = []\n", 2, "[workspace] protect: unknown key; did you mean"),
    ('[model_fallback]\ndriver = "mock.nope"\n', 2,
     "[model_fallback] driver: 'mock.nope' is not a driver"),
    ('[drivers.mock.a]\nmodel = "m"\n[agent]\ndriver = "mock.b"\n', 4,
     "[agent] driver: 'mock.b' is not a driver of this configuration; did you mean 'mock.a'?"),
    ('[drivers.mock.a]\nmodle = "m"\n', 2,
     "[drivers] mock.a.modle: unknown key; did you mean 'model'?"),
    ("[recovery]\nmax_retrys = 1\n", 2, "[recovery] max_retrys: unknown key; did you mean"),
    ("[circuit_breaker]\ntoken_budget = -1\n", 2, "[circuit_breaker] token_budget:"),
    ("[rate_limit]\nmax_tokenz = 1\n", 2, "[rate_limit] max_tokenz: unknown key; did you mean"),
    ('[routing.monthly_budgett]\nlimit_cny = 1\n', 1, "[routing] monthly_budgett: unknown key"),
    ("[execution.pipeline]\ndesign_drivr = \"x\"\n", 2,
     "[execution] pipeline.design_drivr: unknown key; did you mean 'design_driver'?"),
    ("agent = 3\n", 1, "[agent] must be a table"),
])
def test_each_error_names_file_line_table_and_key(tmp_path, text, line, expected):
    table = re.match(r"\[?([a-z_]+)", text).group(1)  # type: ignore[union-attr]
    if table in PLUGIN_TABLES:
        with _with("teragent_reliability", "teragent_router"):
            msg = _error(tmp_path, text)
    else:
        msg = _error(tmp_path, text)
    assert msg.startswith(f"{tmp_path / 'agent.toml'}:{line}: "), msg
    assert expected in msg, msg
    assert "\n" not in msg and "Traceback" not in msg


def test_plugin_tables_validate_through_their_plugins(tmp_path):
    with _with("teragent_permissions"):
        msg = _error(tmp_path, '[permission]\nmode = "plan"\n'
                               'rules = { allw = ["read_file:*"] }\n')
        assert ":3: [permission] rules.allw: unknown key; did you mean 'allow'?" in msg
        msg = _error(tmp_path, '[permission]\nmode = "sometimes"\n')
    assert ":2: [permission] mode: " in msg and "unknown permission level" in msg


def test_a_table_of_a_plugin_that_is_not_installed_names_pip_install(tmp_path):
    from teragent.testing.hosts import isolated_host

    path = _write(tmp_path, '[permission]\nmode = "plan"\n')
    with isolated_host():  # the kernel only: teragent-permissions is not loaded
        with pytest.raises(ConfigError) as info:
            load_full_config(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:1: [permission] ")
    assert "pip install teragent-permissions" in msg


def test_a_plugin_registers_its_own_table(tmp_path):
    from pydantic import BaseModel, ConfigDict

    from teragent import hookimpl
    from teragent.testing.hosts import isolated_host

    class WebConfig(BaseModel):
        model_config = ConfigDict(extra="forbid")
        timeout: float = 5.0

    class Plugin:
        @hookimpl
        def teragent_register_config_tables(self, register):
            register("web", WebConfig)

    path = _write(tmp_path, "[web]\ntimeout = 2\n")
    with isolated_host(Plugin()):
        assert TerAgentConfig.from_config(load_full_config(path)).table("web").timeout == 2
        _write(tmp_path, "[web]\ntimeuot = 2\n")
        with pytest.raises(ConfigError, match=r":2: \[web\] timeuot: unknown key; did you "
                                              r"mean 'timeout'\?"):
            load_full_config(path)


def test_plugin_settings_tables_need_a_loaded_plugin(tmp_path):
    from teragent import hookimpl
    from teragent.testing.hosts import isolated_host

    class Web:
        @hookimpl
        def teragent_register_tools(self, register):
            pass

    path = _write(tmp_path, "[plugins.webtools]\ntimeout = 3\n")
    with isolated_host() as host:
        host.add_plugin(Web(), name="webtools")
        assert load_full_config(path)["plugins"]["webtools"]["timeout"] == 3
        _write(tmp_path, "[plugins.webtool]\ntimeout = 3\n")
        with pytest.raises(ConfigError, match=r":1: \[plugins\] webtool: no loaded plugin is "
                                              r"named 'webtool'; did you mean \[plugins.webtools\]"):
            load_full_config(path)


def test_array_tables_are_checked_item_by_item(tmp_path):
    with _with("teragent_hooks"):
        msg = _error(tmp_path, '[[hooks]]\ntype = "audit"\n\n[[hooks]]\ntype = "shell"\n'
                           'command = "true"\ntimout = 3\n')
    assert ":7: [hooks[1]] timout: unknown key; did you mean 'timeout'?" in msg


# --- the tables reach the agent --------------------------------------------------------


def test_streaming_and_tools_feed_the_loop_config_and_agent_wins():
    from teragent.compose import loop_config_from

    cfg = loop_config_from({"streaming": {"enabled": False, "retries": 3},
                            "tools": {"timeout": 9, "max_output_chars": 900}})
    assert (cfg.stream, cfg.streaming_retries) == (False, 3)
    assert (cfg.tool_timeout, cfg.max_tool_output_chars) == (9, 900)
    cfg = loop_config_from({"streaming": {"enabled": False}, "agent": {"stream": True}})
    assert cfg.stream is True
    assert loop_config_from({"streaming": {"enabled": False}}, stream=True).stream is True


def test_tools_table_chooses_the_offered_tools(tmp_path):
    from teragent.compose import build_agent
    from teragent.testing import ScriptedModel

    with _with("teragent_tools"):
        _offer(tmp_path, build_agent, ScriptedModel)


def _offer(tmp_path, build_agent, ScriptedModel):
    agent = build_agent({"tools": {"enabled": ["read_file", "grep"]}},
                        workspace=tmp_path, provider=ScriptedModel([]))
    assert sorted(agent.tools.list_tool_names()) == ["grep", "read_file"]
    agent = build_agent({"tools": {"disabled": ["read_file"]}}, workspace=tmp_path,
                        provider=ScriptedModel([]))
    assert "read_file" not in agent.tools.list_tool_names()


def test_model_fallback_links_the_providers(tmp_path):
    from teragent.compose import build_agent
    from teragent.config.driver_config import DriverConfig

    drivers = {n: DriverConfig(adapter="mock", identity=n.split(".")[1], model=n)
               for n in ("mock.a", "mock.b", "mock.c")}
    agent = build_agent({"drivers": drivers, "agent": {"driver": "mock.a"},
                         "model_fallback": {"chain": ["mock.b", "mock.c"]}},
                        workspace=tmp_path, model="mock.a", tools=[])
    first = agent.model.fallback_provider
    assert first is not None and first.name == "mock.b"
    assert first.fallback_provider is not None and first.fallback_provider.name == "mock.c"


def test_file_safety_limits_the_write_tools(tmp_path):
    pytest.importorskip("teragent_tools")
    import asyncio

    from teragent_tools.files import EditFileTool, WriteFileTool

    config = {"file_safety": {"max_write_bytes": 10, "create_directories": False}}
    tool = WriteFileTool(tmp_path, config=config)
    result = asyncio.run(tool.execute({"path": "a.txt", "content": "x" * 11}))
    assert not result.success
    assert not result.success and "max_write_bytes" in str(result.error)
    result = asyncio.run(tool.execute({"path": "sub/a.txt", "content": "x"}))
    assert not result.success and "create_directories" in str(result.error)
    assert asyncio.run(tool.execute({"path": "a.txt", "content": "x"})).success
    assert EditFileTool(tmp_path, config={"file_safety": {"max_edit_bytes": 3}}).max_bytes == 3


# --- the CLI ---------------------------------------------------------------------------


def test_config_check_ok_and_error(tmp_path, capsys):
    good = _write(tmp_path, '[agent]\nmax_steps = 3\n')
    assert main(["--config", str(good), "config", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 file")
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent]\nmax_stepz = 3\n")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}:2: [agent] max_stepz: unknown key; did you mean 'max_steps'?" in err


def test_config_show_masks_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TERAGENT_TEST_KEY", "sk-verysecretvalue123")
    path = _write(tmp_path, '[drivers.mock.a]\nmodel = "m"\napi_key_env = "TERAGENT_TEST_KEY"\n'
                            'auth_token = "tok-abcdefghijklmnop"\n\n[agent]\nmax_steps = 4\n')
    assert main(["config", "show", str(path)]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    driver = data["drivers"]["mock.a"]
    assert driver["api_key_env"] == "TERAGENT_TEST_KEY"  # a name, not a secret
    assert driver["api_key"] == "sk-v***"
    assert driver["auth_token"] == "***"
    assert "verysecret" not in out and "abcdefghijklmnop" not in out
    assert data["agent"]["max_steps"] == 4 and data["streaming"]["enabled"] is True

from __future__ import annotations

import pytest

import teragent
from teragent.config import DriverConfig, load_full_config
from teragent.config.loader import config_search_paths
from teragent.config.secrets import read_dotenv, resolve_api_key
from teragent.errors import ConfigError, MissingCredentialsError, UserError

GOOD = """
[drivers.mock.local]
model = "m1"
compiler = "default"

[drivers.openai_compatible.glm_5]
base_url = "https://open.bigmodel.cn/api/paas/v4"
api_key_env = "GLM_API_KEY"
model = "glm-5"
compiler = "glm_5"
compiler_variant = "x"
temperature = 0.3

[agent]
max_steps = 7
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_load_full_config_and_driver_kwargs(in_tmp):
    (in_tmp / "agent.toml").write_text(GOOD)
    cfg = load_full_config()
    drivers = cfg["drivers"]
    assert set(drivers) == {"mock.local", "openai_compatible.glm_5"}
    glm = drivers["openai_compatible.glm_5"]
    kwargs = glm.to_create_provider_kwargs()
    assert kwargs["compiler"] == "glm_5" and kwargs["api_key_env"] == "GLM_API_KEY"
    assert kwargs["compiler_options"] == {"variant": "x"}
    assert kwargs["adapter_options"] == {"temperature": 0.3}
    assert cfg["agent"] == {"max_steps": 7}
    provider = teragent.create_provider_from_config(drivers["mock.local"])
    assert provider.name == "mock.local" and provider.model == "m1"


def test_user_config_is_overridden_by_project(in_tmp):
    user = in_tmp / "xdg" / "teragent"
    user.mkdir(parents=True)
    (user / "agent.toml").write_text('[agent]\nmax_steps = 3\nstream = false\n')
    (in_tmp / "agent.toml").write_text('[agent]\nmax_steps = 9\n')
    assert config_search_paths()[0] == user / "agent.toml"
    assert load_full_config()["agent"] == {"max_steps": 9, "stream": False}


def test_toml_syntax_error_names_file_and_line(in_tmp):
    (in_tmp / "agent.toml").write_text('[agent]\nmax_steps = 3\nbroken = \n')
    with pytest.raises(ConfigError) as info:
        load_full_config()
    assert "agent.toml:3" in str(info.value)


def test_bad_driver_value_names_file_line_and_key(in_tmp):
    (in_tmp / "agent.toml").write_text(
        '[drivers.mock.a]\nmodel = "m"\n\n[drivers.mock.b]\nmodel = "m"\ntimeout = "soon"\n')
    with pytest.raises(ConfigError) as info:
        load_full_config()
    msg = str(info.value)
    assert "agent.toml:6" in msg and "[drivers.mock.b] timeout:" in msg


def test_inline_api_key_is_refused(in_tmp):
    (in_tmp / "agent.toml").write_text('[drivers.mock.a]\nmodel = "m"\napi_key = "sk-abcdef123456"\n')
    with pytest.raises(ConfigError) as info:
        load_full_config()
    assert "api_key_env" in str(info.value) and "sk-abcdef123456" not in str(info.value)


def test_explicit_missing_file(in_tmp):
    with pytest.raises(ConfigError, match="file not found"):
        load_full_config(in_tmp / "nope.toml")


def test_api_key_from_env_then_dotenv(in_tmp, monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="MY_KEY"):
        resolve_api_key("MY_KEY")
    (in_tmp / ".env").write_text('# comment\nexport MY_KEY="from-dotenv"\nOTHER=1 # note\n')
    assert resolve_api_key("MY_KEY") == "from-dotenv"
    assert read_dotenv(in_tmp / ".env")["OTHER"] == "1"
    monkeypatch.setenv("MY_KEY", "from-env")
    assert resolve_api_key("MY_KEY") == "from-env"


def test_create_provider_refuses_inline_keys():
    with pytest.raises(UserError, match="api_key_env"):
        teragent.create_provider(adapter="mock", api_key="sk-secret")


def test_driver_config_name():
    d = DriverConfig(adapter="openai_compatible", identity="glm_5", model="glm-5")
    assert d.name == "openai_compatible.glm_5"

"""The first-hour commands: -m PROVIDER:MODEL, models, keys, init, install/uninstall."""

from __future__ import annotations

import io
import json
import os
import stat
import sys

import pytest

from teragent.cli import main
from teragent.hookspecs import Register, hookimpl
from teragent.testing.hosts import isolated_host


class FakeFamily:
    """A family plugin whose provider runs on the kernel's mock adapter."""

    @hookimpl
    def teragent_register_models(self, register: Register) -> None:
        register("fake", "mock", key_env=("FAKE_API_KEY", "FAKE_OTHER_KEY"),
                 base_url="http://127.0.0.1:9/v1", base_url_env=("FAKE_BASE_URL",),
                 models={"fake-1": None, "fake-2": None}, description="a test family")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for var in ("TERAGENT_CONFIG", "FAKE_API_KEY", "FAKE_OTHER_KEY", "FAKE_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / ".git").mkdir()
    return tmp_path


@pytest.fixture
def fake_family():
    with isolated_host(FakeFamily()) as host:
        yield host


def keys_file(project):
    return project / "xdg" / "teragent" / "keys.json"


# --- PROVIDER:MODEL -----------------------------------------------------------------


def test_provider_model_resolves_through_the_registered_family(project, fake_family,
                                                               monkeypatch):
    from teragent.compose import build_agent

    monkeypatch.setenv("FAKE_API_KEY", "sk-fake-123456")
    agent = build_agent({}, model="fake:fake-9")  # unlisted models of a family work too
    assert agent.model.name == "fake:fake-9" and agent.model.model == "fake-9"
    assert str(agent.model.adapter.base_url).startswith("http://127.0.0.1:9/v1")
    monkeypatch.setenv("FAKE_BASE_URL", "http://127.0.0.1:8/v2")
    agent = build_agent({}, model="fake:fake-1")
    assert str(agent.model.adapter.base_url).startswith("http://127.0.0.1:8/v2")


def test_missing_key_names_the_variable_and_keys_set(project, fake_family, capsys):
    assert main(["run", "hi", "-m", "fake:fake-1"]) == 2
    err = capsys.readouterr().err
    assert "FAKE_API_KEY" in err and "teragent keys set FAKE_API_KEY" in err
    assert err.count("\n") == 1


def test_second_key_variable_is_used_when_the_first_is_unset(project, fake_family,
                                                             monkeypatch):
    from teragent.model_refs import resolve_model_ref

    monkeypatch.setenv("FAKE_OTHER_KEY", "sk-other-123456")
    assert resolve_model_ref("fake:fake-1")["api_key_env"] == "FAKE_OTHER_KEY"


def test_run_with_provider_model_and_a_stored_key(project, fake_family, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("sk-stored-123456\n"))
    assert main(["keys", "set", "FAKE_API_KEY"]) == 0
    assert main(["run", "say hello", "-m", "fake:fake-2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "fake:fake-2" and "say hello" in out["final_text"]


def test_bare_model_name_of_one_family(project, fake_family):
    from teragent.model_refs import resolve_model_ref

    assert resolve_model_ref("fake-1")["name"] == "fake:fake-1"
    assert resolve_model_ref("not-listed") is None
    assert resolve_model_ref("/models/x.gguf") is None
    assert resolve_model_ref("C:\\models\\x.gguf") is None


def test_unknown_provider_did_you_mean(project, fake_family, capsys):
    assert main(["run", "hi", "-m", "fak:fake-1"]) == 2
    err = capsys.readouterr().err
    assert "Unknown model provider 'fak'" in err and "Did you mean 'fake'?" in err


def test_known_provider_without_its_plugin_names_pip_install(project, capsys):
    assert main(["run", "hi", "--model", "openai:gpt-4o-mini"]) == 2
    assert "pip install teragent-openai" in capsys.readouterr().err


def test_driver_names_still_win(project, fake_family, capsys):
    (project / "agent.toml").write_text('[drivers.mock.local]\nmodel = "m"\n')
    assert main(["run", "hi", "--model", "mock.local", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "mock.local"


# --- models -------------------------------------------------------------------------


def test_models_lists_families_and_key_status_never_the_value(project, fake_family, capsys,
                                                              monkeypatch):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["ref"] for r in rows} == {"fake:fake-1", "fake:fake-2"}
    assert all(r["key_env"] == "FAKE_API_KEY" and r["key_set"] is False for r in rows)
    monkeypatch.setenv("FAKE_API_KEY", "sk-secret-value-999")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "fake:fake-1" in out and "FAKE_API_KEY (set)" in out
    assert "sk-secret" not in out


# --- keys ---------------------------------------------------------------------------


def test_keys_set_list_remove(project, capsys, monkeypatch):
    from teragent.config.secrets import resolve_api_key

    monkeypatch.setattr(sys, "stdin", io.StringIO("sk-abc-123456789\n"))
    assert main(["keys", "set", "MY_KEY"]) == 0
    path = keys_file(project)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"MY_KEY": "sk-abc-123456789"}
    assert "sk-abc" not in capsys.readouterr().err
    assert resolve_api_key("MY_KEY") == "sk-abc-123456789"
    monkeypatch.setenv("MY_KEY", "from-env")  # the environment wins
    assert resolve_api_key("MY_KEY") == "from-env"
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert "MY_KEY" in out and "sk-abc" not in out and "environment" in out
    assert main(["keys", "remove", "MY_KEY"]) == 0
    assert json.loads(path.read_text()) == {}
    assert main(["keys", "remove", "MY_KEY"]) == 2
    assert "no key MY_KEY is stored" in capsys.readouterr().err


def test_keys_set_never_takes_the_value_from_argv(project, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit):
        main(["keys", "set", "MY_KEY", "sk-on-the-command-line"])
    assert main(["keys", "set", "MY_KEY"]) == 2  # empty stdin
    assert "no value given for MY_KEY" in capsys.readouterr().err
    assert main(["keys", "set", "bad name"]) == 2


# --- init ---------------------------------------------------------------------------


def test_init_writes_a_loadable_commented_agent_toml(project, capsys):
    from teragent.compose import loop_config_from
    from teragent.config.loader import load_full_config

    assert main(["init"]) == 0
    text = (project / "agent.toml").read_text()
    assert text.startswith("# agent.toml") and "teragent keys set" in text
    config = load_full_config(project / "agent.toml")
    assert loop_config_from(config).max_steps == 12
    (project / "agent.toml").write_text("# mine\n")
    assert main(["init"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (project / "agent.toml").read_text() == "# mine\n"
    assert main(["init", "--force"]) == 0
    assert (project / "agent.toml").read_text() == text


# --- install / uninstall ------------------------------------------------------------


def test_install_and_uninstall_run_pip_of_this_interpreter(project, monkeypatch):
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert main(["install", "teragent-openai", "-U"]) == 0
    assert main(["uninstall", "teragent-openai", "-y"]) == 0
    assert calls == [[sys.executable, "-m", "pip", "install", "--upgrade", "teragent-openai"],
                     [sys.executable, "-m", "pip", "uninstall", "-y", "teragent-openai"]]
    monkeypatch.setattr(subprocess, "call", lambda cmd: 1)
    assert main(["install", "nope"]) == 1

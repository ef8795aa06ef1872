from __future__ import annotations

import json
import subprocess
import sys

import pytest

from teragent.cli import main


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "agent.toml").write_text('[drivers.mock.local]\nmodel = "m"\n')
    return tmp_path


def test_run_json_with_configured_driver(project, capsys):
    assert main(["run", "say hello", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stop_reason"] == "completed" and out["model"] == "mock.local"
    assert "say hello" in out["final_text"]


def test_run_streams_text_and_reports(project, capsys):
    assert main(["run", "hi there"]) == 0
    captured = capsys.readouterr()
    assert "hi there" in captured.out
    assert "completed after 1 step(s)" in captured.err


def test_errors_are_one_clean_line(project, capsys):
    assert main(["run", "x", "--model", "nope.nothing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("teragent: error:")
    assert main(["run", "x", "--workspace", str(project / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_bad_config_names_the_file(project, capsys):
    (project / "agent.toml").write_text("[agent\n")
    assert main(["run", "x"]) == 2
    assert "agent.toml:1" in capsys.readouterr().err


def test_debug_shows_traceback(project):
    from teragent.errors import UserError

    with pytest.raises(UserError, match="not a driver in agent.toml"):
        main(["--debug", "run", "x", "--model", "nope.nothing"])


def test_plugins_json_lists_builtin(project, capsys):
    assert main(["plugins", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    builtin = records[0]
    assert builtin["name"] == "builtin" and builtin["status"] == "loaded"
    assert "teragent_register_compilers" in builtin["hooks"]


def test_console_script_entry_point(project):
    out = subprocess.run([sys.executable, "-m", "teragent.cli", "version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("teragent 0.1.0")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(flag, capsys):
    from teragent.cli import main

    assert main([flag]) == 0
    assert capsys.readouterr().out.startswith("teragent 0.1.0")


def test_chat_slash_commands_and_type_ahead(project, monkeypatch, capsys):
    """Slash commands are handled, never sent to the model; lines typed ahead run in
    order; EOF ends the chat."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("/help\nfirst question\nsecond question\n"
                                                  "/history\n/tools\n/nope\n"))
    assert main(["chat", "--model", "mock.local", "--tools", ""]) == 0
    out, err = capsys.readouterr()
    assert "/reset" in err and "unknown command /nope" in err
    assert "4 message(s)" in err  # two turns, each a user and an assistant message
    assert "(no tools)" in err  # --tools '' offers none
    assert out.index("first question") < out.index("second question")


@pytest.mark.parametrize("line, expected", [
    ("max_stepz = 3", "agent.toml:5: [agent] max_stepz: unknown key; did you mean 'max_steps'?"),
    ('max_steps = "ten"', "agent.toml:5: [agent] max_steps: Input should be a valid integer"),
])
def test_bad_agent_table_is_one_line_with_file_line_and_fix(project, capsys, line, expected):
    (project / "agent.toml").write_text(f'[drivers.mock.local]\nmodel = "m"\n\n[agent]\n{line}\n')
    assert main(["run", "hi", "--model", "mock.local"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and err.count("\n") == 1

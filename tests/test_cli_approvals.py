"""Approvals in the terminal: a TTY is asked (once / always / deny), --yes approves for
scripts, and without either a refused call is shown with the flag or rule that allows
it. In-process `teragent.cli.main` against the OpenAI fake server on loopback, with the
real permissions and tools plugins."""

from __future__ import annotations

import io
import json
import sys

import pytest

from teragent.cli import main

pytest.importorskip("teragent_openai")
pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_testing")

from teragent_testing.fake_openai import (  # noqa: E402
    FakeOpenAIServer, ScriptedReply, serve_in_thread,
)

WRITE = ("write_file", {"path": "out.txt", "content": "hello\n"})


class TTYInput(io.StringIO):
    """Standard input as a terminal, with the answers already typed."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000111222")
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    return tmp_path


def run(project, monkeypatch, stdin, *replies, argv=()):
    server = FakeOpenAIServer(strict=True).script(*replies)
    monkeypatch.setattr(sys, "stdin", stdin)
    with serve_in_thread(server) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code = main(["run", "write out.txt", "-m", "openai:gpt-4o-mini", "--no-stream",
                     *argv])
    return code, server


def test_tty_approve_once(project, monkeypatch, capsys):
    code, server = run(project, monkeypatch, TTYInput("o\n"),
                       ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Written."))
    err = capsys.readouterr().err
    assert code == 0, err
    assert (project / "out.txt").read_text() == "hello\n"
    assert "? write_file" in err and "approve [o]nce, [a]lways for this tool, or [d]eny" in err
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert "write_file" in offered  # offered because a human can say yes


def test_tty_deny_shows_the_refusal_and_the_flag(project, monkeypatch, capsys):
    code, server = run(project, monkeypatch, TTYInput("d\n"),
                       ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Not written."))
    err = capsys.readouterr().err
    assert code == 0, err
    assert not (project / "out.txt").exists()
    assert "write_file refused:" in err and "denied at the prompt" in err
    assert "rerun with --allow-writes" in err and "1 refused" in err
    assert "denied at the prompt" in server.requests[1].messages[-1]["content"]


def test_tty_always_asks_once_per_tool(project, monkeypatch, capsys):
    second = ("write_file", {"path": "two.txt", "content": "2\n"})
    code, _ = run(project, monkeypatch, TTYInput("a\n"),
                  ScriptedReply(tool_calls=[WRITE]), ScriptedReply(tool_calls=[second]),
                  ScriptedReply(text="Both written."))
    err = capsys.readouterr().err
    assert code == 0, err
    assert (project / "out.txt").exists() and (project / "two.txt").exists()
    assert err.count("? write_file") == 1


def test_ask_rule_without_tty_names_the_way_to_allow(project, monkeypatch, capsys):
    (project / "agent.toml").write_text(
        '[permission]\nrules = { ask = ["write_file:*"] }\n')
    code, _ = run(project, monkeypatch, io.StringIO(""),
                  ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Could not."),
                  argv=["--allow-writes"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert not (project / "out.txt").exists()
    assert "write_file refused:" in err
    assert "run in a terminal to answer it, or pass --yes" in err


def test_ask_rule_on_a_tty_is_asked_once(project, monkeypatch, capsys):
    (project / "agent.toml").write_text(
        '[permission]\nrules = { ask = ["write_file:*"] }\n')
    code, _ = run(project, monkeypatch, TTYInput("o\n"),
                  ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Written."))
    err = capsys.readouterr().err
    assert code == 0, err
    assert (project / "out.txt").exists()
    assert err.count("? write_file") == 1  # the rule's question; the gate does not re-ask


def test_yes_approves_without_asking(project, monkeypatch, capsys):
    (project / "agent.toml").write_text(
        '[permission]\nrules = { ask = ["write_file:*"] }\n')
    code, _ = run(project, monkeypatch, io.StringIO(""),
                  ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Written."),
                  argv=["--yes"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (project / "out.txt").read_text() == "hello\n" and "? write_file" not in err


def test_no_tty_no_flag_is_refused_not_asked(project, monkeypatch, capsys):
    code, server = run(project, monkeypatch, io.StringIO(""),
                       ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="Could not."))
    err = capsys.readouterr().err
    assert code == 0, err
    assert not (project / "out.txt").exists() and "? write_file" not in err
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert "write_file" not in offered
    assert "✗ write_file:" in err  # the failed call is shown with its reason


def test_json_output_keeps_the_reasons(project, monkeypatch, capsys):
    code, _ = run(project, monkeypatch, TTYInput("d\n"),
                  ScriptedReply(tool_calls=[WRITE]), ScriptedReply(text="No."),
                  argv=["--json", "--yes"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["tool_calls"][0]["success"] is True  # --yes approved


def test_the_prompt_shows_a_sensitive_argument_by_length_only():
    """A terminal keeps scrollback (and may be recorded): the question names the call
    and the secret's length, not the secret; the decision still applies to the call."""
    import asyncio

    from teragent.cli.approvals import TerminalApprover
    from teragent.secrets import declare_sensitive_arguments

    declare_sensitive_arguments("type_into_login_for_prompt_test", ["text"])
    shown: list[str] = []
    answers = iter(["o"])

    async def read_line():
        return next(answers)

    approver = TerminalApprover(read_line=read_line, write=shown.append)
    approved, how = asyncio.run(approver.decide(
        "type_into_login_for_prompt_test", {"text": "p4ssw0rd-typed", "field": "pw"}))
    assert approved and how == "approved once at the prompt"
    prompt = "".join(shown)
    assert "type_into_login_for_prompt_test" in prompt and '"field": "pw"' in prompt
    assert "[redacted: 14 chars]" in prompt and "p4ssw0rd" not in prompt

"""The first hour, in a real terminal: tmux runs `teragent run -m openai:MODEL` against an
OpenAI-compatible server on loopback with nothing but OPENAI_API_KEY and OPENAI_BASE_URL
(no agent.toml, an empty HOME). The scripted model asks for a write, the terminal
approver prompts and the test answers through `tmux send-keys`; then it asks to read
.env, which is refused, and the pane shows the refusal with its reason before the final
answer (issue 18, "Must show")."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("teragent_openai")
pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_permissions")
pytest.importorskip("teragent_testing")

from teragent_testing.fake_openai import (  # noqa: E402
    FakeOpenAIServer, ScriptedReply, serve_in_thread,
)

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (scripts/install-sandbox-deps.sh installs it)")

KEY = "sk-test-first-hour-4242"
SECRET = "sk-live-do-not-leak-9f8e7d"
DONE = "[teragent exited with "


def teragent_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).with_name("teragent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "teragent.cli"]


class Pane:
    """One tmux server on a private socket, one session, one pane."""

    def __init__(self, socket: Path) -> None:
        self.base = [TMUX, "-u", "-S", str(socket)]

    def tmux(self, *args: str) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, (args, out.stderr)
        return out.stdout

    def start(self, cwd: Path, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "first-hour", "-x", "220", "-y", "60",
                  "-c", str(cwd), command)

    def text(self) -> str:
        # -J joins wrapped lines; -S - includes the scrollback
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "first-hour")

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        """Poll the pane until `needle` shows (bounded; no fixed sleeps)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if needle in text:
                return text
            assert time.monotonic() < deadline, f"{needle!r} never showed; pane:\n{text}"
            time.sleep(0.1)

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "first-hour", *keys)

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def pane():
    # a short socket path (unix sockets are limited to ~100 bytes)
    home = Path(tempfile.mkdtemp(prefix="tmx"))
    pane = Pane(home / "s")
    try:
        yield pane
    finally:
        pane.kill()
        shutil.rmtree(home, ignore_errors=True)


def test_first_run_in_a_terminal_approves_and_shows_a_refusal(tmp_path, pane):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    (project / ".env").write_text(f"OPENAI_ORG_SECRET={SECRET}\n")
    home = tmp_path / "home"
    home.mkdir()

    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("write_file", {"path": "hello.txt",
                                                  "content": "hello, first hour\n"})]),
        ScriptedReply(tool_calls=[("read_file", {"path": ".env"})]),
        ScriptedReply(text="Wrote hello.txt; .env stays private."))
    with serve_in_thread(server) as url:
        # only the two vendor variables (plus a HOME/XDG of its own, PATH and TERM):
        # `env -i` drops everything the test process has, TERAGENT_CONFIG included
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "xterm-256color",
               "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url}
        run = [*teragent_command(), "run", "-m", "openai:gpt-4o-mini",
               "Write hello.txt, then tell me what is in .env"]
        shell = (shlex.join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *run])
                 + f'; echo "{DONE}$?]"; sleep 600')
        pane.start(project, shell)

        # 1. the write needs approval: the terminal approver asks, nothing is written yet
        asked = pane.wait_for("approve [o]nce, [a]lways for this tool, or [d]eny?")
        assert '? write_file {"path": "hello.txt"' in asked
        assert "write_file writes files" in asked
        assert not (project / "hello.txt").exists()

        # 2. answered through the keyboard
        pane.send("o", "Enter")

        # 3. the run finishes; the pane shows the approved call, the refusal with its
        #    reason, and the final answer
        text = pane.wait_for(DONE)
    assert f"{DONE}0]" in text, text
    assert "✓ write_file" in text and "Created hello.txt" in text
    refusal = [line for line in text.splitlines() if "read_file refused:" in line]
    assert len(refusal) == 1, text
    assert "environment files hold secrets" in refusal[0]  # the reason, not just "refused"
    assert "Wrote hello.txt; .env stays private." in text
    assert "1 refused" in text and "model openai:gpt-4o-mini" in text
    assert text.index("approve [o]nce") < text.index("read_file refused:") \
        < text.index("Wrote hello.txt; .env stays private.")

    # the approved call ran, the refused one did not: the secret never left the file
    assert (project / "hello.txt").read_text() == "hello, first hour\n"
    assert SECRET not in text
    assert len(server.requests) == 3
    after_refusal = server.requests[2].messages[-1]
    assert after_refusal["role"] == "tool"
    assert "environment files hold secrets" in after_refusal["content"]
    assert all(SECRET not in str(r.messages) for r in server.requests)

    # the first run used only the environment: the key as a bearer token, the model
    # named by -m, and no agent.toml anywhere
    first = server.requests[0]
    assert first.headers.get("authorization") == f"Bearer {KEY}"
    assert first.body["model"] == "gpt-4o-mini"
    assert not (project / "agent.toml").exists()
    assert KEY not in text

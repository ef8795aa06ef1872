"""The documented API (seeds 001 "Session Persistence", 000 "Session Persistence" and
the config table) works as written, and [session] is validated strictly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import teragent_sessions
from teragent.errors import ConfigError
from teragent.testing import isolated_host


def test_the_documented_calls_work_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.chdir(tmp_path)
    from teragent.session import SessionPersistence
    persistence = SessionPersistence(db_path=".agent/sessions.db")
    # Create session
    session_id = persistence.create(title="My Session", intent="chat")
    # Save message
    message = {"role": "user", "content": "Build me a web app"}
    persistence.save_message(session_id, message)
    # Restore session
    messages = persistence.restore(session_id)
    # List sessions
    sessions = persistence.list_sessions()

    assert messages == [message]
    assert [(s.id, s.title, s.intent, s.message_count) for s in sessions] == [
        (session_id, "My Session", "chat", 1)]
    # "Track step counts"
    persistence.save_message(session_id, {"role": "assistant", "content": "On it."})
    assert persistence.get_step_count(session_id) == 1
    assert (tmp_path / ".agent/sessions.db").is_file()
    persistence.close()


def test_documented_names_are_the_plugin_s() -> None:
    from teragent.config.session_config import SessionConfig
    from teragent.session import SessionPersistence

    assert SessionPersistence is teragent_sessions.SessionPersistence
    assert SessionConfig is teragent_sessions.SessionConfig


def test_without_the_plugin_the_import_names_pip_install() -> None:
    code = ("import sys; sys.modules['teragent_sessions'] = None\n"
            "import teragent\n"
            "try:\n"
            "    from teragent.session import SessionPersistence\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert "pip install teragent-sessions" in out.stdout


@pytest.mark.parametrize("body, says", [
    ("[session]\npaht = 'x.db'\n", "did you mean"),
    ("[session]\ndurability = 'disk'\n", "durability"),
    ("[session]\nrestore_limit = -1\n", "restore_limit"),
    ("[session]\nenabled = 'yes please'\n", "enabled"),
])
def test_the_session_table_is_validated_strictly(tmp_path: Path, body: str, says: str) -> None:
    from teragent.config.loader import load_full_config

    path = tmp_path / "agent.toml"
    path.write_text(body)
    with isolated_host(teragent_sessions):
        with pytest.raises(ConfigError, match=says) as err:
            load_full_config(path)
    assert "agent.toml:2" in str(err.value) and "[session]" in str(err.value)


def test_a_good_session_table_loads(tmp_path: Path) -> None:
    from teragent.config.loader import load_full_config
    from teragent_sessions.wiring import build_session_store, session_config

    path = tmp_path / "agent.toml"
    path.write_text("[session]\npath = 'state/s.db'\ntranscripts = false\n"
                    "durability = 'power'\n")
    with isolated_host(teragent_sessions):
        config = load_full_config(path)
    cfg = session_config(config)
    assert (cfg.path, cfg.transcripts, cfg.durability) == ("state/s.db", False, "power")
    store = build_session_store(config, str(tmp_path))
    assert store.db_path == str(tmp_path / "state/s.db") and store.transcripts is None
    assert build_session_store({"session": {"backend": "postgres"}}, str(tmp_path)) is None


def test_a_database_that_is_not_one_gets_a_clear_error(tmp_path: Path) -> None:
    from teragent.errors import UserError
    from teragent.session import SessionPersistence

    bad = tmp_path / "s.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="cannot open the session database"):
        SessionPersistence(bad)


def test_entries_are_append_only(tmp_path: Path) -> None:
    import sqlite3

    from teragent.session import SessionPersistence

    p = SessionPersistence(tmp_path / "s.db")
    sid = p.create()
    p.save_message(sid, {"role": "user", "content": "original"})
    raw = sqlite3.connect(tmp_path / "s.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE entries SET data='{}'")
    raw.close()
    assert p.restore(sid)[0]["content"] == "original"
    assert os.path.exists(tmp_path / "s.db-wal")


def test_a_torn_transcript_line_is_cut_by_the_next_write(tmp_path: Path) -> None:
    import json

    from teragent.session import SessionPersistence

    p = SessionPersistence(tmp_path / "s.db", transcript_dir=tmp_path / "t")
    sid = p.create(session_id="torn")
    p.save_message(sid, {"role": "user", "content": "one"})
    path = tmp_path / "t" / "torn.jsonl"
    with open(path, "ab") as f:  # what a writer killed mid-write leaves
        f.write(b'{"session": "torn", "seq": 2, "type": "mess')
    p.save_message(sid, {"role": "user", "content": "two"})
    records = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r["message"]["content"] for r in records] == ["one", "two"]
    p.close()

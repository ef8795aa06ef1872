"""Runs the shared development corpus through the checker and asserts the thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teragent_shellguard.checker import check_command_safety

CORPORA = Path(__file__).parents[3].parent / "shared" / "corpora"
pytestmark = pytest.mark.skipif(
    not (CORPORA / "commands_dangerous_dev.jsonl").is_file(),
    reason=f"shared corpora not found at {CORPORA} (expected ../shared/corpora next to the repo)",
)


def _load(name: str) -> list[dict]:
    with open(CORPORA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_corpus_thresholds() -> None:
    dangerous = _load("commands_dangerous_dev.jsonl")
    benign = _load("commands_benign_dev.jsonl")
    blocks = [e for e in dangerous if e["severity"] == "block"]
    warns = [e for e in dangerous if e["severity"] == "warn"]
    missed = [e["id"] for e in blocks if check_command_safety(e["cmd"], e.get("platform")).allowed]
    unflagged = [e["id"] for e in warns if check_command_safety(e["cmd"], e.get("platform")).level == "allow"]
    refused = [e["id"] for e in benign if not check_command_safety(e["cmd"], "posix").allowed]
    assert 1 - len(missed) / len(blocks) >= 0.995, f"block entries allowed: {missed}"
    assert 1 - len(unflagged) / len(warns) >= 0.95, f"warn entries neither blocked nor warned: {unflagged}"
    assert len(refused) / len(benign) <= 0.01, f"benign entries refused: {refused}"

"""Golden-file assertions for compiler tests.

``assert_golden(path, data)`` compares ``data`` (JSON-serialisable) with the JSON file
at ``path``; with ``TERAGENT_UPDATE_GOLDEN=1`` in the environment it (re)writes the
file instead, so a deliberate prompt change is one command plus a reviewed diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["assert_golden", "UPDATE_ENV"]

UPDATE_ENV = "TERAGENT_UPDATE_GOLDEN"


def assert_golden(path: Path | str, data: Any) -> None:
    """Assert ``data`` equals the stored golden JSON (or write it when updating)."""
    path = Path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        raise AssertionError(f"golden file {path} is missing; create it with "
                             f"{UPDATE_ENV}=1 and review the result")
    expected = json.loads(path.read_text(encoding="utf-8"))
    actual = json.loads(text)
    assert actual == expected, (
        f"compiled output differs from {path.name}; if the change is intended, rerun "
        f"with {UPDATE_ENV}=1 and review the diff")

"""Fixtures shared by the teragent-tools tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """tmp_path/ws: a small project, with tmp_path/outside/secret.txt beside it."""
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\ndef main():\n    return 1\n")
    (root / "src" / "pkg" / "mod.py").write_text("VALUE = 2\n")
    (root / "README.md").write_text("# Demo\nhello world\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOP SECRET\n")
    return root

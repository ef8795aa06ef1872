"""Long-horizon tests: no agent.toml from the machine, HOME and cwd inside the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the helpers live here.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def isolated(isolated: Path) -> Path:
    """teragent-testing's isolation, and the agent's workspace in a folder of its own."""
    ws = isolated / "ws"
    ws.mkdir()
    return ws

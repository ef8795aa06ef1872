"""The kernel type-checks cleanly under ``mypy --strict`` (config: root pyproject.toml)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (pip install -r requirements-dev.txt)")
def test_kernel_passes_mypy_strict() -> None:
    # Run from the repo root so [tool.mypy] in pyproject.toml (files, strict) applies;
    # the cache goes to ROOT/.mypy_cache (gitignored), so warm runs take well under 1 s.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mypy found errors:\n{output}"
    assert "Success: no issues found" in proc.stdout, output

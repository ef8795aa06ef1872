"""Crash test of transactional multi-file writes at scale: SIGKILL at random points,
then check that recovery leaves every commit all-or-nothing.

The harness lives with the code it tests
(``plugins/teragent-tools/tests/crash_harness.py``, which the test suite runs with 60
kills); this runs it with more.

Run: .venv/bin/python bench/crash_writes.py --commits 500
"""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    harness = Path(__file__).resolve().parents[1] / "plugins" / "teragent-tools" / "tests" \
        / "crash_harness.py"
    runpy.run_path(str(harness), run_name="__main__")

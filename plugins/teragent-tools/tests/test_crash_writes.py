"""Crash test: children SIGKILLed at random points during multi-file commits; after
recovery every commit is all-or-nothing. The harness is ``crash_harness.py`` beside
this file; it runs at scale as ``bench/crash_writes.py --commits 500``."""

from __future__ import annotations

import importlib.util
import logging
import os
import random
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                                reason="needs fork() and SIGKILL (Linux)")


def _harness():
    spec = importlib.util.spec_from_file_location(
        "crash_harness", Path(__file__).with_name("crash_harness.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sigkill_during_commits_is_all_or_nothing(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="teragent_tools.file_safety")
    seed = int(os.environ.get("TERAGENT_CRASH_SEED", random.SystemRandom().randint(0, 2**31)))
    try:
        stats = _harness().run(60, workdir=str(tmp_path), seed=seed)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (reproduce with TERAGENT_CRASH_SEED={seed})") from None
    assert stats["kills"] == 60
    # Both recovery directions were exercised, and work got done between crashes.
    assert stats["rolled_back"] > 0 and stats["rolled_forward"] > 0, (seed, stats)
    assert stats["final_commit"] > 5, (seed, stats)

"""The SQLite store and the in-process lane queue against the shared contract suites."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from teragent_sessions.contract import LaneBackendContract, SessionStoreContract
from teragent_sessions.lanes import LaneQueue
from teragent_sessions.sqlite import SessionPersistence


class TestSQLiteStore(SessionStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Any]:
        return lambda: SessionPersistence(tmp_path / "sessions.db",
                                          transcript_dir=tmp_path / "transcripts")


class TestSQLiteStoreDurablePower(SessionStoreContract):
    """The same contract with fsync on every commit."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Any]:
        return lambda: SessionPersistence(tmp_path / "sessions.db", durability="power")


class TestLaneQueue(LaneBackendContract):
    @pytest.fixture
    def make_lanes(self) -> Callable[[], Any]:
        return LaneQueue


class TestLaneQueueWithGlobalLimit(LaneBackendContract):
    @pytest.fixture
    def make_lanes(self) -> Callable[[], Any]:
        return lambda: LaneQueue(max_concurrent=2)

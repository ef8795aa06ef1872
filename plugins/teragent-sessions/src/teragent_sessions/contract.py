"""Contract suites every session store and lane backend runs against itself.

A backend's tests subclass the suite and provide one fixture::

    from teragent_sessions.contract import SessionStoreContract

    class TestPostgresStore(SessionStoreContract):
        @pytest.fixture
        def make_store(self, database_url):
            # each call: a new store object on the same data (a "reopen")
            return lambda: PostgresSessionStore(database_url)

    class TestRedisLanes(LaneBackendContract):
        @pytest.fixture
        def make_lanes(self, redis_url):
            return lambda: RedisLanes(redis_url)   # called inside the event loop

The suites state what every member of the kind must do (ordering, durability across
a reopen, errors, exclusivity of a lane), not what one implementation happens to do.
Importing this module imports pytest: only tests import it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any, Callable

import pytest

from teragent.errors import RunCancelled, UserError
from teragent_sessions.store import SessionInfo, UnknownSessionError

__all__ = ["SessionStoreContract", "LaneBackendContract"]

USER: dict[str, Any] = {"role": "user", "content": "héllo 世界 \u2603 \"quoted\" \n newline"}
CALL: dict[str, Any] = {
    "role": "assistant", "content": "", "reasoning_content": "think",
    "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": "lookup", "arguments": "{\"k\": [1, 2.5, null]}"}}]}
RESULT: dict[str, Any] = {"role": "tool", "tool_call_id": "c1", "name": "lookup",
                          "content": "v" * 5000}
ANSWER: dict[str, Any] = {"role": "assistant", "content": "done",
                          "thinking_blocks": [{"type": "thinking", "signature": "s"}]}


class SessionStoreContract:
    """What every :class:`~teragent_sessions.store.SessionStore` does."""

    @pytest.fixture
    def make_store(self) -> Callable[[], Any]:
        raise NotImplementedError("provide a make_store fixture returning a store factory")

    @pytest.fixture
    def store(self, make_store: Callable[[], Any]) -> Any:
        s = make_store()
        yield s
        s.close()

    def test_create_returns_distinct_ids(self, store: Any) -> None:
        ids = {store.create(title=f"t{i}", intent="chat") for i in range(20)}
        assert len(ids) == 20 and all(isinstance(i, str) and i for i in ids)

    def test_create_with_an_id_and_a_duplicate_is_refused(self, store: Any) -> None:
        assert store.create(title="mine", intent="run", session_id="my-id") == "my-id"
        with pytest.raises(UserError, match="exists already"):
            store.create(session_id="my-id")

    @pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 129, "sp ace"])
    def test_unsafe_ids_are_refused(self, store: Any, bad: str) -> None:
        with pytest.raises(UserError, match="not valid"):
            store.create(session_id=bad)

    def test_messages_round_trip_exactly_in_order(self, store: Any) -> None:
        sid = store.create(title="t", intent="chat")
        seqs = [store.save_message(sid, m) for m in (USER, CALL, RESULT, ANSWER)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        assert store.restore(sid) == [USER, CALL, RESULT, ANSWER]
        assert store.restore(sid, limit=2) == [RESULT, ANSWER]

    def test_saving_to_an_unknown_session_fails_and_saves_nothing(self, store: Any) -> None:
        with pytest.raises(UnknownSessionError, match="teragent sessions list"):
            store.save_message("nope", USER)
        with pytest.raises(KeyError):
            store.restore("nope")
        assert store.list_sessions() == []

    def test_a_message_must_be_a_dict(self, store: Any) -> None:
        sid = store.create()
        with pytest.raises(UserError, match="must be a dict"):
            store.save_message(sid, "hello")
        assert store.restore(sid) == []

    def test_list_sessions_most_recent_first_with_counts(self, store: Any) -> None:
        a = store.create(title="a", intent="chat")
        b = store.create(title="b", intent="run")
        time.sleep(0.002)  # distinct update times on coarse clocks
        store.save_message(a, USER)
        store.save_message(a, ANSWER)
        listed = store.list_sessions()
        assert [s.id for s in listed] == [a, b]
        assert isinstance(listed[0], SessionInfo)
        assert (listed[0].message_count, listed[0].step_count) == (2, 1)
        assert listed[0]["title"] == "a"
        assert [s.id for s in store.list_sessions(intent="run")] == [b]
        assert len(store.list_sessions(limit=1)) == 1

    def test_an_untitled_session_takes_its_first_user_message(self, store: Any) -> None:
        sid = store.create()
        store.save_message(sid, {"role": "user", "content": "  Fix the\nbug in main.py "})
        store.save_message(sid, {"role": "user", "content": "later"})
        assert store.get_session(sid).title == "Fix the bug in main.py"

    def test_step_counts(self, store: Any) -> None:
        sid = store.create()
        for m in (USER, CALL, RESULT, ANSWER):
            store.save_message(sid, m)
        assert store.get_session(sid).step_count == 2
        assert store.add_steps(sid, 3) == 5
        assert store.get_session(sid).step_count == 5
        with pytest.raises(UnknownSessionError):
            store.add_steps("nope")

    def test_events_are_entries_but_not_messages(self, store: Any) -> None:
        sid = store.create()
        store.save_message(sid, USER)
        store.save_event(sid, "compaction", {"before_tokens": 10, "after_tokens": 4})
        store.save_message(sid, ANSWER)
        assert store.restore(sid) == [USER, ANSWER]
        entries = list(store.entries(sid))
        assert [(e.kind, e.seq) for e in entries] == [("message", 1), ("event", 2),
                                                      ("message", 3)]
        assert entries[1].data == {"event": "compaction", "before_tokens": 10,
                                   "after_tokens": 4}
        assert store.get_session(sid).message_count == 2

    def test_delete(self, store: Any) -> None:
        sid = store.create()
        store.save_message(sid, USER)
        assert store.delete(sid) is True
        assert store.delete(sid) is False
        with pytest.raises(UnknownSessionError):
            store.get_session(sid)

    def test_resume_creates_then_continues_without_orphaned_calls(self, store: Any) -> None:
        sid, history = store.resume("work", intent="chat")
        assert (sid, history) == ("work", [])
        assert store.get_session("work").intent == "chat"
        store.save_message(sid, {"role": "system", "content": "old system prompt"})
        unanswered = {**CALL, "tool_calls": [{**CALL["tool_calls"][0], "id": "c2"}]}
        for m in (USER, CALL, RESULT, ANSWER, unanswered):  # c2 never got its result
            store.save_message(sid, m)
        again, history = store.resume("work")
        assert again == "work"
        assert history == [USER, CALL, RESULT, ANSWER]
        fresh, empty = store.resume(None)
        assert fresh != "work" and empty == []

    def test_resume_continues_from_the_latest_checkpoint(self, store: Any) -> None:
        sid = store.create(session_id="long")
        early = [{"role": "user", "content": f"q{i}"} for i in range(6)]
        for m in early:
            store.save_message(sid, m)
        summary = {"role": "user", "content": "[Summary of 5 earlier messages] q0..q4"}
        store.save_checkpoint(sid, [summary, early[-1]])
        store.save_message(sid, ANSWER)
        _, history = store.resume(sid)
        assert history == [summary, early[-1], ANSWER]
        assert store.restore(sid) == [*early, ANSWER]  # every message is still there
        store.save_checkpoint(sid, [{"role": "user", "content": "newer summary"}])
        assert store.resume(sid)[1] == [{"role": "user", "content": "newer summary"}]
        assert store.get_session(sid).message_count == 7
        assert store.get_session(sid).step_count == 1

    def test_saved_messages_survive_a_reopen(self, make_store: Callable[[], Any]) -> None:
        first = make_store()
        sid = first.create(title="durable")
        for i in range(50):
            first.save_message(sid, {"role": "user", "content": f"m{i}"})
        first.close()
        second = make_store()
        try:
            assert [m["content"] for m in second.restore(sid)] == [f"m{i}" for i in range(50)]
        finally:
            second.close()

    def test_two_store_objects_write_the_same_session(self, make_store: Callable[[], Any]
                                                      ) -> None:
        a, b = make_store(), make_store()
        try:
            sid = a.create()
            for i in range(20):
                (a if i % 2 else b).save_message(sid, {"role": "user", "content": str(i)})
            assert [m["content"] for m in a.restore(sid)] == [str(i) for i in range(20)]
        finally:
            a.close()
            b.close()

    def test_threads_writing_at_once_lose_nothing(self, store: Any) -> None:
        shared = store.create()
        own = [store.create() for _ in range(4)]
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(40):
                    store.save_message(shared, {"role": "user", "content": f"{n}:{i}"})
                    store.save_message(own[n], {"role": "user", "content": str(i)})
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        got = [m["content"] for m in store.restore(shared)]
        assert sorted(got) == sorted(f"{n}:{i}" for n in range(4) for i in range(40))
        for n in range(4):  # each writer's messages in its own order
            assert [c for c in got if c.startswith(f"{n}:")] == [f"{n}:{i}" for i in range(40)]
            assert [m["content"] for m in store.restore(own[n])] == [str(i) for i in range(40)]
        seqs = [e.seq for e in store.entries(shared)]
        assert seqs == list(range(1, 161))


class LaneBackendContract:
    """What every :class:`~teragent_sessions.lanes.LaneBackend` does."""

    @pytest.fixture
    def make_lanes(self) -> Callable[[], Any]:
        raise NotImplementedError("provide a make_lanes fixture returning a factory")

    @staticmethod
    def _go(make_lanes: Callable[[], Any], body: Callable[[Any], Any]) -> Any:
        async def main() -> Any:
            lanes = make_lanes()
            try:
                return await asyncio.wait_for(body(lanes), 30)
            finally:
                await lanes.close()
        return asyncio.run(main())

    def test_enqueue_returns_at_once_and_wait_gives_the_result(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            gate = asyncio.Event()

            async def run() -> str:
                await gate.wait()
                return "result"
            ticket = await lanes.enqueue("s", run)
            assert ticket.run_id and ticket.accepted_at <= time.time()
            assert lanes.status(ticket.run_id) in ("queued", "running")
            gate.set()
            assert await lanes.wait_for_run(ticket.run_id) == "result"
            assert lanes.status(ticket.run_id) == "done"
        self._go(make_lanes, body)

    def test_one_session_runs_one_at_a_time_in_order(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            log: list[tuple[str, int]] = []
            active = {"a": 0, "b": 0}
            peak = {"a": 0, "b": 0}

            def factory(key: str, i: int) -> Callable[[], Any]:
                async def run() -> int:
                    active[key] += 1
                    peak[key] = max(peak[key], active[key])
                    await asyncio.sleep(random.random() * 0.002)
                    log.append((key, i))
                    active[key] -= 1
                    return i
                return run
            tickets = [await lanes.enqueue(k, factory(k, i)) for i in range(15)
                       for k in ("a", "b")]
            results = [await lanes.wait_for_run(t.run_id) for t in tickets]
            assert results == [i for i in range(15) for _ in "ab"]
            for k in "ab":
                assert [i for key, i in log if key == k] == list(range(15))
            assert peak == {"a": 1, "b": 1}
        self._go(make_lanes, body)

    def test_sessions_run_concurrently(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            both = asyncio.Event()
            started: set[str] = set()

            def factory(key: str) -> Callable[[], Any]:
                async def run() -> str:
                    started.add(key)
                    if len(started) == 2:
                        both.set()
                    await both.wait()  # deadlocks unless the two lanes overlap
                    return key
                return run
            t1 = await lanes.enqueue("x", factory("x"))
            t2 = await lanes.enqueue("y", factory("y"))
            assert await lanes.wait_for_run(t1.run_id, timeout=10) == "x"
            assert await lanes.wait_for_run(t2.run_id, timeout=10) == "y"
        self._go(make_lanes, body)

    def test_priority_then_submission_order(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            gate = asyncio.Event()
            order: list[str] = []

            async def blocker() -> None:
                await gate.wait()

            def rec(name: str) -> Callable[[], Any]:
                async def run() -> None:
                    order.append(name)
                return run
            first = await lanes.enqueue("s", blocker)
            while lanes.status(first.run_id) != "running":
                await asyncio.sleep(0)
            tickets = [await lanes.enqueue("s", rec(n), priority=p) for n, p in
                       (("low1", 0), ("high1", 5), ("low2", 0), ("mid", 1), ("high2", 5))]
            gate.set()
            for t in tickets:
                await lanes.wait_for_run(t.run_id)
            assert order == ["high1", "high2", "mid", "low1", "low2"]
        self._go(make_lanes, body)

    def test_a_failure_is_raised_to_the_waiter_and_the_lane_goes_on(self, make_lanes: Any
                                                                     ) -> None:
        async def body(lanes: Any) -> None:
            async def boom() -> None:
                raise ValueError("broken run")

            async def fine() -> str:
                return "ok"
            bad = await lanes.enqueue("s", boom)
            good = await lanes.enqueue("s", fine)
            with pytest.raises(ValueError, match="broken run"):
                await lanes.wait_for_run(bad.run_id)
            assert lanes.status(bad.run_id) == "failed"
            assert await lanes.wait_for_run(good.run_id) == "ok"
        self._go(make_lanes, body)

    def test_timeout_leaves_the_run_going(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            gate = asyncio.Event()

            async def slow() -> str:
                await gate.wait()
                return "late"
            t = await lanes.enqueue("s", slow)
            with pytest.raises(TimeoutError):
                await lanes.wait_for_run(t.run_id, timeout=0.01)
            assert lanes.status(t.run_id) == "running"
            gate.set()
            assert await lanes.wait_for_run(t.run_id, timeout=10) == "late"
        self._go(make_lanes, body)

    def test_cancel_queued_and_running(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            gate = asyncio.Event()
            ran: list[str] = []

            async def hang() -> None:
                ran.append("hang")
                await gate.wait()

            async def never() -> None:
                ran.append("never")

            async def after() -> str:
                return "after"
            running = await lanes.enqueue("s", hang)
            queued = await lanes.enqueue("s", never)
            last = await lanes.enqueue("s", after)
            while not ran:
                await asyncio.sleep(0)
            assert lanes.status(running.run_id) == "running"
            assert lanes.cancel(queued.run_id) is True
            assert lanes.status(queued.run_id) == "cancelled"
            assert lanes.cancel(running.run_id) is True
            with pytest.raises(RunCancelled):
                await lanes.wait_for_run(running.run_id)
            with pytest.raises(RunCancelled):
                await lanes.wait_for_run(queued.run_id)
            assert await lanes.wait_for_run(last.run_id) == "after"
            assert lanes.status(running.run_id) == "cancelled"
            assert lanes.cancel(last.run_id) is False  # finished already
            assert ran == ["hang"]
        self._go(make_lanes, body)

    def test_unknown_run_ids(self, make_lanes: Any) -> None:
        async def body(lanes: Any) -> None:
            with pytest.raises(LookupError):
                lanes.status("no-such-run")
            with pytest.raises(LookupError):
                await lanes.wait_for_run("no-such-run")
            assert lanes.cancel("no-such-run") is False
        self._go(make_lanes, body)

    def test_close_cancels_what_is_left(self, make_lanes: Any) -> None:
        async def main() -> None:
            lanes = make_lanes()
            gate = asyncio.Event()

            async def hang() -> None:
                await gate.wait()
            a = await lanes.enqueue("s", hang)
            b = await lanes.enqueue("s", hang)
            while lanes.status(a.run_id) != "running":
                await asyncio.sleep(0)
            await asyncio.wait_for(lanes.close(), 10)
            assert lanes.status(a.run_id) == "cancelled"
            assert lanes.status(b.run_id) == "cancelled"
            with pytest.raises(UserError):
                await lanes.enqueue("s", hang)
        asyncio.run(main())

"""Lanes at scale: 50 sessions x 20 runs submitted concurrently; and lanes driving real
agent runs that share sessions (the service's use)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any, Callable

from teragent import build_agent
from teragent.testing import ScriptedModel, reply
from teragent_sessions.lanes import LaneQueue
from teragent_sessions.sqlite import SessionPersistence

SESSIONS, RUNS, WORK = 50, 20, 0.005


def test_fifty_sessions_by_twenty_runs() -> None:
    executed: dict[str, list[int]] = {f"s{k}": [] for k in range(SESSIONS)}
    submitted: dict[str, list[int]] = {f"s{k}": [] for k in range(SESSIONS)}
    active: dict[str, int] = {key: 0 for key in executed}
    overlap: list[str] = []
    running = [0, 0]  # now, peak (over all sessions)

    def factory(key: str, i: int) -> Callable[[], Any]:
        async def run() -> tuple[str, int]:
            active[key] += 1
            if active[key] > 1:
                overlap.append(key)
            running[0] += 1
            running[1] = max(running[1], running[0])
            await asyncio.sleep(WORK)
            executed[key].append(i)
            running[0] -= 1
            active[key] -= 1
            return key, i
        return run

    async def main() -> tuple[float, list[Any]]:
        lanes = LaneQueue()

        async def submitter(key: str) -> list[Any]:
            tickets = []
            for i in range(RUNS):
                tickets.append(await lanes.enqueue(key, factory(key, i)))
                submitted[key].append(i)
                if random.random() < 0.3:
                    await asyncio.sleep(0)  # interleave the submitters
            return tickets

        start = time.perf_counter()
        per_session = await asyncio.gather(*(submitter(k) for k in executed))
        tickets = [t for ts in per_session for t in ts]
        results = await asyncio.gather(*(lanes.wait_for_run(t.run_id, timeout=60)
                                         for t in tickets))
        elapsed = time.perf_counter() - start
        assert all(lanes.status(t.run_id) == "done" for t in tickets)
        await lanes.close()
        return elapsed, results

    elapsed, results = asyncio.run(main())
    assert overlap == []  # never two runs of one session at once
    assert executed == submitted == {k: list(range(RUNS)) for k in executed}
    assert sorted(results) == sorted((k, i) for k in executed for i in range(RUNS))
    assert running[1] >= SESSIONS // 2  # sessions really ran side by side
    serial = SESSIONS * RUNS * WORK
    # loose on purpose (shared CI cores): the benchmark reports the real ratio
    assert elapsed < serial / 3, f"{elapsed:.2f}s vs serial {serial:.2f}s"


def test_lanes_serialise_agent_runs_of_a_session(tmp_path: Path) -> None:
    store = SessionPersistence(tmp_path / "s.db")
    turns = 4

    def agent_for(key: str, seen: list[list[str]]) -> Any:
        steps = [reply(f"{key} answer {i}", expect=lambda m, t: seen.append(
            [str(x.get("content")) for x in m[1:]])) for i in range(turns)]
        return build_agent({}, workspace=tmp_path, provider=ScriptedModel(steps), tools=[],
                           audit=False, session=store, session_id=key)

    async def main() -> dict[str, list[list[str]]]:
        lanes = LaneQueue(max_concurrent=2)
        seen: dict[str, list[list[str]]] = {k: [] for k in ("a", "b", "c")}
        agents = {k: agent_for(k, seen[k]) for k in seen}
        tickets = [await lanes.enqueue(k, lambda k=k, i=i: agents[k].run(f"{k} task {i}"))
                   for i in range(turns) for k in seen]
        for t in tickets:
            await lanes.wait_for_run(t.run_id, timeout=30)
        await lanes.close()
        return seen

    seen = asyncio.run(main())
    for key, requests in seen.items():
        # run i saw exactly the earlier turns of its own session, in order
        for i, request in enumerate(requests):
            expected = [x for j in range(i) for x in (f"{key} task {j}", f"{key} answer {j}")]
            assert request == [*expected, f"{key} task {i}"]
        assert [m["content"] for m in store.restore(key)] == [
            x for j in range(turns) for x in (f"{key} task {j}", f"{key} answer {j}")]


def test_a_global_limit_bounds_runs_over_all_sessions() -> None:
    async def main() -> int:
        lanes = LaneQueue(max_concurrent=3)
        now, peak = [0], [0]

        async def run() -> None:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
            await asyncio.sleep(0.002)
            now[0] -= 1
        tickets = [await lanes.enqueue(f"s{k}", run) for k in range(10) for _ in range(3)]
        for t in tickets:
            await lanes.wait_for_run(t.run_id, timeout=30)
        await lanes.close()
        return peak[0]
    assert asyncio.run(main()) == 3


def test_finished_runs_are_forgotten_past_keep_finished() -> None:
    from teragent_sessions.lanes import UnknownRunError

    async def main() -> None:
        lanes = LaneQueue(keep_finished=5)

        async def run() -> int:
            return 1
        tickets = [await lanes.enqueue("s", run) for _ in range(8)]
        for t in tickets[-1:]:
            await lanes.wait_for_run(t.run_id)
        assert [lanes.status(t.run_id) for t in tickets[3:]] == ["done"] * 5
        try:
            lanes.status(tickets[0].run_id)
        except UnknownRunError as exc:
            assert "forgotten" in str(exc)
        else:
            raise AssertionError("the oldest finished run should be forgotten")
        await lanes.close()
    asyncio.run(main())

"""Cost of a durable checkpoint (temp file + fsync + os.replace + directory fsync +
cleanup) against a plain ``json.dump`` to the final name in the same run.

    .venv/bin/python plugins/teragent-long-horizon/benchmarks/bench_checkpoint.py

Reports milliseconds per checkpoint and the ratio; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from teragent.long_horizon.checkpoint import Checkpoint, CheckpointStore

N = 200


def state(n_goals: int = 20) -> dict:
    goals = [{"id": f"sg_{i}", "description": "do a fairly long thing " * 5,
              "completion_criteria": "tests pass", "estimated_steps": 10,
              "dependencies": [f"sg_{i - 1}"] if i else [], "status": "completed"}
             for i in range(n_goals)]
    results = [{"sub_goal_id": g["id"], "success": True, "result_text": "summary " * 60,
                "steps_taken": 9, "files_created": ["a.py"], "files_modified": ["b.py"],
                "errors": []} for g in goals]
    return {"goal": "g", "sub_goals": goals, "phase_results": results}


async def durable(root: Path) -> list[float]:
    store = CheckpointStore(root)
    times = []
    for i in range(N):
        t = time.perf_counter()
        await store.save(Checkpoint(store.generate_checkpoint_id(), "task", store.now_iso(),
                                    steps_completed=i, state_data=state()))
        await store.cleanup("task", keep_last=5)
        times.append(time.perf_counter() - t)
    return times


def plain(root: Path) -> list[float]:
    times = []
    (root / "task").mkdir(parents=True)
    for i in range(N):
        t = time.perf_counter()
        with open(root / "task" / f"{i}.json", "w") as fh:
            json.dump({"checkpoint_id": str(i), "state_data": state()}, fh)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base = statistics.median(plain(Path(b)))
        ours = statistics.median(asyncio.run(durable(Path(a))))
    size = len(json.dumps(state()))
    print(f"checkpoint of {size / 1024:.0f} KiB, {N} saves: plain json.dump "
          f"{base * 1000:.2f} ms, durable save + cleanup {ours * 1000:.2f} ms "
          f"(median; ratio {ours / base:.1f}x)", file=sys.stdout)


if __name__ == "__main__":
    main()

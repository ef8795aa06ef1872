"""Load: N concurrent WebSocket conversations x T turns against a loopback fake model.

The service runs in its own process (``--serve`` mode of this file: the real app under
uvicorn, each conversation's agent from build_agent with an OpenAI-compatible provider
pointed at a FakeOpenAIServer that this process serves on loopback). Reported: errors,
per-conversation order (seq without gaps, turns answered in the order sent), p50/p99
latency of events (publish on the server -> received by the client), and the service
process's CPU per turn. The baseline, measured in the same run, is 1 conversation x T
turns: the ratios say what concurrency costs.

    .venv/bin/python plugins/teragent-service/benchmarks/bench_service.py [--conversations 100] [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEY_ENV = "TERAGENT_BENCH_KEY"
USERS = 10


def _token(i: int) -> str:
    return f"bench-user-{i}-token-0123456789"


def serve(model_url: str, root: str, port_file: str) -> None:
    """Child process: the service on a free loopback port (written to ``port_file``)."""
    import socket

    import uvicorn

    import teragent
    from teragent_service.app import create_app
    from teragent_service.settings import ServiceSettings, parse_tokens

    os.environ[KEY_ENV] = "sk-fake-bench"
    settings = ServiceSettings(
        workspace_root=Path(root) / "ws", database=Path(root) / "service.db",
        tokens=parse_tokens(",".join(f"u{i}:{_token(i)}" for i in range(USERS))),
        provider_factory=lambda meta: teragent.create_provider(
            compiler="default", adapter="openai_compatible", model="fake-model",
            base_url=model_url, api_key_env=KEY_ENV),
        config={"audit": {"enabled": False}})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False,
                            ws="websockets-sansio", http="h11", ws_ping_interval=None)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def conversation(base: str, user: int, turns: int, out: dict[str, Any]) -> None:
    import httpx
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {_token(user)}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        cid = (await http.post("/api/chat", json={})).json()["conversation_id"]
    ws_url = "ws" + base[4:] + f"/api/chat/{cid}/ws"
    last = 0
    async with connect(ws_url, additional_headers=headers, open_timeout=60,
                       max_queue=None) as ws:
        json.loads(await ws.recv())  # ready
        for t in range(turns):
            sent = f"turn {t} of {cid[:6]}"
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "content": sent}))
            while True:
                event = json.loads(await ws.recv())
                out["latency"].append(time.time() - event["ts"])
                if event["seq"] != last + 1:
                    out["order_errors"] += 1
                last = event["seq"]
                if event["type"] == "turn_start" and event["content"] != sent:
                    out["order_errors"] += 1
                if event["type"] == "error":
                    out["errors"] += 1
                if event["type"] == "done":
                    if event["stop_reason"] != "completed" or \
                            not event["final_text"].startswith("echo:"):
                        out["errors"] += 1
                    out["turn_s"].append(time.perf_counter() - started)
                    break


async def load(base: str, conversations: int, turns: int) -> dict[str, Any]:
    out: dict[str, Any] = {"latency": [], "turn_s": [], "errors": 0, "order_errors": 0}
    results = await asyncio.gather(*(conversation(base, i % USERS, turns, out)
                                     for i in range(conversations)), return_exceptions=True)
    out["errors"] += sum(1 for r in results if isinstance(r, BaseException))
    out["exceptions"] = [repr(r) for r in results if isinstance(r, BaseException)][:3]
    return out


def summary(name: str, out: dict[str, Any], cpu: float, turns: int, wall: float) -> dict[str, Any]:
    lat = sorted(out["latency"]) or [0.0]
    return {"run": name, "turns": turns, "errors": out["errors"],
            "order_errors": out["order_errors"], "events": len(out["latency"]),
            "event_latency_p50_ms": round(1000 * lat[len(lat) // 2], 2),
            "event_latency_p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
            "turn_p50_ms": round(1000 * statistics.median(out["turn_s"] or [0]), 1),
            "service_cpu_ms_per_turn": round(1000 * cpu / max(1, turns), 2),
            "wall_s": round(wall, 2), "exceptions": out.get("exceptions", [])}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--root", default=None,
                        help="Folder for the service's database and workspaces (default: a "
                             "temporary one; /dev/shm measures without disk syncs)")
    parser.add_argument("--serve", nargs=3, metavar=("MODEL_URL", "ROOT", "PORT_FILE"))
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    from teragent_testing.fake_openai import FakeOpenAIServer, serve_in_thread

    with serve_in_thread(FakeOpenAIServer(fast=True)) as model_url, \
            tempfile.TemporaryDirectory(dir=args.root) as root:
        port_file = Path(root) / "port"
        child = subprocess.Popen([sys.executable, __file__, "--serve", model_url, root,
                                  str(port_file)])
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise SystemExit("the service did not start")
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            import httpx

            while True:  # the port is bound before uvicorn answers
                try:
                    if httpx.get(base + "/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            asyncio.run(load(base, 2, 2))  # warm-up: imports, first agent builds
            rows = []
            for name, n in (("baseline 1 conversation", 1),
                            (f"{args.conversations} concurrent", args.conversations)):
                cpu0, t0, own0 = cpu_seconds(child.pid), time.perf_counter(), time.process_time()
                out = asyncio.run(load(base, n, args.turns))
                row = summary(name, out, cpu_seconds(child.pid) - cpu0, n * args.turns,
                              time.perf_counter() - t0)
                # This process: the WebSocket clients and the fake model server.
                row["load_generator_cpu_s"] = round(time.process_time() - own0, 2)
                row["service_cpu_s"] = round(cpu_seconds(child.pid) - cpu0, 2)
                rows.append(row)
        finally:
            child.terminate()
            child.wait(30)
    base_row, load_row = rows
    for row in rows:
        print(json.dumps(row))
    print(json.dumps({
        "cpu_per_turn_ratio": round(load_row["service_cpu_ms_per_turn"]
                                    / max(1e-9, base_row["service_cpu_ms_per_turn"]), 2),
        "event_latency_p50_ratio": round(load_row["event_latency_p50_ms"]
                                         / max(1e-9, base_row["event_latency_p50_ms"]), 2)}))
    return 1 if load_row["errors"] or load_row["order_errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

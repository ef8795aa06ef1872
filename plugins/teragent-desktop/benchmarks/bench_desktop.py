"""What one desktop action costs through DesktopTool, against the bare backend call in
the same run (a ratio, so a busy machine shows as noise, not as a regression).

    .venv/bin/python plugins/teragent-desktop/benchmarks/bench_desktop.py [N]

Starts its own Xvfb (1920x1080) and needs xdotool (scripts/install-desktop-deps.sh).
Baselines: ``xdotool`` run directly as one asyncio subprocess per action, and
``PIL.ImageGrab.grab`` + encode for screenshots. Medians of N (default 40) runs.
"""

from __future__ import annotations

import asyncio
import io
import os
import select
import statistics
import subprocess
import sys
import time


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1920x1080x24",
                             "-nolisten", "tcp", "-noreset"], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    select.select([r], [], [], 20)
    number = os.read(r, 64).decode().strip()
    os.close(r)
    return proc, f":{number}"


async def timed(fn, n: int) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


async def main(n: int) -> None:
    from PIL import ImageGrab

    from teragent.tools.desktop import DesktopSafetyConfig, DesktopTool

    proc, display = start_xvfb()
    try:
        env = {**os.environ, "DISPLAY": display}
        tool = DesktopTool(DesktopSafetyConfig(min_interval=0, max_consecutive_ops=10**9),
                           display=display)

        async def raw(*args: str, stdin: bytes | None = None) -> None:
            p = await asyncio.create_subprocess_exec(
                "xdotool", *args, env=env, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await p.communicate(stdin)

        def grab(fmt: str) -> None:
            img = ImageGrab.grab(xdisplay=display).convert("RGB")
            img.save(io.BytesIO(), fmt, **({"quality": 75} if fmt == "JPEG" else {}))

        rows = [
            ("click", lambda: raw("mousemove", "100", "200", "click", "--repeat",
                                  "1", "--delay", "0", "1"),
             lambda: tool.execute({"action": "click", "x": 100, "y": 200})),
            ("move_mouse", lambda: raw("mousemove", "300", "300"),
             lambda: tool.execute({"action": "move_mouse", "x": 300, "y": 300})),
            ("hotkey", lambda: raw("key", "--clearmodifiers", "ctrl+c"),
             lambda: tool.execute({"action": "hotkey", "keys": "ctrl,c"})),
            ("type_text (20 chars)",
             lambda: raw("type", "--delay", "12", "--file", "-", stdin=b"x" * 20),
             lambda: tool.execute({"action": "type_text", "text": "x" * 20})),
            ("screenshot jpeg q75", lambda: asyncio.to_thread(grab, "JPEG"),
             lambda: tool.execute({"action": "screenshot"})),
        ]
        print(f"display {display} 1920x1080, median of {n} runs")
        print(f"{'action':<22}{'backend ms':>12}{'tool ms':>10}{'ratio':>8}")
        for name, base, mine in rows:
            warm = await mine()  # warm: the screen size is read once per tool
            assert warm.success, (warm.error, proc.poll())
            b, t = await timed(base, n), await timed(mine, n)
            print(f"{name:<22}{b:>12.1f}{t:>10.1f}{t / b:>8.2f}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40))

"""A real X server (``Xvfb`` on a free display) and a real X client recording what
arrives (``xev`` on a window at a known place, writing every event to a file).

Root installs the packages with ``scripts/install-desktop-deps.sh`` (``./dev test`` runs
it first); elsewhere the tests that need them skip, naming what is missing.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

WIDTH, HEIGHT = 640, 480
#: The xev window covers this rectangle of the screen (no window manager moves it).
WIN_X, WIN_Y, WIN_W, WIN_H = 0, 0, 400, 300
_DEADLINE = 20.0


def _need(*tools: str) -> None:
    gone = [t for t in tools if shutil.which(t) is None]
    if gone:
        pytest.skip(f"{', '.join(gone)} not installed: run scripts/install-desktop-deps.sh "
                    "as root (apt-get install xvfb xdotool x11-utils)")


@pytest.fixture(scope="session")
def xdisplay() -> Iterator[str]:
    """A fresh ``Xvfb`` on a display number it picks itself (``-displayfd``)."""
    _need("Xvfb", "xdotool", "xev")
    read, write = os.pipe()
    proc = subprocess.Popen(
        # -noreset: by default the server resets when its last client leaves, and a
        # client connecting during the reset fails ("X connection failed")
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], _DEADLINE)
        number = os.read(read, 64).decode().strip() if ready else ""
        if not number.isdigit():
            proc.kill()
            err = proc.communicate()[1].decode(errors="replace")[-500:]
            pytest.fail(f"Xvfb did not start within {_DEADLINE:g} s: {err}")
        yield f":{number}"
    finally:
        os.close(read)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@dataclass
class Event:
    type: str
    text: str

    @property
    def root(self) -> tuple[int, int] | None:
        m = re.search(r"root:\((-?\d+),(-?\d+)\)", self.text)
        return (int(m[1]), int(m[2])) if m else None

    @property
    def button(self) -> int | None:
        m = re.search(r"button (\d+)", self.text)
        return int(m[1]) if m else None

    @property
    def keysym(self) -> str | None:
        m = re.search(r"keysym 0x[0-9a-f]+, ([^)]+)\)", self.text)
        return m[1] if m else None

    @property
    def state(self) -> int:
        m = re.search(r"state (0x[0-9a-f]+)", self.text)
        return int(m[1], 16) if m else 0


class Recorder:
    """``xev`` on a window at (WIN_X, WIN_Y), WIN_W x WIN_H; its events parsed."""

    SCREEN = (WIDTH, HEIGHT)
    WINDOW = (WIN_X, WIN_Y, WIN_W, WIN_H)

    def __init__(self, display: str, path: Path) -> None:
        self.display, self.path = display, path
        self._out = path.open("wb")
        self.proc = subprocess.Popen(
            ["xev", "-display", display, "-geometry", f"{WIN_W}x{WIN_H}+{WIN_X}+{WIN_Y}",
             "-name", "teragent-desktop-test"], stdout=self._out, stderr=subprocess.STDOUT)
        try:
            self.wait_for(lambda evs: any(e.type in ("MapNotify", "Expose") for e in evs),
                          "the xev window to be mapped")
        except BaseException:
            self.close()
            raise

    def events(self, *types: str) -> list[Event]:
        text = self.path.read_text(errors="replace")
        out = []
        for block in text.split("\n\n"):
            block = block.strip()
            if not block:
                continue
            kind = block.split(" ", 1)[0]
            if not types or kind in types:
                out.append(Event(kind, block))
        return out

    def wait_for(self, ready: object, what: str) -> list[Event]:
        """Poll the recorded events until ``ready(events)`` holds (an X round trip is
        milliseconds; the deadline only bounds a broken run)."""
        end = time.monotonic() + _DEADLINE
        while True:
            evs = self.events()
            if ready(evs):  # type: ignore[operator]
                return evs
            if time.monotonic() > end or self.proc.poll() is not None:
                raise AssertionError(f"xev did not record {what} within {_DEADLINE:g} s "
                                     f"(exit status {self.proc.poll()}); output ends: "
                                     f"{self.path.read_text(errors='replace')[-400:]!r}")
            time.sleep(0.02)

    def sentinel(self, x: int = WIN_X + WIN_W - 5, y: int = WIN_Y + WIN_H - 5) -> list[Event]:
        """Click at (x, y) outside the tool and wait until it arrives: every event
        before it is in the file, so "nothing else arrived" can be asserted."""
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "2"],
                       env={**os.environ, "DISPLAY": self.display}, check=True, timeout=10)
        return self.wait_for(
            lambda evs: any(e.type == "ButtonPress" and e.button == 2 and e.root == (x, y)
                            for e in evs), f"the sentinel click at ({x}, {y})")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@pytest.fixture
def xev(xdisplay: str, tmp_path: Path) -> Iterator[Recorder]:
    rec = Recorder(xdisplay, tmp_path / "xev.log")
    try:
        yield rec
    finally:
        rec.close()

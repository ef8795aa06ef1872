"""The X11 backend: input through ``xdotool`` (XTEST), screenshots through Pillow (XCB).

Every action is one ``xdotool`` process on the tool's display; its exit status and
stderr decide success, so nothing is reported done that X did not accept. Typed text
goes to ``xdotool type --file -`` on stdin, never on a command line (another user's
``ps`` would show it). :func:`missing` says what is absent, and how to get it, when the
backend cannot run: the tool is then in simulation mode and refuses every action.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
from dataclasses import dataclass

__all__ = ["XBackend", "Screenshot", "missing", "keysym", "BUTTONS", "SCROLL_BUTTONS",
           "BackendError"]

#: Mouse buttons by name (X button numbers).
BUTTONS = {"left": 1, "middle": 2, "right": 3}
#: Wheel directions as X buttons.
SCROLL_BUTTONS = {"up": 4, "down": 5, "left": 6, "right": 7}
#: Normalised key names (safety.normalise_keys) → X keysyms xdotool understands.
_KEYSYMS = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "super", "enter": "Return",
    "escape": "Escape", "tab": "Tab", "delete": "Delete", "backspace": "BackSpace",
    "space": "space", "pageup": "Prior", "pagedown": "Next", "home": "Home", "end": "End",
    "insert": "Insert", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "print": "Print", "sysrq": "Sys_Req", "capslock": "Caps_Lock", "menu": "Menu",
}
_TIMEOUT = 10.0


class BackendError(RuntimeError):
    """An X request failed (the message holds xdotool's own words)."""


def keysym(name: str) -> str:
    """The X keysym of a normalised key name (``f5`` → ``F5``; letters as given)."""
    if name in _KEYSYMS:
        return _KEYSYMS[name]
    if len(name) > 1 and name[0] == "f" and name[1:].isdigit():
        return name.upper()
    return name


def _display_socket(display: str) -> str | None:
    """The Unix socket of a local display (``:3`` or ``:3.0``), else ``None``."""
    if not display.startswith(":"):
        return None
    number = display[1:].split(".")[0]
    return f"/tmp/.X11-unix/X{number}" if number.isdigit() else None


def missing(display: str | None) -> str | None:
    """What keeps the backend from running on ``display``, with the fix, or ``None``."""
    problems: list[str] = []
    if not display:
        problems.append("no X display: set DISPLAY (e.g. DISPLAY=:0) or run under Xvfb "
                        "(Xvfb :99 & export DISPLAY=:99)")
    else:
        sock = _display_socket(display)
        if sock is not None and not os.path.exists(sock):
            problems.append(f"no X server on display {display!r} ({sock} does not exist): "
                            "start one (Xvfb " + display.split(".")[0] + ") or set DISPLAY "
                            "to a running display")
    if shutil.which("xdotool") is None:
        problems.append("xdotool is not installed: apt-get install xdotool "
                        "(or scripts/install-desktop-deps.sh as root)")
    try:
        from PIL import features
    except ImportError:
        problems.append("Pillow is not installed: pip install 'pillow>=10.1' "
                        "(a dependency of teragent-desktop)")
    else:
        if not features.check("xcb"):
            problems.append("this Pillow was built without XCB, so it cannot read the X "
                            "screen: pip install --force-reinstall pillow (the PyPI wheels "
                            "have it)")
    return "; ".join(problems) or None


@dataclass
class Screenshot:
    """One capture of the whole display."""

    data: bytes
    format: str
    width: int
    height: int

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def mime_type(self) -> str:
        return f"image/{self.format}"


class XBackend:
    """Input and screenshots on one X display.

    Args:
        display: The X display (``":0"``); the process's ``DISPLAY`` when ``None``.
    """

    def __init__(self, display: str | None = None) -> None:
        self.display = display if display is not None else os.environ.get("DISPLAY", "")

    def missing(self) -> str | None:
        return missing(self.display)

    async def _xdotool(self, *args: str, stdin: bytes | None = None) -> str:
        env = {**os.environ, "DISPLAY": self.display}
        proc = await asyncio.create_subprocess_exec(
            "xdotool", *args, env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), _TIMEOUT)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise BackendError(f"xdotool {args[0]} did not finish within {_TIMEOUT:g} s on "
                               f"display {self.display!r}") from None
        if proc.returncode != 0:
            words = err.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
            raise BackendError(f"xdotool {args[0]} failed on display {self.display!r}: "
                               f"{words}")
        return out.decode("utf-8", "replace")

    async def screen_size(self) -> tuple[int, int]:
        w, h = (await self._xdotool("getdisplaygeometry")).split()
        return int(w), int(h)

    async def move(self, x: int, y: int) -> None:
        await self._xdotool("mousemove", str(x), str(y))

    async def click(self, x: int, y: int, button: int, clicks: int = 1) -> None:
        # xdotool also sleeps --delay (default 100 ms) after the last click
        delay = "80" if clicks > 1 else "0"
        await self._xdotool("mousemove", str(x), str(y),
                            "click", "--repeat", str(clicks), "--delay", delay, str(button))

    async def scroll(self, button: int, amount: int, at: tuple[int, int] | None) -> None:
        move = ["mousemove", str(at[0]), str(at[1])] if at else []
        await self._xdotool(*move, "click", "--repeat", str(amount), "--delay", "20",
                            str(button))

    async def drag(self, x: int, y: int, end_x: int, end_y: int, button: int) -> None:
        await self._xdotool("mousemove", str(x), str(y), "mousedown", str(button),
                            "mousemove", str(end_x), str(end_y),
                            "mouseup", str(button))

    async def type_text(self, text: str, delay_ms: int = 12) -> None:
        await self._xdotool("type", "--delay", str(delay_ms), "--file", "-",
                            stdin=text.encode("utf-8"))

    async def hotkey(self, keys: tuple[str, ...]) -> None:
        await self._xdotool("key", "--clearmodifiers", "+".join(keysym(k) for k in keys))

    async def screenshot(self, fmt: str, quality: int) -> Screenshot:
        return await asyncio.to_thread(self._grab, fmt, quality)

    def _grab(self, fmt: str, quality: int) -> Screenshot:
        from PIL import ImageGrab

        try:
            image = ImageGrab.grab(xdisplay=self.display)
        except OSError as exc:
            raise BackendError(f"screenshot failed on display {self.display!r}: {exc}") from None
        image = image.convert("RGB")
        buf = io.BytesIO()
        if fmt == "jpeg":
            image.save(buf, "JPEG", quality=quality)
        else:
            image.save(buf, "PNG", optimize=False)
        return Screenshot(buf.getvalue(), fmt, image.width, image.height)

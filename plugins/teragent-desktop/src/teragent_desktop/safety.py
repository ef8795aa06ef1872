"""The desktop tool's safety layers 2-5 (layer 1, DESTRUCTIVE safety, is the tool's
declaration, enforced by the kernel's guard chain).

- **Safe zones**: rectangles ``(x1, y1, x2, y2)`` (inclusive) where the pointer must
  not go: a click, a move or a drag whose path crosses one is refused.
- **Rate limit**: at least ``min_interval`` seconds between two performed actions; a
  call that comes sooner is refused (it says how long to wait), not delayed.
- **Consecutive-operations cap**: after ``max_consecutive_ops`` input actions the tool
  refuses every input action until :meth:`SafetyState.reset` (a forced pause: a person
  looks at the screen and resets, or a new agent starts with a new tool).
- **Blocked shortcuts**: key combinations that close, lock, log out or switch away from
  the session (``alt+f4``, ``ctrl+alt+delete``, ``super+l``, ...). Names, order and case
  are normalised (``Control+ALT+Del`` is ``ctrl+alt+delete``), and a combination that
  holds a blocked one plus more modifiers is blocked too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = ["DesktopSafetyConfig", "SafetyState", "DEFAULT_BLOCKED_SHORTCUTS",
           "normalise_keys", "is_blocked", "zone_hit", "segment_zone_hit"]

Zone = tuple[int, int, int, int]

#: Modifier names as written by people and by X, to one spelling each.
_MODIFIERS = {
    "ctrl": "ctrl", "control": "ctrl", "ctl": "ctrl", "control_l": "ctrl", "control_r": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt", "option": "alt", "opt": "alt",
    "meta": "super", "super": "super", "super_l": "super", "super_r": "super", "win": "super",
    "windows": "super", "cmd": "super", "command": "super", "mod4": "super",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
}
#: Other key names to one spelling each (the xdotool keysym is in backend.KEYSYMS).
_KEYS = {
    "del": "delete", "delete": "delete", "bksp": "backspace", "backspace": "backspace",
    "back_space": "backspace", "esc": "escape", "escape": "escape", "return": "enter",
    "enter": "enter", "ret": "enter", "prtsc": "print", "printscreen": "print",
    "print_screen": "print", "print": "print", "sysrq": "sysrq", "sys_req": "sysrq",
    "pgup": "pageup", "page_up": "pageup", "prior": "pageup", "pageup": "pageup",
    "pgdn": "pagedown", "page_down": "pagedown", "next": "pagedown", "pagedown": "pagedown",
    "spacebar": "space", "space": "space", "ins": "insert", "insert": "insert",
}
_MOD_ORDER = ("ctrl", "alt", "shift", "super")

#: Combinations that close the focused window, lock or end the session, kill the X
#: server or switch to a text console: refused whatever the safety config adds.
DEFAULT_BLOCKED_SHORTCUTS: tuple[str, ...] = (
    "alt+f4", "ctrl+alt+delete", "ctrl+alt+backspace", "super+l", "ctrl+alt+l",
    "ctrl+alt+end", "ctrl+shift+q", "alt+sysrq", "alt+print",
    *(f"ctrl+alt+f{n}" for n in range(1, 13)),
)


def normalise_keys(keys: str | Sequence[str]) -> tuple[str, ...]:
    """``"Control+ALT, Del"`` or ``["ctrl", "alt", "del"]`` → ``("ctrl", "alt",
    "delete")``: modifiers first in a fixed order, then the other keys as given.

    Raises:
        ValueError: no key, or an empty key name.
    """
    parts = keys.replace("+", ",").split(",") if isinstance(keys, str) else list(keys)
    names = [str(p).strip().lower().replace(" ", "_") for p in parts]
    if not names or any(not n for n in names):
        raise ValueError(f"keys {keys!r}: give key names separated by commas or '+', "
                         "e.g. 'ctrl,c' or 'ctrl+shift+t'")
    mods: set[str] = set()
    others: list[str] = []
    for n in names:
        if n in _MODIFIERS:
            mods.add(_MODIFIERS[n])
        else:
            key = _KEYS.get(n, n)
            if key not in others:
                others.append(key)
    return (*(m for m in _MOD_ORDER if m in mods), *others)


def is_blocked(combo: Sequence[str], blocked: Iterable[Sequence[str]]) -> str | None:
    """The blocked shortcut ``combo`` (normalised) holds, as ``"a+b"``, or ``None``."""
    have = set(combo)
    for b in blocked:
        if set(b) <= have:
            return "+".join(b)
    return None


def zone_hit(x: int, y: int, zones: Iterable[Zone]) -> Zone | None:
    """The first zone holding the point (bounds inclusive), or ``None``."""
    for z in zones:
        if z[0] <= x <= z[2] and z[1] <= y <= z[3]:
            return z
    return None


def segment_zone_hit(x0: int, y0: int, x1: int, y1: int, zones: Iterable[Zone]) -> Zone | None:
    """The first zone the segment from ``(x0, y0)`` to ``(x1, y1)`` touches (a drag
    holds the button down all the way), or ``None``. Liang-Barsky clipping."""
    dx, dy = x1 - x0, y1 - y0
    for z in zones:
        lo, hi = 0.0, 1.0
        inside = True
        for p, q in ((-dx, x0 - z[0]), (dx, z[2] - x0), (-dy, y0 - z[1]), (dy, z[3] - y0)):
            if p == 0:
                if q < 0:
                    inside = False
                    break
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            if lo > hi:
                inside = False
                break
        if inside:
            return z
    return None


@dataclass
class DesktopSafetyConfig:
    """The desktop tool's safety settings (the documented constructor).

    Args:
        safe_zones: Forbidden rectangles ``(x1, y1, x2, y2)``, screen pixels, bounds
            inclusive: no click, move or drag goes into one.
        min_interval: Least seconds between two actions (0 turns the limit off).
        max_consecutive_ops: Input actions before a forced pause (refused until reset).
        screenshot_quality: JPEG quality, 1-100.
        screenshot_format: ``"jpeg"`` or ``"png"``.
        blocked_shortcuts: Key combinations refused besides
            :data:`DEFAULT_BLOCKED_SHORTCUTS` (``"ctrl+q"``, ``"super+d"``, ...).

    Raises:
        ValueError: a setting out of range, naming it and what is allowed.
    """

    safe_zones: list[Zone] = field(default_factory=list)
    min_interval: float = 0.5
    max_consecutive_ops: int = 50
    screenshot_quality: int = 75
    screenshot_format: str = "jpeg"
    blocked_shortcuts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        zones: list[Zone] = []
        for i, z in enumerate(self.safe_zones):
            if len(z) != 4 or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in z):
                raise ValueError(f"safe_zones[{i}] = {z!r}: a zone is four integers "
                                 "(x1, y1, x2, y2)")
            x1, y1, x2, y2 = z
            if x2 < x1 or y2 < y1:
                raise ValueError(f"safe_zones[{i}] = {z!r}: need x1 <= x2 and y1 <= y2 "
                                 "(top-left corner first)")
            zones.append((x1, y1, x2, y2))
        self.safe_zones = zones
        if not (isinstance(self.min_interval, (int, float)) and math.isfinite(self.min_interval)
                and self.min_interval >= 0):
            raise ValueError(f"min_interval = {self.min_interval!r}: seconds, 0 or more")
        if not isinstance(self.max_consecutive_ops, int) or self.max_consecutive_ops < 1:
            raise ValueError(f"max_consecutive_ops = {self.max_consecutive_ops!r}: an "
                             "integer, 1 or more")
        if not isinstance(self.screenshot_quality, int) or not 1 <= self.screenshot_quality <= 100:
            raise ValueError(f"screenshot_quality = {self.screenshot_quality!r}: an integer "
                             "from 1 to 100")
        fmt = str(self.screenshot_format).lower()
        fmt = "jpeg" if fmt == "jpg" else fmt
        if fmt not in ("jpeg", "png"):
            raise ValueError(f"screenshot_format = {self.screenshot_format!r}: 'jpeg' or 'png'")
        self.screenshot_format = fmt
        for s in self.blocked_shortcuts:
            normalise_keys(s)

    def blocked(self) -> list[tuple[str, ...]]:
        """Every blocked combination, normalised."""
        return [normalise_keys(s) for s in (*DEFAULT_BLOCKED_SHORTCUTS, *self.blocked_shortcuts)]


class SafetyState:
    """The rate limit and the consecutive-operations count of one tool instance."""

    def __init__(self, config: DesktopSafetyConfig, clock: object = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self.consecutive = 0
        self._last: float | None = None

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def refusal(self, counts: bool) -> str | None:
        """Why the next action may not run now, or ``None``. ``counts``: it is an
        input action (it counts toward the cap)."""
        if counts and self.consecutive >= self.config.max_consecutive_ops:
            return (f"consecutive-operation cap reached ({self.consecutive} of "
                    f"max_consecutive_ops={self.config.max_consecutive_ops}): desktop input "
                    "is paused until a person checks the screen and calls "
                    "DesktopTool.reset_safety() (a new agent starts a new count)")
        if self._last is not None and self.config.min_interval > 0:
            wait = self.config.min_interval - (self._now() - self._last)
            if wait > 0:
                return (f"rate limit: at most one desktop action every "
                        f"{self.config.min_interval:g} s (min_interval); retry in "
                        f"{wait:.2f} s")
        return None

    def performed(self, counts: bool) -> None:
        self._last = self._now()
        if counts:
            self.consecutive += 1

    def reset(self) -> None:
        """End the forced pause: the count starts again at zero."""
        self.consecutive = 0

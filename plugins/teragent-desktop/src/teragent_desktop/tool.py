"""``DesktopTool`` (documented as ``teragent.tools.desktop``): seven actions on a real X
display behind five safety layers.

1. **DESTRUCTIVE safety**: the kernel's guard chain refuses the tool unless the run
   allows destructive tools (``[agent] allow_destructive``, a ``[permission]`` rule) or
   an approval gate says yes, like any destructive tool.
2-5. Safe zones, rate limit, consecutive-operations cap, blocked shortcuts
   (:mod:`teragent_desktop.safety`), checked here before anything reaches X.

Without a display or ``xdotool`` the tool is in :attr:`DesktopTool.simulation_mode`:
every action fails with what is missing and how to fix it; nothing is pretended.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, ClassVar, Mapping

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ProgressCallback, ToolResult

from teragent_desktop.backend import BUTTONS, SCROLL_BUTTONS, BackendError, XBackend
from teragent_desktop.safety import (
    DesktopSafetyConfig,
    SafetyState,
    is_blocked,
    normalise_keys,
    segment_zone_hit,
    zone_hit,
)

__all__ = ["DesktopTool", "DesktopSafetyConfig", "ACTIONS"]

logger = logging.getLogger(__name__)

ACTIONS = ("screenshot", "click", "type_text", "scroll", "hotkey", "move_mouse", "drag")
#: Actions that put input into the session (they count toward the cap).
_INPUT = frozenset(ACTIONS) - {"screenshot"}
_REQUIRED = {"click": ("x", "y"), "type_text": ("text",), "scroll": ("direction",),
             "hotkey": ("keys",), "move_mouse": ("x", "y"),
             "drag": ("x", "y", "end_x", "end_y")}
_MAX_TEXT = 10_000
_COORD = {"type": "integer", "minimum": 0}


def _refused(layer: str, reason: str) -> ToolResult:
    return ToolResult(success=False, error=f"refused by the desktop safety layer "
                      f"{layer!r}: {reason}; nothing was done",
                      safety=ToolSafety.DESTRUCTIVE, metadata={"refused": True, "layer": layer})


class DesktopTool(BaseTool):
    """Mouse, keyboard and screenshots on the X display.

    Args:
        safety_config: The safety settings; default: ``[desktop]`` of ``config``, else
            :class:`DesktopSafetyConfig` defaults.
        display: The X display (``":0"``); default ``[desktop] display``, else the
            ``DISPLAY`` variable.
        config: The loaded ``agent.toml`` (the composition root passes it).
    """

    name: ClassVar[str] = "desktop"
    description: ClassVar[str] = (
        "Operate the computer's desktop: take a screenshot, click, move or drag the mouse, "
        "scroll, type text or press a keyboard shortcut. Coordinates are screen pixels "
        "from the top-left corner; take a screenshot first to see where things are.")
    category: ClassVar[str] = "desktop"
    keywords: ClassVar[tuple[str, ...]] = ("desktop", "screen", "screenshot", "click", "mouse",
                                           "keyboard", "type", "gui")
    _safety: ClassVar[ToolSafety] = ToolSafety.DESTRUCTIVE
    _concurrency_safe: ClassVar[bool] = False
    # Every argument is data (coordinates, key names, text to type): none is a path.
    data_params: ClassVar[tuple[str, ...]] = (
        "action", "x", "y", "end_x", "end_y", "button", "clicks", "text", "direction",
        "scroll_amount", "keys")
    # What it types may be a password: records (audit log, events, traces, the kept
    # conversation and so sessions and transcripts) show "[redacted: N chars]".
    sensitive_params: ClassVar[tuple[str, ...]] = ("text",)
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS),
                       "description": "What to do."},
            "x": {**_COORD, "description": "Pointer x (click, move_mouse, drag start; "
                                           "optional for scroll)."},
            "y": {**_COORD, "description": "Pointer y (click, move_mouse, drag start; "
                                           "optional for scroll)."},
            "end_x": {**_COORD, "description": "Drag end x."},
            "end_y": {**_COORD, "description": "Drag end y."},
            "button": {"type": "string", "enum": list(BUTTONS),
                       "description": "Mouse button for click and drag (default left)."},
            "clicks": {"type": "integer", "minimum": 1, "maximum": 3,
                       "description": "1 (default), 2 for a double click, 3 for a triple."},
            "text": {"type": "string", "description": "Text to type (type_text)."},
            "direction": {"type": "string", "enum": list(SCROLL_BUTTONS),
                          "description": "Scroll direction."},
            "scroll_amount": {"type": "integer", "minimum": 1, "maximum": 50,
                              "description": "Wheel steps (default 3)."},
            "keys": {"type": "string",
                     "description": "Shortcut keys separated by commas, e.g. 'ctrl,c' "
                                    "(hotkey)."},
        },
        "required": ["action"],
        "additionalProperties": False,
    }

    def __init__(self, safety_config: DesktopSafetyConfig | None = None, *,
                 display: str | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        settings = None
        if config and config.get("desktop"):
            from teragent.config.loader import validate_table

            from teragent_desktop.config import DesktopConfig

            # a bad key is a ConfigError naming the file, line and key
            settings = validate_table(config, "desktop", DesktopConfig)
        if safety_config is None:
            safety_config = settings.safety() if settings else DesktopSafetyConfig()
        if display is None and settings is not None:
            display = settings.display
        self._safety_config = safety_config
        self._state = SafetyState(safety_config)
        self._blocked = safety_config.blocked()
        self._backend = XBackend(display)
        self._screen: tuple[int, int] | None = None

    # --- documented properties --------------------------------------------------------

    @property
    def simulation_mode(self) -> bool:
        """True when no X display or input backend is available: every action then
        fails with what is missing (see :attr:`unavailable_reason`)."""
        return self._backend.missing() is not None

    @property
    def unavailable_reason(self) -> str | None:
        """What is missing and how to fix it, or ``None`` when the backend is ready."""
        return self._backend.missing()

    @property
    def safety_config(self) -> DesktopSafetyConfig:
        return self._safety_config

    @property
    def display(self) -> str:
        return self._backend.display

    @property
    def consecutive_ops(self) -> int:
        """Input actions since the last reset (the cap counts these)."""
        return self._state.consecutive

    def reset_safety(self) -> None:
        """End a forced pause: the consecutive-operations count starts again."""
        self._state.reset()

    # --- execution --------------------------------------------------------------------

    async def execute(self, params: dict[str, Any],
                      progress_callback: ProgressCallback | None = None) -> ToolResult:
        action = params.get("action")
        if action not in ACTIONS:
            return self._fail(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        for key in _REQUIRED.get(action, ()):
            if params.get(key) is None:
                return self._fail(f"action {action!r} needs {key!r} "
                                  f"(required: {', '.join(_REQUIRED[action])})")
        missing = self._backend.missing()
        if missing:
            return self._fail(f"desktop {action} not performed: {missing}",
                              simulation=True)
        try:
            plan = await self._plan(action, params)
        except (ValueError, BackendError) as exc:
            return self._fail(str(exc))
        if isinstance(plan, ToolResult):
            return plan
        counts = action in _INPUT
        reason = self._state.refusal(counts)
        if reason:
            layer = "rate_limit" if reason.startswith("rate limit") else "consecutive_cap"
            return _refused(layer, reason)
        try:
            result = await plan()
        except BackendError as exc:
            return self._fail(str(exc))
        finally:
            self._state.performed(counts)
        logger.debug("desktop %s performed", action)  # never the typed text
        return result

    def _fail(self, error: str, simulation: bool = False) -> ToolResult:
        meta = {"simulation_mode": True} if simulation else {}
        return ToolResult(success=False, error=error, safety=ToolSafety.DESTRUCTIVE,
                          metadata=meta)

    async def _size(self) -> tuple[int, int]:
        if self._screen is None:
            self._screen = await self._backend.screen_size()
        return self._screen

    async def _point(self, x: Any, y: Any, what: str) -> tuple[int, int]:
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, int) \
                or not isinstance(y, int):
            raise ValueError(f"{what} must be integer pixels, got ({x!r}, {y!r})")
        w, h = await self._size()
        if not (0 <= x < w and 0 <= y < h):
            raise ValueError(f"{what} ({x}, {y}) is outside the screen ({w}x{h}; x from 0 "
                             f"to {w - 1}, y from 0 to {h - 1})")
        return x, y

    def _zone(self, *points: tuple[int, int]) -> ToolResult | None:
        zones = self._safety_config.safe_zones
        if not zones:
            return None
        if len(points) == 2:
            (x0, y0), (x1, y1) = points
            hit = segment_zone_hit(x0, y0, x1, y1, zones)
            where = f"the drag from ({x0}, {y0}) to ({x1}, {y1})"
        else:
            hit = zone_hit(*points[0], zones)
            where = f"({points[0][0]}, {points[0][1]})"
        if hit is None:
            return None
        return _refused("safe_zone", f"{where} enters the forbidden zone {list(hit)} "
                                     "(safe_zones); choose a point outside it")

    async def _plan(self, action: str, p: dict[str, Any]
                    ) -> ToolResult | Callable[[], Awaitable[ToolResult]]:
        """The checked action as a coroutine function, or a refusal."""
        b = self._backend
        if action == "screenshot":
            cfg = self._safety_config

            async def shot() -> ToolResult:
                s = await b.screenshot(cfg.screenshot_format, cfg.screenshot_quality)
                return ToolResult(data={"format": s.format, "mime_type": s.mime_type,
                                        "width": s.width, "height": s.height,
                                        "image_base64": s.base64},
                                  safety=ToolSafety.DESTRUCTIVE,
                                  metadata={"bytes": len(s.data)})
            return shot
        if action == "type_text":
            text = p["text"]
            if not isinstance(text, str) or not text:
                raise ValueError("text must be a non-empty string")
            if len(text) > _MAX_TEXT:
                raise ValueError(f"text is {len(text)} characters; type at most {_MAX_TEXT} "
                                 "per call")

            async def type_() -> ToolResult:
                await b.type_text(text)
                return self._ok(f"typed {len(text)} characters")
            return type_
        if action == "hotkey":
            raw = p["keys"]
            keys = normalise_keys(raw if isinstance(raw, (str, list)) else str(raw))
            hit = is_blocked(keys, self._blocked)
            if hit:
                return _refused("blocked_shortcut",
                                f"{'+'.join(keys)} is a blocked shortcut ({hit}: it closes, "
                                "locks or leaves the session)")

            async def key() -> ToolResult:
                await b.hotkey(keys)
                return self._ok(f"pressed {'+'.join(keys)}")
            return key
        if action == "scroll":
            direction = p["direction"]
            if direction not in SCROLL_BUTTONS:
                raise ValueError(f"direction {direction!r}: use one of "
                                 f"{', '.join(SCROLL_BUTTONS)}")
            amount = p.get("scroll_amount", 3)
            if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= 50:
                raise ValueError(f"scroll_amount {amount!r}: an integer from 1 to 50")
            at = None
            if p.get("x") is not None or p.get("y") is not None:
                at = await self._point(p.get("x"), p.get("y"), "scroll position")
                refusal = self._zone(at)
                if refusal:
                    return refusal

            async def scroll() -> ToolResult:
                await b.scroll(SCROLL_BUTTONS[direction], amount, at)
                return self._ok(f"scrolled {direction} {amount}")
            return scroll
        button_name = p.get("button") or "left"
        if button_name not in BUTTONS:
            raise ValueError(f"button {button_name!r}: use one of {', '.join(BUTTONS)}")
        button = BUTTONS[button_name]
        x, y = await self._point(p["x"], p["y"], "point")
        if action == "drag":
            ex, ey = await self._point(p["end_x"], p["end_y"], "drag end")
            refusal = self._zone((x, y), (ex, ey))
            if refusal:
                return refusal

            async def drag() -> ToolResult:
                await b.drag(x, y, ex, ey, button)
                return self._ok(f"dragged from ({x}, {y}) to ({ex}, {ey})")
            return drag
        refusal = self._zone((x, y))
        if refusal:
            return refusal
        if action == "move_mouse":
            async def move() -> ToolResult:
                await b.move(x, y)
                return self._ok(f"moved the pointer to ({x}, {y})")
            return move
        clicks = p.get("clicks", 1)
        if isinstance(clicks, bool) or not isinstance(clicks, int) or not 1 <= clicks <= 3:
            raise ValueError(f"clicks {clicks!r}: 1, 2 or 3")

        async def click() -> ToolResult:
            await b.click(x, y, button, clicks)
            return self._ok(f"clicked {button_name} at ({x}, {y})"
                            + (f" {clicks} times" if clicks > 1 else ""))
        return click

    def _ok(self, text: str) -> ToolResult:
        return ToolResult(data=text, safety=ToolSafety.DESTRUCTIVE)

"""The ``[desktop]`` table of ``agent.toml``.

```toml
[desktop]
enabled = true                 # offer the desktop tool to agents (it is opt-in)
display = ":0"                 # default: the DISPLAY variable
safe_zones = [[0, 0, 1920, 40]]  # no pointer in the top bar
min_interval = 0.5
max_consecutive_ops = 50
screenshot_quality = 75
screenshot_format = "jpeg"
blocked_shortcuts = ["ctrl+q"] # besides the built-in list
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from teragent_desktop.safety import DesktopSafetyConfig

__all__ = ["DesktopConfig"]


class DesktopConfig(BaseModel):
    """``[desktop]``: whether agents are offered the desktop tool, and its safety."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Offer the ``desktop`` tool to every agent (it is offered only when named in
    #: ``[tools] enabled`` / ``--tools`` otherwise: it drives the real screen).
    enabled: bool = False
    #: X display to drive; default: the ``DISPLAY`` environment variable.
    display: str | None = None
    #: Forbidden rectangles ``[x1, y1, x2, y2]`` for clicks, moves and drags.
    safe_zones: list[tuple[int, int, int, int]] = Field(default_factory=list)
    #: Least seconds between two actions.
    min_interval: float = Field(default=0.5, ge=0)
    #: Input actions before a forced pause.
    max_consecutive_ops: int = Field(default=50, ge=1)
    #: JPEG quality of screenshots.
    screenshot_quality: int = Field(default=75, ge=1, le=100)
    #: Screenshot encoding.
    screenshot_format: Literal["jpeg", "png"] = "jpeg"
    #: Key combinations refused besides the built-in ones.
    blocked_shortcuts: list[str] = Field(default_factory=list)

    def safety(self) -> DesktopSafetyConfig:
        return DesktopSafetyConfig(
            safe_zones=list(self.safe_zones), min_interval=self.min_interval,
            max_consecutive_ops=self.max_consecutive_ops,
            screenshot_quality=self.screenshot_quality,
            screenshot_format=self.screenshot_format,
            blocked_shortcuts=list(self.blocked_shortcuts))

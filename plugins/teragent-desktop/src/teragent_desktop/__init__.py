"""TerAgent plugin ``desktop``: desktop automation on a real X display, served as the
documented ``teragent.tools.desktop``.

Example::

    from teragent.tools.desktop import DesktopTool, DesktopSafetyConfig

    tool = DesktopTool(safety_config=DesktopSafetyConfig(safe_zones=[(0, 0, 1920, 40)]))
    result = await tool.execute({"action": "click", "x": 100, "y": 200})

Hookimpls only: the tool registers by import string as ``desktop``, **opt-in** (offered
to an agent only when ``[tools] enabled`` / ``--tools`` names it or ``[desktop] enabled
= true``), and the ``[desktop]`` table is validated by
:class:`teragent_desktop.config.DesktopConfig`.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl

__version__ = "0.1.0"
__all__ = ["DesktopTool", "DesktopSafetyConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from teragent_desktop import tool

        return getattr(tool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def teragent_register_tools(register: Any) -> None:
    register("teragent_desktop.tool:DesktopTool", name="desktop", opt_in="desktop")


@hookimpl
def teragent_register_config_tables(register: Any) -> None:
    register("desktop", "teragent_desktop.config:DesktopConfig",
             description="The desktop tool: opt-in, display, safe zones, rate, cap, shortcuts")

"""TerAgent tool pack ``webtools``: ``http_get`` and ``fetch_url``.

Hookimpls only; the tools' module (and httpx) load on first use. Settings come from
``[plugins.webtools]`` in ``agent.toml`` (see :class:`teragent_webtools.fetch.WebSettings`).
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import RegisterTool

__version__ = "0.1.0"


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    # Registered by import string: listed under the attribute's name, the tool's own.
    register("teragent_webtools.tools:http_get")
    register("teragent_webtools.tools:fetch_url")


@hookimpl
def teragent_configure(config: dict[str, Any]) -> None:
    table = (config.get("plugins") or {}).get("webtools")
    if table:
        from teragent_webtools.fetch import configure

        configure(table)

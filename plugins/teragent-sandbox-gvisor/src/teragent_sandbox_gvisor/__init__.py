"""TerAgent plugin: the ``gvisor`` sandbox backend (``runsc``, Linux).

Only the hookimpl lives here; the backend is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    register("gvisor", "teragent_sandbox_gvisor.backend:GVisorSandbox", level=1, priority=30)

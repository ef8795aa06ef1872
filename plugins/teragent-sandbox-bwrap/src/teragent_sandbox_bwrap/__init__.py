"""TerAgent plugin: the ``bwrap`` sandbox backend (bubblewrap namespaces, Linux).

Only the hookimpl lives here; the backend is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    register("bwrap", "teragent_sandbox_bwrap.backend:BwrapSandbox", level=1, priority=50)

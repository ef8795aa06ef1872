"""TerAgent plugin: the ``landlock`` sandbox backend (Landlock + seccomp, Linux).

Only the hookimpl lives here; the backend is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    # Priority above the kernel's ``process`` backend: the default at level 0 on Linux
    # whenever Landlock is available.
    register("landlock", "teragent_sandbox_landlock.backend:LandlockSandbox", level=0,
             priority=50)

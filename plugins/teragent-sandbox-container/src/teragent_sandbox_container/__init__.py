"""TerAgent plugin: the ``container`` sandbox backend (podman or docker, local images).

Only the hookimpl lives here; the backend is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    register("container", "teragent_sandbox_container.backend:ContainerSandbox", level=1,
             priority=20)

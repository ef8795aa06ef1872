"""TerAgent plugin: the ``microvm`` sandbox backend (QEMU microvm; Firecracker API).

Only the hookimpl lives here; the backend is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    register("microvm", "teragent_sandbox_microvm.backend:MicroVMSandbox", level=2,
             priority=50)

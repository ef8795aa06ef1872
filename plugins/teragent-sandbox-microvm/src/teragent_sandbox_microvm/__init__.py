"""TerAgent plugin: the level-2 sandbox backends ``firecracker`` and ``microvm`` (QEMU).

Only the hookimpl lives here; the backends are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    # Firecracker is preferred at level 2 when it is available (priority 60 > 50).
    register("firecracker", "teragent_sandbox_microvm.firecracker:FirecrackerSandbox",
             level=2, priority=60)
    register("microvm", "teragent_sandbox_microvm.backend:MicroVMSandbox", level=2,
             priority=50)

"""TerAgent plugin ``sandbox-process``: the level-0 host-process sandbox backend.

Hookimpls only; the backend loads on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterCommand

__version__ = "0.1.0"


@hookimpl
def teragent_register_sandboxes(register: Register) -> None:
    register("process", "teragent_sandbox_process.backend:ProcessSandbox", level=0, priority=0)


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("sandbox", "teragent_sandbox_process.cli:cmd_sandbox",
             help="Which sandbox the bash tool uses here and what it contains",
             add_arguments="teragent_sandbox_process.cli:args_sandbox")

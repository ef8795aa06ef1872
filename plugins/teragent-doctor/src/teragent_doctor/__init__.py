"""TerAgent plugin ``doctor``: the ``teragent doctor`` command (the key auditor).

Hookimpls only; the auditor loads when the command runs.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import RegisterCommand

__version__ = "0.1.0"


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("doctor", "teragent_doctor.cli:cmd_doctor",
             help="Find API keys written into agent.toml or exposed .env files",
             add_arguments="teragent_doctor.cli:args_doctor")

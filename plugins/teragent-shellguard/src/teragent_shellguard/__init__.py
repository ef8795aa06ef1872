"""TerAgent plugin ``shellguard``: shell command defense judged on effects.

Hookimpls only. The checker is registered by import string, so its modules (and their
precompiled patterns) load on first use, not when TerAgent discovers plugins.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register

__version__ = "0.1.0"


@hookimpl
def teragent_register_command_checks(register: Register) -> None:
    register("shellguard", "teragent_shellguard.checker:check_command")

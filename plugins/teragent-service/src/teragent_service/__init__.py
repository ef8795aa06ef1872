"""TerAgent plugin ``service``: the agent service and ``teragent serve``.

Hookimpls only; FastAPI, uvicorn and the service modules load when the command runs or
when :func:`teragent_service.app.create_app` is imported.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import RegisterCommand

__version__ = "0.1.0"


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("serve", "teragent_service.cli:cmd_serve",
             help="Run the agent service: REST + WebSocket API and the web UI",
             add_arguments="teragent_service.cli:args_serve")

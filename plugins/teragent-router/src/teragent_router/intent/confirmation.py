"""``ConfirmationGate``: explicit user approval before a CREATE_PROJECT run.

The decision comes from ``handler`` (a UI callback, sync or async, returning a bool);
without one, an interactive terminal is asked on stdin and a non-interactive run is
refused (fail closed: a project is never created without a yes).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from typing import Any, Callable

__all__ = ["ConfirmationGate"]

logger = logging.getLogger("teragent.intent")


class ConfirmationGate:
    """Args:
        handler: ``handler(description) -> bool`` (sync or async).
        auto_confirm: Approve without asking (scripts, CI).
        timeout: Seconds to wait for an answer; no answer refuses.
    """

    def __init__(self, handler: Callable[[str], Any] | None = None, *,
                 auto_confirm: bool = False, timeout: float | None = None) -> None:
        self.handler = handler
        self.auto_confirm = auto_confirm
        self.timeout = timeout
        self.history: list[tuple[str, bool]] = []

    async def confirm_create_project(self, description: str) -> bool:
        """Ask whether to go ahead with creating the project ``description``."""
        return await self.confirm(f"Create a new project: {description}")

    async def confirm(self, question: str) -> bool:
        if self.auto_confirm:
            answer = True
        else:
            try:
                answer = await asyncio.wait_for(self._ask(question), self.timeout)
            except asyncio.TimeoutError:
                logger.info("no confirmation within %s s; refusing", self.timeout)
                answer = False
        self.history.append((question, answer))
        return answer

    async def _ask(self, question: str) -> bool:
        if self.handler is not None:
            out = self.handler(question)
            if inspect.isawaitable(out):
                out = await out
            return bool(out)
        if not sys.stdin or not sys.stdin.isatty():
            logger.info("no confirmation handler and no terminal; refusing: %s", question)
            return False
        reply = await asyncio.to_thread(input, f"{question}\nProceed? [y/N] ")
        return reply.strip().lower() in ("y", "yes")

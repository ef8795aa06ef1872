"""Approvals in the terminal: "approve once / always for this tool / deny".

:class:`TerminalApprover` is the run's approval gate (``build_agent(approval_gate=...)``,
consulted last in the guard chain, so a person sees only calls every other guard let
through). It asks about two kinds of call: those an ``ask`` rule matched (it is also
the permission manager's ``ask_handler``, which only marks the call for the gate) and
calls of the tool kinds the run's flags do not allow (writes without ``--allow-writes``,
shell commands without ``--allow-shell``; only when someone can answer). ``--yes``
approves every question (scripts); with no terminal and no ``--yes`` an ``ask`` call is
refused with the way to allow it, and :func:`refusal_hint` adds the fix to refusals.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Awaitable, Callable, Iterable

from teragent.core.types import ToolSafety

__all__ = ["TerminalApprover", "refusal_hint", "FLAG_OF"]

#: The flag that allows a kind of tool without asking.
FLAG_OF = {ToolSafety.SAFE_WRITE: "--allow-writes", ToolSafety.HIGH_RISK: "--allow-shell"}


class _StdinLines:
    """Standard input read by a daemon thread (never blocks the event loop, and a
    pending read never keeps the process alive)."""

    def __init__(self) -> None:
        import threading

        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        aio = asyncio.get_running_loop()

        def read() -> None:
            while True:
                try:
                    line = sys.stdin.readline()
                except (OSError, ValueError):  # closed or unreadable: end of input
                    line = ""
                try:
                    aio.call_soon_threadsafe(self.queue.put_nowait,
                                             line.rstrip("\n") if line else None)
                except RuntimeError:  # the run's event loop is gone: nobody is asking
                    return
                if not line:
                    return

        threading.Thread(target=read, name="teragent-approvals", daemon=True).start()

    async def next(self) -> str | None:
        return await self.queue.get()


class TerminalApprover:
    """Asks the person at the terminal (see the module docstring).

    Args:
        ask_safety: The tool kinds whose calls need a yes.
        yes: Approve everything without asking (``--yes``).
        interactive: Someone can answer; otherwise questions are refused.
        read_line: ``async () -> str | None`` (``None`` at end of input); default: a
            reader thread on standard input, started at the first question.
        write: Shows the question (default: standard error).
    """

    name = "terminal_approval"

    def __init__(self, *, ask_safety: Iterable[ToolSafety] = (), yes: bool = False,
                 interactive: bool = True,
                 read_line: Callable[[], Awaitable[str | None]] | None = None,
                 write: Callable[[str], None] | None = None) -> None:
        self.ask_safety = frozenset(ask_safety)
        self.yes = yes
        self.interactive = interactive
        self.read_line = read_line
        self.write = write or (lambda text: print(text, end="", file=sys.stderr, flush=True))
        self.before_prompt: Callable[[], None] = lambda: None
        self.always: set[str] = set()
        self._asked: dict[str, str] = {}  # calls an ask rule matched → the rule's reason
        self._lock: asyncio.Lock | None = None

    async def _read(self) -> str | None:
        if self.read_line is None:
            self.read_line = _StdinLines().next
        return await self.read_line()

    @staticmethod
    def _key(tool_name: str, params: Any) -> str:
        return tool_name + "\0" + json.dumps(params, sort_keys=True, default=str)

    async def decide(self, tool_name: str, params: dict[str, Any],
                     reason: str = "") -> tuple[bool, str]:
        """``(approved, how)``; one question at a time, however many calls run."""
        if self.yes:
            return True, "approved by --yes"
        if tool_name in self.always:
            return True, f"approved at the prompt for every {tool_name} call of this session"
        if not self.interactive:
            return False, ("needs approval and nobody can answer: run in a terminal to "
                           "answer it, or pass --yes")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if tool_name in self.always:  # answered while this call waited
                return True, f"approved at the prompt for every {tool_name} call"
            self.before_prompt()
            from teragent.secrets import redact_arguments

            # a sensitive argument (BaseTool.sensitive_params) shows its length only:
            # terminals keep scrollback and logs, and the decision does not need it
            shown = json.dumps(redact_arguments(tool_name, params), ensure_ascii=False,
                               default=str)
            if len(shown) > 300:
                shown = shown[:300] + "…"
            why = f" ({reason})" if reason else ""
            self.write(f"? {tool_name} {shown}{why}\n")
            while True:
                self.write("  approve [o]nce, [a]lways for this tool, or [d]eny? ")
                answer = await self._read()
                if answer is None:
                    self.write("\n")
                    return False, "denied: no answer (end of input)"
                word = answer.strip().lower()
                if word in ("o", "once", "y", "yes"):
                    return True, "approved once at the prompt"
                if word in ("a", "always"):
                    self.always.add(tool_name)
                    return True, f"approved at the prompt for every {tool_name} call"
                if word in ("d", "deny", "n", "no"):
                    return False, "denied at the prompt"
                self.write("  please answer o, a or d\n")

    # --- a permission manager's ask_handler ------------------------------------------

    async def ask(self, tool_name: str, params: dict[str, Any], reason: str = "") -> bool:
        """Defer the question to :meth:`check`, which runs after the other guards."""
        self._asked[self._key(tool_name, params)] = reason or "an ask rule matched"
        return True

    # --- the approval gate (a guard) ---------------------------------------------------

    async def check(self, call: Any, tool: Any) -> Any:
        from teragent.guards import GuardDecision

        safety: Any = getattr(tool, "safety", None)
        rule = self._asked.pop(self._key(call.name, dict(call.arguments)), None)
        if rule is None and safety not in self.ask_safety:
            return None
        kind = {ToolSafety.SAFE_WRITE: "writes files",
                ToolSafety.HIGH_RISK: "runs shell commands"}.get(safety, "is risky")
        approved, how = await self.decide(call.name, dict(call.arguments),
                                          rule or f"{call.name} {kind}")
        if approved:
            return GuardDecision(True, how, source=self.name)
        flag = FLAG_OF.get(safety) if rule is None else None
        fix = f"; rerun with {flag} to allow such calls without asking" if flag else ""
        return GuardDecision(False, (f"{rule}: " if rule else "") + how + fix,
                             source=self.name)


def refusal_hint(reason: str, safety: Any, *, interactive: bool, yes: bool) -> str:
    """The fix to show after a refusal reason that does not name one already."""
    if "--yes" in reason or "--allow-" in reason or "rerun with" in reason:
        return ""
    if "nobody can answer" in reason or "no approver" in reason:
        return "" if "--yes" in reason else "run in a terminal to answer it, or pass --yes"
    flag = FLAG_OF.get(safety) if isinstance(safety, ToolSafety) else None
    if flag and "denied at the prompt" not in reason and not interactive:
        return (f"rerun with {flag} (or in a terminal to be asked, or with --yes)")
    return ""

"""``ShellHook``: a hook that is an external command.

The command receives the hook context as one JSON object on standard input
(``event``, ``tool_name``, ``params``, ``tool_call_id``; ``result``/``reason`` for the
observer events) and decides with its exit code and standard output:

- exit 0 and empty stdout: ALLOW;
- exit 0 and a JSON object on stdout: ``{"decision": "allow"|"deny"|"modify",
  "reason": "...", "params": {...}}``;
- exit 2: DENY, with standard error (or stdout) as the reason the model reads;
- any other exit code, a timeout, or output that is not JSON: the hook failed, which
  denies a ``pre_execute`` call unless the hook is ``fail_open``.

The command runs without a shell when given as a list; a string is run by the
platform's shell. Its environment is ours without secret-named variables
(:func:`teragent.security.processes.clean_environment`), and it is
killed (with its process group on POSIX) when it overruns ``timeout``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any, Iterable, Sequence

from teragent.errors import redact
from teragent.security.processes import clean_environment
from teragent_hooks.base import Hook, HookDecision, HookResult

__all__ = ["ShellHook"]


class ShellHook(Hook):
    """Run ``command`` for each matching event.

    Args:
        command: A string (run by the shell) or an argv list (run directly).
        events: Events it handles when registered without naming one.
        cwd: Working directory (default: the current one).
        env: Extra environment variables.
        matcher, timeout, fail_open, name: See :class:`~teragent.hooks.Hook`.
    """

    def __init__(self, command: str | Sequence[str], *, events: Iterable[str] | None = None,
                 cwd: str | None = None, env: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        if isinstance(command, str):
            if not command.strip():
                raise ValueError("ShellHook needs a command")
        elif not command:
            raise ValueError("ShellHook needs a command")
        kwargs.setdefault("name", command if isinstance(command, str) else " ".join(command))
        super().__init__(**kwargs)
        self.command = command
        self.cwd = cwd
        self.env = dict(env or {})
        if events is not None:
            self.events = tuple(events)

    async def _spawn(self) -> asyncio.subprocess.Process:
        common: dict[str, Any] = dict(
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=self.cwd, env=clean_environment(extra=self.env))
        if sys.platform != "win32":
            common["start_new_session"] = True
        if isinstance(self.command, str):
            return await asyncio.create_subprocess_shell(self.command, **common)
        return await asyncio.create_subprocess_exec(*self.command, **common)

    @staticmethod
    def _kill(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        try:
            if sys.platform != "win32":
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass

    async def run(self, event: str, context: dict[str, Any]) -> HookResult:
        payload = json.dumps(context, default=str, ensure_ascii=False).encode("utf-8")
        proc = await self._spawn()
        try:
            # The manager's own timeout cancels us; kill the process group then.
            out, err = await proc.communicate(payload)
        except BaseException:
            self._kill(proc)
            await proc.wait()
            raise
        stdout = out.decode("utf-8", "replace").strip()
        stderr = err.decode("utf-8", "replace").strip()
        code = proc.returncode
        if code == 2:
            reason = stderr or stdout or f"denied by hook {self.name!r}"
            return HookResult.deny(redact(reason)[:2000])  # type: ignore[index]
        if code != 0:
            raise RuntimeError(f"exited with status {code}"
                               + (f": {redact(stderr)[:500]}" if stderr else ""))  # type: ignore[index]
        if not stdout:
            return HookResult.allow()
        try:
            data = json.loads(stdout)
        except json.JSONDecodeError:
            raise RuntimeError("printed something that is not a JSON object on stdout") from None
        if not isinstance(data, dict):
            raise RuntimeError("printed JSON that is not an object on stdout")
        decision = HookDecision(str(data.get("decision", "allow")).lower())
        params = data.get("params")
        if decision == HookDecision.MODIFY and not isinstance(params, dict):
            raise RuntimeError("answered 'modify' without a 'params' object")
        return HookResult(decision, str(data.get("reason") or ""),
                          params if decision == HookDecision.MODIFY else None)

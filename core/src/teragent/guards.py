"""The guard seam: one question, "may this tool call run?", asked one way on every path.

A **guard** is anything with ``async check(call, tool) -> GuardDecision | None``
(``None``: no opinion). An **observer** is anything with ``async observe(outcome)``: it
sees every attempt once, after it ran or was refused (the audit log, the event bus).
A :class:`GuardChain` holds both, in order; the :class:`~teragent.tools.ToolOrchestrator`
asks it before every call, whichever way the call arrived (a batch, a tool started
mid-stream, a pattern's agent, a handoff, an agent or orchestration used as a tool, a
delegated run, the CLI).

Chains only grow: :meth:`GuardChain.extended` puts a nested run's own guards *after*
its parent's, so a nested run may be stricter and never looser.

What ships here (the kernel's always-on guards; plugins add theirs through
``teragent_register_tool_guards``):

- :class:`SafetyGate`: writes, shell and destructive tools need explicit permission
  (used when no permission manager decides);
- :class:`PathGuard`: the workspace's protected paths and the permission manager's
  DENY rules, applied to every path a call names, whatever the argument's name or
  shape, and to the paths a shell command names;
- :class:`CommandGuard`: every command a tool declares goes through every registered
  command check (``teragent_register_command_checks``); with no checker installed,
  commands are refused.

Adapters for the documented older shapes (a permission manager with
``acheck_tool_params``, a hook manager with ``run_hooks``) live here too, so those
objects plug into the same chain.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence, cast

from teragent.core.types import ToolSafety

if TYPE_CHECKING:  # the TAP message models load with the first call, not with the chain
    from teragent.core.types import ToolCall

__all__ = ["GuardDecision", "ToolGuard", "ToolObserver", "GuardChain", "SafetyGate",
           "PathGuard", "CommandGuard", "PermissionManagerGuard", "HookManagerGuard",
           "BusObserver", "command_paths"]

logger = logging.getLogger("teragent.guards")


@dataclass
class GuardDecision:
    """A guard's answer: allow, deny (with a reason), or allow with modified params."""

    allowed: bool
    reason: str = ""
    params: dict[str, Any] | None = None
    source: str = ""


class ToolGuard(Protocol):
    """Anything consulted before a tool runs; return ``None`` for "no opinion"."""

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None: ...


class ToolObserver(Protocol):
    """Sees every attempt once (a :class:`~teragent.tools.ToolCallOutcome`); never
    decides, and its failures never break a run."""

    async def observe(self, outcome: Any) -> None: ...


def _name(obj: Any) -> str:
    return str(getattr(obj, "name", "") or type(obj).__name__)


class GuardChain:
    """Guards and observers in order. Immutable: :meth:`extended` returns a new chain."""

    def __init__(self, guards: Iterable[Any] = (), observers: Iterable[Any] = ()) -> None:
        self.guards: tuple[Any, ...] = tuple(guards)
        self.observers: tuple[Any, ...] = tuple(observers)

    def __repr__(self) -> str:
        return f"GuardChain(guards={self.names()}, observers={len(self.observers)})"

    def names(self) -> list[str]:
        return [_name(g) for g in self.guards]

    def extended(self, guards: Iterable[Any] = (), observers: Iterable[Any] = ()) -> "GuardChain":
        """This chain followed by ``guards``/``observers`` not already in it."""
        g = list(self.guards)
        g.extend(x for x in guards if not any(x is y for y in g))
        o = list(self.observers)
        o.extend(x for x in observers if not any(x is y for y in o))
        return GuardChain(g, o)

    def find(self, kind: type) -> Any:
        """The first guard that is an instance of ``kind``, or ``None``."""
        return next((g for g in self.guards if isinstance(g, kind)), None)

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision:
        """Ask every guard in order; the first refusal wins, modifications accumulate
        (each later guard sees the modified arguments). A guard that raises refuses."""
        modified = False
        for guard in self.guards:
            try:
                decision: GuardDecision | None = await guard.check(call, tool)
            except Exception as exc:  # noqa: BLE001 - a failing guard denies (fail closed)
                logger.warning("guard %s failed: %s", _name(guard), exc)
                return GuardDecision(False, f"permission check {_name(guard)!r} failed: {exc}",
                                     source=_name(guard))
            if decision is None:
                continue
            if not decision.allowed:
                if not decision.source:
                    decision.source = _name(guard)
                return decision
            if decision.params is not None:
                call.arguments = decision.params
                modified = True
        return GuardDecision(True, params=call.arguments if modified else None)

    async def notify(self, outcome: Any) -> None:
        for observer in self.observers:
            try:
                out = observer.observe(outcome)
                if inspect.isawaitable(out):
                    await out
            except Exception as exc:  # noqa: BLE001 - observers never break a run
                logger.warning("observer %s failed: %s", _name(observer), exc)


# --- the kernel's guards ------------------------------------------------------------


class SafetyGate:
    """Read-only tools run; writes, shell commands and destructive tools need explicit
    permission. The default decider when no permission manager is configured.

    Args:
        allow_writes: Allow ``SAFE_WRITE`` tools.
        allow_shell: Allow ``HIGH_RISK`` tools (shell commands).
        allow_destructive: Allow ``DESTRUCTIVE`` tools.
    """

    name = "safety_gate"

    def __init__(self, *, allow_writes: bool = False, allow_shell: bool = False,
                 allow_destructive: bool = False) -> None:
        self.allow_writes = allow_writes
        self.allow_shell = allow_shell
        self.allow_destructive = allow_destructive

    def permits(self, safety: ToolSafety) -> bool:
        return {ToolSafety.READ_ONLY: True, ToolSafety.SAFE_WRITE: self.allow_writes,
                ToolSafety.HIGH_RISK: self.allow_shell,
                ToolSafety.DESTRUCTIVE: self.allow_destructive}[ToolSafety(safety)]

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None:
        safety = tool.safety
        if self.permits(safety):
            return None
        name = tool.name
        reason = {
            ToolSafety.SAFE_WRITE: f"tool {name!r} writes files, and writes are not allowed "
                                   "in this run (enable with --allow-writes or [agent] "
                                   "allow_writes = true)",
            ToolSafety.HIGH_RISK: f"tool {name!r} runs shell commands, which are not allowed "
                                  "in this run (enable with --allow-shell or [agent] "
                                  "allow_shell = true)",
            ToolSafety.DESTRUCTIVE: f"tool {name!r} is destructive and is not allowed in "
                                    "this run (enable with [agent] allow_destructive = true)",
        }[ToolSafety(safety)]
        return GuardDecision(False, reason, source=self.name)


_SHELL_SPLIT = re.compile(r"[\s<>|;&()=`$'\"{},]+")
_GLOB_CHARS = re.compile(r"[*?\[]")


def command_paths(command: str, workspace: str | None = None, *, limit: int = 200) -> list[str]:
    """The words of a shell command that may name files: the shell words (quotes
    removed), split further at redirections, assignments and substitutions, with
    globs expanded against ``workspace``. Over-inclusive by design: a word that is not
    a path costs one failed match."""
    import glob
    import shlex  # (both here: a command is checked when a tool runs, not at build)

    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError:
        words = command.split()
    pieces: list[str] = []
    for word in words:
        pieces.append(word)
        pieces.extend(p for p in _SHELL_SPLIT.split(word) if p and p != word)
    out: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece or piece.startswith("-") and "/" not in piece and "." not in piece:
            continue
        if piece.startswith("-") and "=" not in piece:
            piece = piece.lstrip("-")
        if piece not in out:
            out.append(piece)
        if workspace and _GLOB_CHARS.search(piece):
            pattern = piece if os.path.isabs(piece) else os.path.join(workspace, piece)
            for match in glob.glob(pattern, recursive=True)[:limit]:
                if match not in out:
                    out.append(match)
        if len(out) >= limit:
            break
    return out


class PathGuard:
    """Applies a :class:`~teragent.security.policy.PathPolicy` to every path a call
    names: the paths a tool declares (with their operation), every string of a tool
    that declares nothing (unknown effect), and the words of every shell command.

    Args:
        policy: The workspace's protected paths and DENY deciders.
    """

    name = "protected_paths"

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None:
        effects = tool.effects(call.arguments)
        for op, path in effects.all_paths():
            reason = self.policy.denied(path, op, call.name)
            if reason:
                return GuardDecision(False, f"refused: {reason}", source=self.name)
        for command in effects.commands:
            words = command_paths(command, self.policy.root)
            for word in words:
                reason = self.policy.denied(word, "unknown", call.name)
                if reason:
                    return GuardDecision(False, f"refused: the command names {word!r}; "
                                         f"{reason}", source=self.name)
            reason = self._recursive_read(command, words)
            if reason:
                return GuardDecision(False, f"refused: {reason}", source=self.name)
        return None

    def _recursive_read(self, command: str, words: list[str]) -> str | None:
        """A recursive reader (``grep -r``, ``rg``, ``tar``, ``find``, ``cp -r``...)
        pointed at a directory that holds files the policy hides would read them all:
        refuse it, naming one such file."""
        if not _RECURSIVE.search(command):
            return None
        root = self.policy.root
        dirs = [w for w in words if os.path.isdir(os.path.join(root, w))]
        if not dirs:
            dirs = ["."]  # rg, grep -r and find default to the working directory
        for d in dirs:
            hidden = _first_hidden(self.policy, os.path.normpath(os.path.join(root, d)))
            if hidden:
                rel = os.path.relpath(hidden, root)
                return (f"the command reads {d!r} recursively, which holds {rel!r}; "
                        f"{self.policy.denied(hidden, 'read')}. Name the files or "
                        "subdirectories it should read instead")
        return None


#: Commands that read a directory tree (by flag or by nature).
_RECURSIVE = re.compile(
    r"(?:^|[\s;|&(`])(?:rg|ag|ack|tar|zip|7z|rsync|find|cpio|git\s+grep"
    r"|(?:e|f)?grep\s+(?:-\w*[rR]\w*|--recursive|--dereference-recursive)"
    r"|(?:cp|scp)\s+(?:-\w*[rRa]\w*|--recursive|--archive))(?:\s|$)")


def _first_hidden(policy: Any, directory: str, limit: int = 20_000) -> str | None:
    """The first file under ``directory`` the policy refuses to read (bounded walk)."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in (*filenames, *dirnames):
            seen += 1
            full = os.path.join(dirpath, name)
            if policy.denied(full, "read"):
                return full
            if seen >= limit:
                return None
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules", ".venv")]
    return None


CommandCheck = Callable[..., Any]


class CommandGuard:
    """Runs every command a call carries (the tool's ``command_params``) through every
    registered command check; the first refusal wins.

    Args:
        checks: ``{name: check}``; each is called as ``check(command)`` (with
            ``workspace=`` and ``protected=`` when it accepts them) and answers
            ``(allowed, reason[, warnings])``.
        workspace: The run's workspace.
        protected: Protected path globs handed to checks that take them.
        require_checker: With no check at all, refuse every command (default) rather
            than let it through unchecked.
    """

    name = "command_check"

    def __init__(self, checks: Mapping[str, CommandCheck] | Callable[[], Mapping[str, CommandCheck]],
                 *, workspace: str | None = None, protected: Sequence[str] = (),
                 require_checker: bool = True) -> None:
        # A callable is resolved on the first command: a run that never carries a
        # command never imports a checker plugin.
        self._source = checks
        self._checks: dict[str, CommandCheck] | None = None
        self.workspace = workspace
        self.protected = tuple(protected)
        self.require_checker = require_checker
        self._rich: dict[str, bool] = {}

    @property
    def checks(self) -> dict[str, CommandCheck]:
        if self._checks is None:
            source = self._source() if callable(self._source) else self._source
            self._checks = dict(sorted(source.items()))
            self._rich = {n: self._takes_context(c) for n, c in self._checks.items()}
        return self._checks

    @staticmethod
    def _takes_context(check: CommandCheck) -> bool:
        try:
            params = inspect.signature(check).parameters
        except (TypeError, ValueError):
            return False
        return "protected" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())

    def check_command(self, command: str) -> tuple[bool, str, list[str]]:
        """``(allowed, reason, warnings)`` for one command."""
        if not self.checks:
            if self.require_checker:
                return (False, "no shell-command checker is installed, so commands cannot "
                        "be checked (install one: pip install teragent-shellguard)", [])
            return True, "no checker", []
        warnings: list[str] = []
        for name, check in self.checks.items():
            out = check(command, workspace=self.workspace, protected=self.protected) \
                if self._rich[name] else check(command)
            if isinstance(out, bool):
                out = (out, "" if out else "refused")
            allowed, reason = out[0], out[1]
            if len(out) > 2 and out[2]:
                warnings.extend(out[2])
            if not allowed:
                return False, f"{reason} (checker {name!r})", warnings
        return True, "allowed", warnings

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None:
        for command in tool.effects(call.arguments).commands:
            allowed, reason, _ = self.check_command(command)
            if not allowed:
                return GuardDecision(False, f"dangerous command blocked: {reason}",
                                     source=self.name)
        return None


# --- adapters for the documented older shapes -----------------------------------------


class PermissionManagerGuard:
    """A permission manager (``acheck_tool_params``/``check_tool_params``) as a guard.
    The paths it judges are the tool's declared effects, not guessed parameter names."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.name = type(manager).__name__

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None:
        m = self.manager
        if hasattr(m, "note_tool_safety"):
            m.note_tool_safety(call.name, tool.safety)
        effects = tool.effects(call.arguments)
        # Declared paths always; undeclared strings when they could be a path (prose
        # with spaces or line breaks is left to the protected-path guard).
        paths = [p for _, p in effects.paths]
        paths += [s for s in effects.undeclared if s and len(s) < 4096 and not any(
            c.isspace() for c in s)]
        fn = getattr(m, "acheck_tool_params", None) or getattr(m, "check_tool_params")
        try:
            out = fn(call.name, call.arguments, paths=paths)
        except TypeError:  # a manager that does not take declared paths
            out = fn(call.name, call.arguments)
        if inspect.isawaitable(out):
            out = await out
        allowed, reason = cast("tuple[bool, str]", out)
        return GuardDecision(bool(allowed), reason or "", source=self.name)


class HookManagerGuard:
    """A hook manager's ``pre_execute`` hooks as a guard, and its ``post_execute`` and
    ``execute_denied`` hooks as an observer."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.name = type(manager).__name__

    async def _run(self, event: str, ctx: dict[str, Any]) -> Any:
        out = self.manager.run_hooks(event, ctx)
        return await out if inspect.isawaitable(out) else out

    async def check(self, call: ToolCall, tool: Any) -> GuardDecision | None:
        ctx: dict[str, Any] = {"tool_name": call.name, "params": dict(call.arguments),
                               "tool_call_id": call.id, "safety": tool.safety.value}
        decision = await self._run("pre_execute", ctx)
        value = str(getattr(decision, "decision", getattr(decision, "value", decision))).lower()
        if "deny" in value:
            reason = getattr(decision, "reason", "") or ctx.get("reason") or "denied by a hook"
            return GuardDecision(False, str(reason), source=self.name)
        if "modify" in value:
            params = getattr(decision, "params", None) or ctx.get("params")
            return GuardDecision(True, "modified by a hook",
                                 params=dict(cast("Mapping[str, Any]", params)), source=self.name)
        return None

    async def observe(self, outcome: Any) -> None:
        call = outcome.call  # sensitive arguments redacted already (execute_one)
        params = call.arguments
        if outcome.metadata.get("refused"):
            await self._run("execute_denied", {
                "tool_name": call.name, "params": params, "tool_call_id": call.id,
                "denied": outcome.denied, "reason": outcome.metadata.get("reason", ""),
                "source": outcome.metadata.get("source", "")})
        else:
            await self._run("post_execute", {
                "tool_name": call.name, "params": params, "result": outcome.result,
                "tool_call_id": call.id, "safety": outcome.result.safety.value})


class BusObserver:
    """Publishes refused calls as ``tool_denied`` on an event bus. Nested runs inherit
    their parent's, so a denial deep inside a team reaches the outermost bus."""

    name = "bus"

    def __init__(self, bus: Any) -> None:
        self.bus = bus

    async def observe(self, outcome: Any) -> None:
        if outcome.metadata.get("refused"):
            await self.bus.emit("tool_denied", tool_name=outcome.call.name,
                                tool_call_id=outcome.call.id,
                                reason=outcome.metadata.get("reason", ""),
                                source=outcome.metadata.get("source", ""), nested=True)

"""The kernel's CLI commands: ``plugins``, ``version``, ``run``, ``chat``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from teragent.errors import UserError


# --- plugins / version -------------------------------------------------------------


def args_plugins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def cmd_plugins(args: argparse.Namespace) -> int:
    from teragent.plugins import get_host

    records = get_host().list_plugins()
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="TerAgent plugins")
    for col in ("name", "distribution", "version", "status", "hooks"):
        table.add_column(col)
    for r in records:
        status = r.status if not r.error else f"{r.status}: {r.error}"
        hooks = ", ".join(h.removeprefix("teragent_") for h in r.hooks)
        table.add_row(r.name, r.distribution, r.version, status, hooks)
    Console().print(table)
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    import teragent
    from teragent.plugins import get_host

    print(f"teragent {teragent.__version__} (Python {sys.version.split()[0]})")
    for r in get_host().list_plugins():
        if r.distribution and r.distribution != "teragent":
            print(f"  {r.distribution} {r.version} [{r.status}]")
    return 0


# --- run / chat ---------------------------------------------------------------------


def _agent_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-steps", type=int, default=None, help="step budget (default 12)")
    p.add_argument("--workspace", default=None, help="directory the agent works in "
                   "(default: the current directory)")
    p.add_argument("-m", "--model", default=None, help="PROVIDER:MODEL (e.g. "
                   "openai:gpt-4o-mini; `teragent models` lists them), a driver from "
                   "agent.toml (adapter.identity), or a .gguf path")
    p.add_argument("--no-stream", action="store_true", help="do not stream the model's output")
    p.add_argument("--allow-writes", action="store_true", help="let tools write files")
    p.add_argument("--allow-shell", action="store_true", help="let tools run shell commands")
    p.add_argument("-y", "--yes", action="store_true", help="approve every call that would "
                   "be asked about (ask rules, writes, shell commands): for scripts")
    p.add_argument("--tools", default=None,
                   help="comma-separated tool names to offer (default: all installed)")
    p.add_argument("--session", default=None, metavar="NAME",
                   help="save to session NAME and continue it if it exists "
                   "(teragent-sessions; `teragent sessions list` shows them)")


def args_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help="what the agent should do")
    _agent_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with the result")


def args_chat(p: argparse.ArgumentParser) -> None:
    _agent_args(p)
    p.add_argument("--new", action="store_true",
                   help="start a new chat session instead of continuing the last one")


def build_agent(args: argparse.Namespace) -> Any:
    """The agent the CLI runs: :func:`teragent.build_agent` with the flags as overrides,
    so the CLI and the library assemble the same guarded agent."""
    from teragent.compose import build_agent as compose

    config_overrides: dict[str, Any] = {}
    if args.max_steps is not None:
        config_overrides["max_steps"] = args.max_steps
    if args.no_stream:
        config_overrides["stream"] = False
    if args.allow_writes:
        config_overrides["allow_writes"] = True
    if args.allow_shell:
        config_overrides["allow_shell"] = True
    from teragent.config.loader import load_full_config

    config = load_full_config()
    if args.max_steps is None and "max_steps" not in (config.get("agent") or {}):
        config_overrides["max_steps"] = 12
    names = None
    if args.tools is not None:
        names = [n.strip() for n in args.tools.split(",") if n.strip()]
    sessions: dict[str, Any] = {}  # build_agent's session=/session_id=/session_intent=
    if getattr(args, "session", None):
        sessions["session_id"] = args.session
    if hasattr(args, "new"):
        _chat_session(args, config, sessions)
    approver = args.approver = _approver(args, config, config_overrides)
    manager = _permission_manager(args, config, config_overrides)
    if manager is not None:
        # `ask` rules become the approver's question; without anyone to answer only
        # when there are such rules (a handler makes the manager offer refused tools)
        if getattr(manager, "ask_handler", False) is None and (
                approver.interactive or approver.yes or _has_ask_rules(config)):
            manager.ask_handler = approver
        config_overrides["permission_manager"] = manager
    return compose(config, workspace=args.workspace, model=args.model, tool_names=names,
                   approval_gate=approver, **config_overrides, **sessions)


def _chat_session(args: argparse.Namespace, config: dict[str, Any],
                  overrides: dict[str, Any]) -> None:
    """``teragent chat`` continues the workspace's latest chat session when a session
    plugin is installed (``--session NAME`` picks one, ``--new`` starts one,
    ``[session] enabled = false`` turns it off)."""
    overrides["session_intent"] = "chat"
    table = config.get("session")
    if args.session or (isinstance(table, dict) and table.get("enabled", True) is False):
        return
    from teragent.plugins import get_host

    store = get_host().hook.teragent_build_session_store(
        config=config, workspace=os.path.realpath(args.workspace or os.getcwd()))
    if store is None:
        return  # no session plugin: the chat lives as long as the process
    overrides["session"] = store
    if not args.new:
        latest = store.list_sessions(intent="chat", limit=1)
        if latest:
            overrides["session_id"] = latest[0].id


def _has_ask_rules(config: dict[str, Any]) -> bool:
    rules = (config.get("permission") or {}).get("rules") or {}
    if isinstance(rules, dict):
        return bool(rules.get("ask"))
    return any(isinstance(r, dict) and str(r.get("effect", "")).lower() == "ask"
               for r in rules)


def _interactive(args: argparse.Namespace) -> bool:
    return bool(sys.stdin.isatty()) and not getattr(args, "json", False)


def _approver(args: argparse.Namespace, config: dict[str, Any],
              overrides: dict[str, Any]) -> Any:
    """The run's terminal approver. When someone can answer (a TTY) or ``--yes`` answers
    for them, the tool kinds the flags do not allow are allowed subject to a yes."""
    from teragent.cli.approvals import TerminalApprover
    from teragent.core.types import ToolSafety

    interactive = _interactive(args)
    yes = bool(getattr(args, "yes", False))  # callers may build their own Namespace
    agent = config.get("agent") or {}
    ask = []
    if yes or interactive:
        for flag, safety in (("allow_writes", ToolSafety.SAFE_WRITE),
                             ("allow_shell", ToolSafety.HIGH_RISK)):
            if not overrides.get(flag) and not agent.get(flag):
                ask.append(safety)
                overrides[flag] = True  # the decider lets them through; the approver asks
    return TerminalApprover(ask_safety=ask, yes=yes, interactive=interactive)


def _permission_manager(args: argparse.Namespace, config: dict[str, Any],
                        overrides: dict[str, Any]) -> Any:
    """The plugin-offered permission manager, made here (not in build_agent) so its
    ``ask_handler`` is set before the tools to offer are chosen."""
    from teragent.compose import loop_config_from
    from teragent.plugins import get_host

    workspace = os.path.realpath(args.workspace or os.getcwd())
    if not os.path.isdir(workspace):
        return None  # build_agent reports it
    return get_host().hook.teragent_default_permission_manager(
        config=config, loop_config=loop_config_from(config, **overrides),
        workspace=workspace)


class _Renderer:
    """Shows the run as it happens: streamed text on stdout, tool calls and a spinner
    on stderr."""

    def __init__(self, loop: Any, quiet: bool, args: Any = None) -> None:
        from rich.console import Console

        self.out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.status: Any = None
        self.streamed = False
        self.loop = loop
        self.shown: set[str] = set()  # tool call ids already reported
        self.interactive = bool(args is not None and _interactive(args))
        self.yes = bool(getattr(args, "yes", False))
        approver = getattr(args, "approver", None)
        if approver is not None:
            approver.before_prompt = self.stop_spinner
        if quiet:
            return
        bus = loop.bus
        bus.on("model_start", self.model_start)
        bus.on("text_delta", self.text)
        bus.on("model_end", self.model_end)
        bus.on("tool_start", self.tool_start)
        bus.on("tool_end", self.tool_end)
        bus.on("tool_denied", self.tool_denied)
        bus.on("continuation", lambda **kw: self.note("reply cut off; asking to continue"))
        bus.on("budget_exhausted", lambda **kw: self.note("step budget used up; "
                                                          "asking for a summary"))

    def note(self, text: str) -> None:
        self.stop_spinner()
        self.err.print(f"[dim]… {text}[/dim]")

    def stop_spinner(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def model_start(self, **kw: Any) -> None:
        self.stop_spinner()
        if self.err.is_terminal:
            self.status = self.err.status("thinking…", spinner="dots")
            self.status.start()
        self.streamed = False

    def text(self, text: str) -> None:
        self.stop_spinner()
        self.streamed = True
        self.out.print(text, end="", markup=False)

    def model_end(self, response: Any, **kw: Any) -> None:
        self.stop_spinner()
        if self.streamed:
            self.out.print()

    def tool_start(self, tool_name: str, params: dict[str, Any], **kw: Any) -> None:
        self.stop_spinner()
        shown = json.dumps(params, ensure_ascii=False)
        if len(shown) > 200:
            shown = shown[:200] + "…"
        self.err.print(f"[bold cyan]→ {tool_name}[/bold cyan] {shown}", markup=True,
                       highlight=False)

    def tool_end(self, tool_name: str, success: bool, duration: float, output: str = "",
                 **kw: Any) -> None:
        self.shown.add(str(kw.get("tool_call_id")))
        mark = "[green]✓[/green]" if success else "[red]✗[/red]"
        preview = output.strip().replace("\n", " ⏎ ")
        if len(preview) > 160:
            preview = preview[:160] + "…"
        from rich.markup import escape

        self.err.print(f"  {mark} {tool_name} ({duration:.2f}s) [dim]{escape(preview)}[/dim]")

    def tool_denied(self, tool_name: str, reason: str, **kw: Any) -> None:
        from rich.markup import escape

        from teragent.cli.approvals import refusal_hint

        self.stop_spinner()
        self.shown.add(str(kw.get("tool_call_id")))
        tool = self.loop.tools.find(tool_name) if hasattr(self.loop.tools, "find") else None
        hint = refusal_hint(reason, getattr(tool, "safety", None),
                            interactive=self.interactive, yes=self.yes)
        fix = f" [dim]→ {escape(hint)}[/dim]" if hint else ""
        self.err.print(f"  [yellow]⚠ {tool_name} refused:[/yellow] {escape(reason)}{fix}")

    def unshown_failures(self, result: Any) -> None:
        """Calls that failed before running (unknown tool, invalid arguments) publish
        no event: show them after the turn, each with its reason."""
        from rich.markup import escape

        for o in getattr(result, "tool_outcomes", []):
            if o.success or str(o.call.id) in self.shown:
                continue
            self.shown.add(str(o.call.id))
            error = str(getattr(o.result, "error", "") or "failed").replace("\n", " ")
            if len(error) > 300:
                error = error[:300] + "…"
            self.err.print(f"  [red]✗ {escape(o.call.name)}:[/red] {escape(error)}")


async def _run_once(loop: Any, task: str, renderer: _Renderer, history: Any = None) -> Any:
    """Run one turn; SIGINT cancels the turn (not the process)."""
    aio = asyncio.get_running_loop()
    turn = asyncio.ensure_future(loop.run(task))
    installed = False
    try:
        aio.add_signal_handler(signal.SIGINT, turn.cancel)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows / not main thread
        pass
    try:
        return await turn
    finally:
        renderer.stop_spinner()
        if installed:
            aio.remove_signal_handler(signal.SIGINT)


def cmd_run(args: argparse.Namespace) -> int:
    loop = build_agent(args)
    renderer = _Renderer(loop, quiet=args.json, args=args)

    async def go() -> Any:
        try:
            return await _run_once(loop, args.task, renderer)
        finally:
            await loop.close()
            await loop.model.close()

    try:
        result = asyncio.run(go())
    except asyncio.CancelledError:
        print("\nteragent: run cancelled", file=sys.stderr)
        return 130
    if args.json:
        payload = result.as_dict()
        payload["model"] = loop.model.name
        payload["tools"] = loop.tools.list_tool_names()  # what the model was offered
        if loop.session_id is not None:
            payload["session"] = loop.session_id
        print(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        renderer.unshown_failures(result)
        if not renderer.streamed or loop.config.stream is False:
            print(result.final_text)
        refused = sum(1 for o in result.tool_outcomes if o.denied)
        failed = sum(1 for o in result.tool_outcomes if not o.success and not o.denied)
        extra = "".join(f", {n} {what}" for n, what in ((refused, "refused"),
                                                        (failed, "failed")) if n)
        renderer.err.print(f"[dim]— {result.stop_reason} after {result.steps} step(s), "
                           f"{len(result.tool_outcomes)} tool call(s){extra}, "
                           f"{result.duration:.1f}s, model {loop.model.name}"
                           + (f", session {loop.session_id}" if loop.session_id else "")
                           + "[/dim]")
    return 0


CHAT_HELP = """Commands:
  /help          this list
  /exit, /quit   leave (Ctrl+D too; Ctrl+C at an empty prompt)
  /reset         forget the conversation so far
  /tools         the tools this chat offers
  /model         the model in use
  /history       how many messages the conversation holds
Anything else is sent to the agent. Ctrl+C during a turn cancels the turn."""


class _Lines:
    """Standard input read by a daemon thread into a queue: lines typed while a turn
    runs are kept (type-ahead), and Ctrl+C at the prompt never waits for Enter."""

    def __init__(self, aio: asyncio.AbstractEventLoop) -> None:
        import threading

        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.aio = aio
        threading.Thread(target=self._read, name="teragent-stdin", daemon=True).start()

    def _read(self) -> None:
        while True:
            line = sys.stdin.readline()
            self.aio.call_soon_threadsafe(self.queue.put_nowait, line.rstrip("\n") if line
                                          else None)
            if not line:
                return

    async def next(self) -> str | None:
        return await self.queue.get()


def _slash(loop: Any, line: str, renderer: _Renderer) -> bool | None:
    """Handle a /command: ``None`` when ``line`` is not one, ``False`` to quit."""
    word = line.strip().split()[0].lower() if line.strip().startswith("/") else ""
    if not word:
        return None
    say = renderer.err.print
    if word in ("/exit", "/quit"):
        return False
    if word == "/help":
        say(CHAT_HELP, markup=False)
    elif word == "/reset":
        loop.history = []
        if hasattr(loop.session, "resume"):  # a new session; the old one stays saved
            loop.session_id, _ = loop.session.resume(None, intent="chat")
        say("[dim]conversation cleared[/dim]")
    elif word == "/tools":
        say(", ".join(loop.tools.list_tool_names()) or "(no tools)", markup=False)
    elif word == "/model":
        say(str(loop.model.name), markup=False)
    elif word == "/history":
        say(f"{len(loop.history)} message(s)")
    else:
        say(f"unknown command {word}; /help lists the commands", markup=False)
    return True


def cmd_chat(args: argparse.Namespace) -> int:
    loop = build_agent(args)
    renderer = _Renderer(loop, quiet=False, args=args)
    renderer.err.print(f"[dim]TerAgent chat with {loop.model.name}. /help lists commands; "
                       "Ctrl+C cancels a turn, or quits at an empty prompt.[/dim]")
    if loop.session_id is not None:
        renderer.err.print(f"[dim]session {loop.session_id}: {len(loop.history)} earlier "
                           "message(s) continued (--new starts afresh)[/dim]"
                           if loop.history else f"[dim]session {loop.session_id}[/dim]")

    async def go() -> None:
        lines = _Lines(asyncio.get_running_loop())
        if args.approver is not None:
            args.approver.read_line = lines.next  # answers come from the chat's input
        try:
            while True:
                renderer.err.print("you> ", end="")
                try:
                    line = await lines.next()
                except asyncio.CancelledError:  # Ctrl+C at the prompt
                    print()
                    return
                if line is None:
                    print()
                    return
                handled = _slash(loop, line, renderer)
                if handled is False:
                    return
                if handled or not line.strip():
                    continue
                try:
                    result = await _run_once(loop, line, renderer)
                    renderer.unshown_failures(result)
                    if not renderer.streamed:
                        print(result.final_text)
                except asyncio.CancelledError:
                    renderer.err.print("[yellow]turn cancelled[/yellow]")
        finally:
            await loop.close()
            await loop.model.close()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        print()
    return 0

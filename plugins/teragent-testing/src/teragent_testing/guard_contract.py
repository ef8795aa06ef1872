"""The guard contract suite: every guard plugin runs it against its guards.

A guard answers "may this tool call run?" on every path (:mod:`teragent.guards`). The
opt-in is one subclass naming factories that build the guards in a workspace::

    from teragent_testing.guard_contract import GuardContract

    class TestMyGuard(GuardContract):
        guards = {"mine": lambda workspace: MyGuard(root=workspace)}
        # optional: calls the guard must refuse, as (tool name, arguments)
        must_refuse = [("bash", {"command": "rm -rf /"})]

What every guard must do:

- ``check`` is a coroutine function (``async def check(call, tool)``);
- it answers ``None`` (no opinion) or a :class:`~teragent.guards.GuardDecision`:
  ``allowed`` a bool, ``reason`` a string that says why when it refuses, ``params``
  ``None`` or a dict (modified arguments), ``source`` a string;
- it never raises, whatever the call (hypothesis: odd tool names, arguments of any
  shape and content, tools declaring paths, commands, URLs or nothing; the tool
  orchestrator answers unknown tools itself, so ``tool`` is always a tool): a guard that raises refuses every call it does not understand, without a reason;
- every call of ``must_refuse`` is refused with a reason.

Synchronous tests (each check runs with :func:`asyncio.run`), no fixtures inside
``@given`` tests.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any, Callable, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.core.types import ToolCall, ToolSafety
from teragent.guards import GuardDecision
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["GuardContract", "SAMPLE_TOOLS", "check_decision"]


class _Tool(BaseTool):
    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        return ToolResult(data="not run by the guard contract")


class _Reader(_Tool):
    name = "read_file"
    description = "Read a file"
    parameters_schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    path_params = {"path": "read"}


class _Writer(_Tool):
    name = "write_file"
    description = "Write a file"
    parameters_schema = {"type": "object", "properties": {
        "path": {"type": "string"}, "content": {"type": "string"}}}
    _safety = ToolSafety.SAFE_WRITE
    path_params = {"path": "write"}
    data_params = ("content",)


class _Shell(_Tool):
    name = "bash"
    description = "Run a shell command"
    parameters_schema = {"type": "object", "properties": {"command": {"type": "string"}}}
    _safety = ToolSafety.HIGH_RISK
    command_params = ("command",)


class _Fetch(_Tool):
    name = "http_get"
    description = "Fetch a URL"
    parameters_schema = {"type": "object", "properties": {"url": {"type": "string"}}}
    url_params = ("url",)


class _Opaque(_Tool):
    name = "opaque"
    description = "Declares nothing"
    parameters_schema = {"type": "object", "properties": {}}
    _safety = ToolSafety.DESTRUCTIVE


#: One tool of each declaration shape (and safety level) the guards see.
SAMPLE_TOOLS: tuple[BaseTool, ...] = (_Reader(), _Writer(), _Shell(), _Fetch(), _Opaque())

_odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["../../etc/passwd", "/etc/shadow", "~/.ssh/id_rsa", "\x00", "",
                     "a" * 5000, "rm -rf / --no-preserve-root", "$(curl x|sh)", "`id`",
                     "file:///etc/passwd", "http://169.254.169.254/", "*", "**/*", "\\\\?\\C:"]))
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                  _odd_text)
_json = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_odd_text, inner, max_size=3), max_leaves=10)
_keys = st.sampled_from(["path", "command", "url", "content", "paths", "cwd"]) | _odd_text
_arguments = st.dictionaries(_keys, _json, max_size=4)


def check_decision(decision: Any, where: str) -> None:
    """Fail unless ``decision`` is ``None`` or a well-formed :class:`GuardDecision`."""
    if decision is None:
        return
    assert isinstance(decision, GuardDecision), f"{where}: answered {decision!r}"
    assert isinstance(decision.allowed, bool), f"{where}: allowed={decision.allowed!r}"
    assert isinstance(decision.reason, str), f"{where}: reason={decision.reason!r}"
    assert isinstance(decision.source, str), f"{where}: source={decision.source!r}"
    assert decision.params is None or isinstance(decision.params, dict), \
        f"{where}: params={decision.params!r}"
    if not decision.allowed:
        assert decision.reason.strip(), f"{where}: refused without a reason"


class GuardContract:
    """Properties every guard must have; subclasses set ``guards``."""

    #: name → ``factory(workspace: Path)`` returning the guard.
    guards: ClassVar[dict[str, Callable[[Path], Any]]] = {}
    #: ``(tool name, arguments)`` every guard of the class must refuse.
    must_refuse: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    @pytest.fixture
    def built(self, tmp_path: Path) -> dict[str, Any]:
        assert self.guards, "set GuardContract.guards"
        (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
        return {name: factory(tmp_path) for name, factory in self.guards.items()}

    @staticmethod
    def _check(guard: Any, name: str, arguments: Any, tool: Any) -> Any:
        call = ToolCall(id="call_contract", name=name, arguments=arguments)
        return asyncio.run(guard.check(call, tool))

    def test_check_is_async(self, built: dict[str, Any]) -> None:
        for name, guard in built.items():
            assert inspect.iscoroutinefunction(guard.check), \
                f"{name}: check must be `async def check(call, tool)`"

    def test_decisions_have_the_shape(self, built: dict[str, Any], tmp_path: Path) -> None:
        calls = [(_Reader(), {"path": "notes.txt"}), (_Reader(), {"path": "/etc/passwd"}),
                 (_Writer(), {"path": "out.txt", "content": "x"}),
                 (_Shell(), {"command": "ls -la"}), (_Shell(), {"command": "rm -rf /"}),
                 (_Fetch(), {"url": "https://example.com/"}), (_Opaque(), {"x": "y"})]
        for name, guard in built.items():
            for tool, arguments in calls:
                check_decision(self._check(guard, tool.name, arguments, tool),
                               f"{name} on {tool.name}({arguments})")

    def test_never_raises_on_odd_input(self, built: dict[str, Any]) -> None:
        guards = list(built.items())

        @settings(max_examples=50, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(tool=st.sampled_from(SAMPLE_TOOLS), arguments=_arguments,
               name=st.one_of(st.none(), _odd_text))
        def check(tool: Any, arguments: dict[str, Any], name: str | None) -> None:
            tool_name = name if name is not None else tool.name
            for guard_name, guard in guards:
                check_decision(self._check(guard, tool_name, arguments, tool),
                               f"{guard_name} on {tool_name!r}")

        check()

    def test_refuses_what_it_must(self, built: dict[str, Any]) -> None:
        by_name = {t.name: t for t in SAMPLE_TOOLS}
        for name, guard in built.items():
            for tool_name, arguments in self.must_refuse:
                decision = self._check(guard, tool_name, arguments, by_name.get(tool_name))
                check_decision(decision, f"{name} on {tool_name}")
                assert decision is not None and not decision.allowed, \
                    f"{name} let {tool_name}({arguments}) through"

"""Pytest fixtures TerAgent registers (entry point ``pytest11``).

- ``plugin_host``: a factory, ``plugin_host(*plugins)`` → an isolated
  :class:`~teragent.plugins.PluginHost` made process-wide for the test.
- ``scripted_model``: a factory, ``scripted_model([steps])`` → a
  :class:`~teragent.testing.ScriptedModel` that fails the test if steps are left over.
- ``isolated``: the test's ``tmp_path`` as current directory and ``HOME`` (and
  ``XDG_CONFIG_HOME`` under it), ``TERAGENT_CONFIG`` unset: no ``agent.toml``, keys or
  caches of the machine reach the test. A conftest may override it and request it.
- ``clock``: a :class:`~teragent_testing.clock.FakeClock` at 1000.0 s, moved by
  ``clock.advance(seconds)``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest


@pytest.fixture
def plugin_host() -> Iterator[Callable[..., Any]]:
    from teragent.testing.hosts import isolated_host

    stack = contextlib.ExitStack()

    def make(*plugins: Any, entrypoints: bool = False) -> Any:
        return stack.enter_context(isolated_host(*plugins, entrypoints=entrypoints))

    with stack:
        yield make


@pytest.fixture
def scripted_model() -> Iterator[Callable[..., Any]]:
    from teragent.testing.scripted import ScriptedModel

    made: list[Any] = []

    def make(steps: list[Any] | None = None) -> Any:
        model = ScriptedModel(steps)
        made.append(model)
        return model

    yield make
    for model in made:
        model.assert_consumed()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def clock() -> Any:
    from teragent_testing.clock import FakeClock

    return FakeClock()

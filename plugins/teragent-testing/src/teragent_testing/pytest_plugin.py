"""Pytest fixtures TerAgent registers (entry point ``pytest11``).

- ``plugin_host``: a factory, ``plugin_host(*plugins)`` → an isolated
  :class:`~teragent.plugins.PluginHost` made process-wide for the test.
- ``scripted_model``: a factory, ``scripted_model([steps])`` → a
  :class:`~teragent.testing.ScriptedModel` that fails the test if steps are left over.
"""

from __future__ import annotations

import contextlib
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

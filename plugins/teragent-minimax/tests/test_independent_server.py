"""MiniMax M3 (``minimax_m3`` compiler, ``minimax_native`` adapter, OpenAI interface)
against the independently written Chat Completions server
(``teragent_testing.independent_server``, raw sockets, not the fake MiniMax server): an
agent built by ``build_agent`` runs a tool turn and an answer, batch and streaming, in the
framings and dialects of the OpenAI variation test; then MiniMax's own dialect
(platform.minimax.io, "OpenAI API compatible"): with ``reasoning_split`` (the adapter's
default) thinking in ``reasoning_details``, sent as increments or (as the docs show it)
cumulatively; without it, a ``<think>…</think>`` block leading ``content``. Either way
the thinking is kept apart from the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teragent

from teragent_testing.independent_chat import (
    FAMILY_SUBSET, VARIATIONS, check_thinking, run_variation,
)

DIALECT = ["reasoning_details", "reasoning_details_cumulative", "think_tags"]


def _provider(url: str, reasoning_split: bool = True) -> Any:
    return teragent.create_provider(compiler="minimax_m3", adapter="minimax_native",
                                    model="MiniMax-M3", base_url=url + "/v1",
                                    timeout=10,
                                    adapter_options={"reasoning_split": reasoning_split})


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", FAMILY_SUBSET + DIALECT)
def test_agent_runs_against_the_variation(name: str, stream: bool, tmp_path: Path) -> None:
    v = VARIATIONS[name]
    split = not v.get("think_tags")
    requests = run_variation(lambda url: _provider(url, split), v, stream, tmp_path)
    assert [r.body.get("reasoning_split") for r in requests] == [split, split]


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", DIALECT + ["split_every_7_bytes"])
def test_the_thinking_is_kept_apart(name: str, stream: bool) -> None:
    v = dict(VARIATIONS[name])
    split = not v.get("think_tags")
    if split:
        v.setdefault("reasoning", "reasoning_details")
    check_thinking(lambda url: _provider(url, split), v, stream)

"""DeepSeek's models (``deepseek_v4`` compiler, ``openai_compatible`` adapter) against the
independently written Chat Completions server (``teragent_testing.independent_server``,
raw sockets, not the fake DeepSeek server): an agent built by ``build_agent`` runs a tool
turn and an answer, batch and streaming, in the framings and dialects of the OpenAI
variation test; then DeepSeek's own dialect, thinking in ``reasoning_content``
(api-docs.deepseek.com, "Thinking Mode"), kept apart from the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teragent

from teragent_testing.independent_chat import (
    FAMILY_SUBSET, VARIATIONS, check_thinking, run_variation,
)


def _provider(url: str) -> Any:
    return teragent.create_provider(compiler="deepseek_v4", adapter="openai_compatible",
                                    model="deepseek-v4-flash", base_url=url + "/v1",
                                    timeout=10)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", FAMILY_SUBSET)
def test_agent_runs_against_the_variation(name: str, stream: bool, tmp_path: Path) -> None:
    run_variation(_provider, VARIATIONS[name], stream, tmp_path)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", ["reasoning_content", "split_every_7_bytes"])
def test_reasoning_content_is_the_thinking(name: str, stream: bool) -> None:
    check_thinking(_provider, {**VARIATIONS[name], "reasoning": "reasoning_content"}, stream)

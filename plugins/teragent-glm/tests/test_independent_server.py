"""GLM (``glm_52`` compiler, ``glm_native`` adapter) against the independently written
Chat Completions server (``teragent_testing.independent_server``, raw sockets, not the
fake Zhipu server), at Zhipu's API root ``/api/paas/v4``: an agent built by
``build_agent`` runs a tool turn and an answer, batch and streaming, in the framings and
dialects of the OpenAI variation test; then Zhipu's own dialect, thinking in
``reasoning_content`` (docs.bigmodel.cn, 思考模式), kept apart from the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teragent

from teragent_testing.independent_chat import (
    FAMILY_SUBSET, VARIATIONS, check_thinking, run_variation,
)


def _provider(url: str) -> Any:
    return teragent.create_provider(compiler="glm_52", adapter="glm_native", model="glm-5.2",
                                    base_url=url + "/api/paas/v4",
                                    timeout=10)


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", FAMILY_SUBSET)
def test_agent_runs_against_the_variation(name: str, stream: bool, tmp_path: Path) -> None:
    requests = run_variation(_provider, VARIATIONS[name], stream, tmp_path)
    assert {r.path for r in requests} == {"/api/paas/v4/chat/completions"}


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("name", ["reasoning_content", "split_every_7_bytes"])
def test_reasoning_content_is_the_thinking(name: str, stream: bool) -> None:
    check_thinking(_provider, {**VARIATIONS[name], "reasoning": "reasoning_content"}, stream)

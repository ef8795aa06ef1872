"""The ``openai_compatible`` adapter: OpenAI's ``POST /chat/completions`` wire protocol.

One class serves every vendor that speaks this protocol (OpenAI, DeepSeek, GLM, MiniMax,
vLLM, llama.cpp, ...): the *compiler* decides the wording, this adapter only carries it.
The codec itself (request bodies as plain dicts, one pooled httpx client per adapter,
SSE reassembly of text, thinking and tool-call deltas, typed errors) lives in the
kernel's :mod:`teragent.core.wire.openai_chat`, because the vendor-dialect adapters in
other family plugins build on it too and must install with only the kernel.
"""

from __future__ import annotations

from typing import ClassVar

from teragent.core.wire.openai_chat import REQUEST_PARAMS, ChatCompletionsAdapter, StreamAssembler

__all__ = ["OpenAICompatibleAdapter", "StreamAssembler", "REQUEST_PARAMS"]


class OpenAICompatibleAdapter(ChatCompletionsAdapter):
    """The generic OpenAI-protocol adapter (see :class:`ChatCompletionsAdapter`)."""

    name: ClassVar[str] = "openai_compatible"

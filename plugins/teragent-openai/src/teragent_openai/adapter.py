"""The ``openai_compatible`` adapter: OpenAI's ``POST /chat/completions`` wire protocol.

One class serves every vendor that speaks this protocol (OpenAI, DeepSeek, GLM, MiniMax,
vLLM, llama.cpp, ...): the *compiler* decides the wording, this adapter only carries it.
The codec is this plugin's: :mod:`teragent_openai.chat` (request bodies, the pooled
HTTP session, typed errors) and :mod:`teragent_openai.stream` (SSE reassembly of text,
thinking and tool-call deltas); the vendor-dialect adapters of other family plugins
build on :class:`~teragent_openai.chat.ChatCompletionsAdapter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from teragent_openai.chat import REQUEST_PARAMS, ChatCompletionsAdapter

if TYPE_CHECKING:
    from teragent_openai.stream import StreamAssembler

__all__ = ["OpenAICompatibleAdapter", "ChatCompletionsAdapter", "StreamAssembler",
           "REQUEST_PARAMS"]


class OpenAICompatibleAdapter(ChatCompletionsAdapter):
    """The generic OpenAI-protocol adapter (see :class:`ChatCompletionsAdapter`)."""

    name: ClassVar[str] = "openai_compatible"


def __getattr__(name: str) -> Any:
    # StreamAssembler stays importable from here; its module (the TAP IR, pydantic)
    # loads on first use rather than with the adapter.
    if name == "StreamAssembler":
        from teragent_openai.stream import StreamAssembler

        return StreamAssembler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

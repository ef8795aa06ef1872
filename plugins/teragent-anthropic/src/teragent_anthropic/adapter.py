"""The ``anthropic_native`` adapter: Anthropic's ``POST /v1/messages`` with its SSE.

The wire codec (request conversion, SSE reassembly, usage and stop-reason mapping)
lives in the kernel's :mod:`teragent.core.wire.anthropic_messages`, shared with MiniMax's
Anthropic-compatible interface; this class fixes Anthropic's defaults.
"""

from __future__ import annotations

from typing import Any, ClassVar

from teragent.core.wire.anthropic_messages import ANTHROPIC_VERSION, MessagesAdapter

__all__ = ["AnthropicNativeAdapter"]


class AnthropicNativeAdapter(MessagesAdapter):
    """Claude over the Messages API.

    Accepts mode B prompts (``system_prompt`` + ``user_message``, as the ``anthropic``
    compiler emits) and mode A conversations in the kernel's OpenAI shape (converted:
    system → top-level ``system``, assistant ``tool_calls`` → ``tool_use`` blocks,
    ``tool`` messages → ``tool_result`` blocks in a user turn). ``extra`` may set
    ``max_tokens``, ``thinking`` (``{"type": "enabled", "budget_tokens": N}``) or
    ``thinking_budget``, ``prompt_caching``, ``temperature``, ``top_p``, ``top_k``,
    ``stop``/``stop_sequences``, ``tool_choice`` and ``metadata``.

    Args:
        base_url: Default ``https://api.anthropic.com/v1``.
        api_key: Sent as ``x-api-key``; read it from ``ANTHROPIC_API_KEY``.
        anthropic_version: Default ``2023-06-01``.
        max_tokens: Default 4096, used when ``extra`` sets none.
        thinking_budget: Extended thinking for requests that do not ask for it
            themselves (an agent's turns): the signed thinking blocks then travel in
            the conversation (``TAPResponse.to_message()`` keeps them) and go back
            with the tool results, as Anthropic requires.
        api_key_env: Named in 401/403 errors; by default the variable that holds the
            key, else ``ANTHROPIC_API_KEY``.
    """

    name: ClassVar[str] = "anthropic_native"
    default_base_url: ClassVar[str] = "https://api.anthropic.com/v1"
    default_api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"

    def __init__(self, *, api_key_env: str | None = None,
                 anthropic_version: str = ANTHROPIC_VERSION, **kwargs: Any) -> None:
        super().__init__(api_key_env=api_key_env, anthropic_version=anthropic_version,
                         **kwargs)

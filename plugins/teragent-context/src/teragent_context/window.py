"""``ContextWindow``: how much of the model's context window a conversation uses.

Estimation, per message (content, tool-call names and arguments, a small per-message
overhead for the chat template's role markers):

- with the model's tokenizer, when the provider offers one (``provider.count_tokens(text)``
  returning an ``int``; the llama.cpp plugin's models do): the exact count;
- otherwise a CJK-aware heuristic: one token per CJK character (Han, kana, Hangul, CJK
  punctuation, full-width forms: every character from U+0800 on, counted from the UTF-8
  length), one per four other characters, times a safety factor of 1.3 so the estimate
  errs high rather than letting a request overflow the API's limit.

Counts are cached per text (``str`` objects cache their own hash), so a conversation
re-estimated at every step costs one dict lookup per unchanged message.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Iterable

__all__ = ["ContextWindow", "heuristic_tokens", "DEFAULT_SAFETY_FACTOR"]

#: The documented conservative factor applied to the heuristic estimate.
DEFAULT_SAFETY_FACTOR = 1.3
#: Role markers and separators a chat template adds around each message.
MESSAGE_OVERHEAD = 4

def heuristic_tokens(text: str, safety_factor: float = DEFAULT_SAFETY_FACTOR) -> int:
    """Tokens of ``text`` by the CJK-aware heuristic, times ``safety_factor``."""
    if not text:
        return 0
    n = len(text)
    if text.isascii():
        wide = 0
    else:
        # Characters from U+0800 on (Han, kana, Hangul, CJK punctuation, full-width
        # forms; also Thai, Devanagari and symbols) take 3 UTF-8 bytes, U+10000 on
        # (emoji, rare Han) 4: the byte count beyond 2 per non-ASCII character counts
        # them (4-byte ones twice), in C, at ~1/50 of a regex's cost.
        ascii_count = len(text.encode("ascii", "ignore"))
        wide = len(text.encode("utf-8", "surrogatepass")) - 2 * n + ascii_count
    return math.ceil((wide + (n - wide) / 4) * safety_factor)


def _message_texts(message: dict[str, Any]) -> Iterable[str]:
    content = message.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):  # multimodal parts: count the text ones
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]
            elif isinstance(part, str):
                yield part
    for call in message.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            yield str(fn.get("name") or "")
            args = fn.get("arguments")
            yield args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    for key in ("reasoning_content", "name", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            yield value


class ContextWindow:
    """A token budget for one model.

    Args:
        model_token_limit: The model's context window, in tokens.
        compact_threshold: :meth:`should_compact` answers yes from this fraction of
            the limit on (default 0.8).
        safety_factor: Multiplies the heuristic estimate (default 1.3); not applied to
            counts from a real tokenizer.
        count_tokens: ``f(text) -> int | None``: the model's tokenizer (for instance
            ``provider.count_tokens``); ``None`` answers fall back to the heuristic.
        reserved_tokens: Tokens kept free for the answer and the tool schemas.

    Attributes:
        last_estimated_tokens: The result of the last :meth:`estimate`.
    """

    def __init__(self, model_token_limit: int = 128_000, *, compact_threshold: float = 0.8,
                 safety_factor: float = DEFAULT_SAFETY_FACTOR,
                 count_tokens: Callable[[str], int | None] | None = None,
                 reserved_tokens: int = 0) -> None:
        if not isinstance(model_token_limit, int) or model_token_limit <= 0:
            raise ValueError(f"model_token_limit must be a positive int, got "
                             f"{model_token_limit!r}; pass the model's context window in "
                             "tokens, e.g. ContextWindow(model_token_limit=128_000)")
        if not 0 < compact_threshold <= 1:
            raise ValueError(f"compact_threshold must be in (0, 1], got {compact_threshold!r}")
        if safety_factor < 1:
            raise ValueError(f"safety_factor must be >= 1 (it only makes estimates "
                             f"safer), got {safety_factor!r}")
        if not 0 <= reserved_tokens < model_token_limit:
            raise ValueError(f"reserved_tokens must be in [0, {model_token_limit}), got "
                             f"{reserved_tokens!r}")
        self.model_token_limit = model_token_limit
        self.compact_threshold = compact_threshold
        self.safety_factor = safety_factor
        self.reserved_tokens = reserved_tokens
        self.count_tokens = count_tokens
        self.last_estimated_tokens = 0
        self.tokenizer_used = False
        self._cache: dict[str, int] = {}

    def __repr__(self) -> str:
        return (f"ContextWindow(model_token_limit={self.model_token_limit}, "
                f"utilization={self.utilization:.2f})")

    # --- estimation ---------------------------------------------------------------------

    def text_tokens(self, text: str) -> int:
        """Tokens of one text (cached)."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        n: int | None = None
        if self.count_tokens is not None:
            try:
                n = self.count_tokens(text)
            except Exception:  # noqa: BLE001 - a broken tokenizer must not stop a run
                self.count_tokens = None
                n = None
            if n is not None:
                self.tokenizer_used = True
        if n is None:
            n = heuristic_tokens(text, self.safety_factor)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[text] = n
        return n

    def message_tokens(self, message: dict[str, Any]) -> int:
        """Tokens of one message, template overhead included."""
        return MESSAGE_OVERHEAD + sum(self.text_tokens(t) for t in _message_texts(message))

    def estimate(self, messages: Iterable[dict[str, Any]]) -> int:
        """Tokens of ``messages``; remembered as :attr:`last_estimated_tokens`."""
        total = sum(self.message_tokens(m) for m in messages)
        self.last_estimated_tokens = total
        return total

    # --- budget -------------------------------------------------------------------------

    @property
    def usable_tokens(self) -> int:
        """The limit less the reserved tokens."""
        return self.model_token_limit - self.reserved_tokens

    @property
    def threshold_tokens(self) -> int:
        """The estimate from which :meth:`should_compact` answers yes."""
        return int(self.usable_tokens * self.compact_threshold)

    @property
    def available_budget(self) -> int:
        """Tokens still free after the last estimate (never negative)."""
        return max(0, self.usable_tokens - self.last_estimated_tokens)

    @property
    def utilization(self) -> float:
        """The last estimate as a fraction of the usable tokens (may exceed 1)."""
        return self.last_estimated_tokens / self.usable_tokens

    def should_compact(self, messages: Iterable[dict[str, Any]] | None = None) -> bool:
        """Whether ``messages`` (or the last estimate) passed the compaction threshold."""
        tokens = self.estimate(messages) if messages is not None else self.last_estimated_tokens
        return tokens >= self.threshold_tokens

    def fits(self, messages: Iterable[dict[str, Any]]) -> bool:
        """Whether ``messages`` fit the usable tokens at all."""
        return self.estimate(messages) <= self.usable_tokens

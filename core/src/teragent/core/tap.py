"""TAP IR: the model-agnostic contract between user intent and a model API.

``TAPRequest`` (what the user wants) is compiled by a :class:`~teragent.core.compiler.
TAPCompiler` into a :class:`CompiledPrompt` (a vendor's prompt shape), which an
:class:`~teragent.core.adapter.TAPAdapter` sends; the answer comes back as a
:class:`TAPResponse`. TAP is an in-memory IR, not a wire protocol.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Literal, Mapping

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from teragent.core.messages import ToolCall

__all__ = ["MultimodalContent", "LongHorizonConfig", "TAPRequest", "TAPResponse", "CompiledPrompt",
           "TAPCostRecord", "CostTracker", "price_call", "estimate_tokens"]

ThinkingMode = Literal["auto", "deep", "quick", "high", "max"]


def estimate_tokens(text: str) -> int:
    """Rough token estimate: ~4 characters a token for Latin text, ~1 per CJK character."""
    if not text:
        return 0
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff")
    return cjk + max(1, (len(text) - cjk) // 4)


class MultimodalContent(BaseModel):
    """An image or a video given to a vision model, by URL or as base64 data."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    type: Literal["image_url", "video_url", "image_base64", "video_base64"]
    url: str | None = None
    data: str | None = None
    mime_type: str | None = None
    detail: str | None = None


class LongHorizonConfig(BaseModel):
    """Settings for long-running autonomous tasks."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    max_duration_hours: float = 8.0
    checkpoint_interval_minutes: float = 15.0
    evaluation_interval_steps: int = 10
    evaluation_interval_minutes: float = 30.0
    max_strategy_switches: int = 3


class TAPRequest(BaseModel):
    """A model-agnostic request.

    Example:
        ``TAPRequest(meta={"task_id": "1.1", "intent": "code_generation"},
        instruction="Implement user login module", constraints=["Python 3.10+"])``
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    meta: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    instruction: str = ""
    constraints: list[str] = Field(default_factory=list)
    output_format_hint: str | None = None
    thinking_mode: ThinkingMode | None = None
    multimodal_context: list[MultimodalContent] | None = None
    long_horizon: LongHorizonConfig | None = None
    cache_preference: Literal["auto", "aggressive", "none"] | None = None
    tools: list[dict[str, Any]] | None = None

    @property
    def intent(self) -> str:
        return str(self.meta.get("intent", "execute"))

    def estimate_prompt_tokens(self) -> int:
        """Rough token count of everything the compiler will put in the prompt."""
        parts = [self.instruction, self.output_format_hint or "", *self.constraints]
        parts += [str(v) for v in self.context.values()]
        if self.tools:
            parts += [str(t) for t in self.tools]
        return sum(estimate_tokens(p) for p in parts)


class TAPResponse(BaseModel):
    """A model's answer. ``raw_text`` is ``None`` when the API call failed.

    Attributes:
        thinking_content: The model's reasoning text, kept apart from ``raw_text``.
        refusal: Set when the model declined to answer: OpenAI's ``message.refusal``
            text, or the text of an Anthropic answer that stopped with
            ``stop_reason: "refusal"`` (``""`` when it gave none). ``None`` means no
            refusal. ``raw_text`` holds only ordinary content, so a refusal never
            passes for an answer; callers that treat an empty ``raw_text`` as "done"
            should check ``refusal`` first.
        usage_estimated: ``True`` when the server reported no token usage and the
            adapter counted it itself (see :mod:`teragent_openai.stream`).
        thinking_blocks: Signed Anthropic thinking blocks (``thinking`` /
            ``redacted_thinking``), which Anthropic wants back, unchanged, with the
            tool results that follow them.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    raw_text: str | None = ""
    usage: dict[str, int] = Field(default_factory=dict)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    cache_hit_tokens: int | None = None
    thinking_content: str | None = None
    refusal: str | None = None
    usage_estimated: bool = False
    thinking_blocks: list[dict[str, Any]] | None = None
    long_horizon_status: dict[str, Any] | None = None
    model: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return int(self.usage.get("prompt_tokens", 0))

    @property
    def completion_tokens(self) -> int:
        return int(self.usage.get("completion_tokens", 0))

    @property
    def total_tokens(self) -> int:
        return int(self.usage.get("total_tokens", self.prompt_tokens + self.completion_tokens))

    def to_message(self) -> dict[str, Any]:
        """The assistant message (OpenAI chat shape) to append to a conversation.

        What vendors need back stays on the message: the reasoning as
        ``reasoning_content`` (DeepSeek refuses a tool loop without it; GLM and MiniMax
        ask for it) and Anthropic's signed ``thinking_blocks``. Each adapter strips
        what its own API must not see, so the conversation can carry both.
        """
        msg: dict[str, Any] = {"role": "assistant", "content": self.raw_text or ""}
        if self.thinking_content:
            msg["reasoning_content"] = self.thinking_content
        if self.thinking_blocks:
            msg["thinking_blocks"] = [dict(b) for b in self.thinking_blocks]
        if self.tool_calls:
            msg["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        return msg


class CompiledPrompt(BaseModel):
    """A prompt in one vendor's shape; mode A (messages) and mode B (system+user) exclude
    each other. ``extra`` carries compiler-specific parameters for the adapter."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    messages: list[dict[str, Any]] | None = None
    system_prompt: str | None = None
    user_message: str | None = None
    tools: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _modes_exclusive(self) -> "CompiledPrompt":
        if self.messages is not None and (self.system_prompt or self.user_message):
            raise ValueError(
                "CompiledPrompt takes either messages (mode A) or system_prompt/"
                "user_message (mode B), not both; drop one of them"
            )
        return self

    @property
    def mode(self) -> str:
        if self.messages is not None:
            return "messages"
        if self.system_prompt is not None or self.user_message is not None:
            return "system_user"
        return "empty"

    def as_messages(self) -> list[dict[str, Any]]:
        """The prompt as an OpenAI-style message list, whatever its mode."""
        if self.messages is not None:
            return list(self.messages)
        out: list[dict[str, Any]] = []
        if self.system_prompt:
            out.append({"role": "system", "content": self.system_prompt})
        if self.user_message is not None:
            out.append({"role": "user", "content": self.user_message})
        return out


def price_call(price: Mapping[str, float] | None, prompt_tokens: int,
               completion_tokens: int, cache_hit_tokens: int = 0) -> tuple[float, float]:
    """``(cost, saved)`` of one call at ``price`` (``{"input", "output", "cache_hit"}``
    per million tokens): cached prompt tokens at ``cache_hit`` (else ``input``), and
    what the cache saved against ``input``. No price: ``(0.0, 0.0)``."""
    if not price:
        return 0.0, 0.0
    inp = float(price.get("input", 0.0))
    cache = float(price.get("cache_hit", inp))
    out = float(price.get("output", 0.0))
    cached = max(0, min(cache_hit_tokens, prompt_tokens))
    cost = ((prompt_tokens - cached) * inp + cached * cache + completion_tokens * out) / 1e6
    return cost, cached * (inp - cache) / 1e6


class TAPCostRecord(BaseModel):
    """The tokens and cost of one model call.

    The one cost record of TerAgent: :class:`~teragent.ModelProvider` keeps one per call,
    and the reliability plugin's monthly budget keeps the same class as its documented
    ``CostRecord``, which spells three fields its own way: ``driver_name`` for
    ``provider``, ``cost_cny`` for ``cost`` and ``cost_saved_cny`` for ``cost_saved``
    (accepted as arguments and readable as properties).
    """

    model_config = ConfigDict(defer_build=True)

    provider: str = Field(validation_alias=AliasChoices("provider", "driver_name"))
    model: str = ""
    compiler: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    latency_ms: float = 0.0
    success: bool = True
    task_id: str | None = None
    intent: str | None = None
    cost: float = Field(default=0.0, validation_alias=AliasChoices("cost", "cost_cny"))
    cost_saved: float = Field(default=0.0,
                              validation_alias=AliasChoices("cost_saved", "cost_saved_cny"))
    timestamp: float = Field(default_factory=time.time)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def driver_name(self) -> str:
        return self.provider

    @property
    def cost_cny(self) -> float:
        return self.cost

    @property
    def cost_saved_cny(self) -> float:
        return self.cost_saved

    @property
    def date_str(self) -> str:
        """The local date of the call, ``YYYY-MM-DD``."""
        return time.strftime("%Y-%m-%d", time.localtime(self.timestamp))

    @property
    def month_str(self) -> str:
        return self.date_str[:7]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TAPCostRecord":
        """From :meth:`to_dict` (or the older ``driver_name``/``cost_cny`` spelling);
        unknown keys are ignored."""
        return cls.model_validate(dict(data))


class CostTracker:
    """Collects :class:`TAPCostRecord` s and sums them by provider/model.

    Args:
        pricing: Optional ``{name: {"input": per_million, "output": per_million,
            "cache_hit": per_million}}`` keyed by provider (driver) or model name; with
            it, records that carry no cost get one (:func:`price_call`).
    """

    def __init__(self, pricing: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.pricing: dict[str, Mapping[str, float]] = dict(pricing or {})
        self.records: list[TAPCostRecord] = []

    def add(self, record: TAPCostRecord) -> TAPCostRecord:
        price = self.pricing.get(record.provider) or self.pricing.get(record.model)
        if price and not record.cost:
            record.cost, record.cost_saved = price_call(
                price, record.prompt_tokens, record.completion_tokens,
                record.cache_hit_tokens)
        self.records.append(record)
        return record

    @staticmethod
    def totals(records: Iterable[TAPCostRecord]) -> dict[str, Any]:
        """Sums over ``records``: calls, failures, tokens, cost, cost saved, latency."""
        t: dict[str, Any] = {"calls": 0, "failures": 0, "prompt_tokens": 0,
                             "completion_tokens": 0, "cache_hit_tokens": 0, "total_tokens": 0,
                             "cost": 0.0, "cost_saved": 0.0, "latency_ms": 0.0}
        for r in records:
            t["calls"] += 1
            t["failures"] += 0 if r.success else 1
            t["prompt_tokens"] += r.prompt_tokens
            t["completion_tokens"] += r.completion_tokens
            t["cache_hit_tokens"] += r.cache_hit_tokens
            t["total_tokens"] += r.total_tokens
            t["cost"] += r.cost
            t["cost_saved"] += r.cost_saved
            t["latency_ms"] += r.latency_ms
        return t

    def summary(self) -> dict[str, Any]:
        by: dict[str, list[TAPCostRecord]] = {}
        for r in self.records:
            by.setdefault(f"{r.provider}:{r.model}", []).append(r)
        return {
            "total_calls": len(self.records),
            "total_tokens": sum(r.total_tokens for r in self.records),
            "total_cost": sum(r.cost for r in self.records),
            "by_provider": {key: self.totals(records) for key, records in by.items()},
        }

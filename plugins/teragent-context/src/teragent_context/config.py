"""``ContextManagementConfig``: the ``[context]`` table of ``agent.toml``.

Documented as ``teragent.config.context_management_config``, served from here through
the kernel's :data:`teragent.moved.MOVED`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ContextManagementConfig"]


class ContextManagementConfig(BaseModel):
    """Context window limits and compaction thresholds (``[context]``).

    Every agent the composition root builds gets a ``ContextWindow`` and an
    ``AutoCompactor`` from this table (defaults when it is absent), unless
    ``enabled = false`` or the caller passes its own.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    #: Manage the context at all.
    enabled: bool = True
    #: The model's context window in tokens; default: what the provider reports
    #: (``capabilities["context_window"]``), else 128,000.
    model_token_limit: int | None = Field(default=None, gt=0)
    #: Summarise (auto-compact) from this fraction of the window on.
    compact_threshold: float = Field(default=0.8, gt=0, le=1)
    #: Trim old tool results (micro-compact, no model call) from this fraction on.
    micro_threshold: float = Field(default=0.5, gt=0, le=1)
    #: Messages kept verbatim at the end when summarising.
    retain_count: int = Field(default=8, ge=1)
    #: Summarising compactions per agent (micro compactions are free).
    max_compacts: int = Field(default=5, ge=0)
    #: Micro-compaction keeps this many latest tool results whole...
    micro_keep_results: int = Field(default=3, ge=0)
    #: ...and never trims results shorter than this many characters.
    micro_min_chars: int = Field(default=100, ge=0)
    #: Multiplies the heuristic token estimate (not a real tokenizer's count).
    safety_factor: float = Field(default=1.3, ge=1)
    #: Count with the model's tokenizer when the provider offers one.
    use_tokenizer: bool = True
    #: ``max_tokens`` of the summary call.
    summary_max_tokens: int = Field(default=512, gt=0)
    #: Tokens kept free for the answer and the tool schemas.
    reserved_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> "ContextManagementConfig":
        if self.micro_threshold > self.compact_threshold:
            raise ValueError(f"micro_threshold ({self.micro_threshold}) must not exceed "
                             f"compact_threshold ({self.compact_threshold}): trimming is "
                             "the cheaper step and comes first")
        if self.model_token_limit is not None and \
                self.reserved_tokens >= self.model_token_limit:
            raise ValueError(f"reserved_tokens ({self.reserved_tokens}) must be below "
                             f"model_token_limit ({self.model_token_limit})")
        return self

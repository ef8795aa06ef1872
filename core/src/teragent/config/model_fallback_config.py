"""``ModelFallbackConfig``: which driver takes over when the model keeps failing
(``[model_fallback]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ModelFallbackConfig"]


class ModelFallbackConfig(BaseModel):
    """The ``[model_fallback]`` table of ``agent.toml``::

        [model_fallback]
        driver = "openai_compatible.deepseek_v4_flash"     # one fallback
        # or a chain, tried in order:
        chain = ["openai_compatible.glm_5", "openai_compatible.deepseek_v4_flash"]

    Every name is a ``[drivers.<adapter>.<identity>]`` of the same file.
    :func:`teragent.build_agent` builds those providers and links them with
    ``provider.set_fallback``: the agent's model falls back to the first, the first to
    the second, and so on. The recovery manager switches after its retries are spent.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    driver: str | None = None
    chain: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way(self) -> "ModelFallbackConfig":
        if self.driver and self.chain:
            raise ValueError("give driver = \"...\" or chain = [...], not both")
        if len(set(self.drivers)) != len(self.drivers):
            raise ValueError("a driver is listed twice in chain; list each once")
        return self

    @property
    def drivers(self) -> list[str]:
        """The fallback drivers in the order they are tried."""
        return [self.driver] if self.driver else list(self.chain)

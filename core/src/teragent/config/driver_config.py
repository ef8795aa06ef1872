"""``DriverConfig``: one model driver (compiler + adapter + model + where its key is)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DriverConfig"]


class DriverConfig(BaseModel):
    """One ``[drivers.<adapter>.<identity>]`` table of ``agent.toml``.

    The API key is never stored here: ``api_key_env`` names the environment variable
    (or ``.env`` entry) that holds it.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    adapter: str
    identity: str = "default"
    model: str = ""
    compiler: str = "default"
    compiler_variant: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = 120.0
    transport: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("api_key"):
            raise ValueError(
                "'api_key' must not be written in configuration; put the key in an "
                "environment variable or .env file and name it with api_key_env = \"VAR\""
            )
        return data

    @property
    def name(self) -> str:
        """``"<adapter>.<identity>"``, the name routing tables use."""
        return f"{self.adapter}.{self.identity}"

    def to_create_provider_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`teragent.create_provider`."""
        kwargs: dict[str, Any] = {
            "compiler": self.compiler, "adapter": self.adapter, "model": self.model,
            "base_url": self.base_url, "api_key_env": self.api_key_env,
            "timeout": self.timeout, "name": self.name,
        }
        if self.compiler_variant:
            kwargs["compiler_options"] = {"variant": self.compiler_variant}
        if self.transport:
            kwargs["transport"] = self.transport
        extra = dict(self.model_extra or {})
        extra.update(self.options)
        if extra:
            kwargs["adapter_options"] = extra
        return kwargs

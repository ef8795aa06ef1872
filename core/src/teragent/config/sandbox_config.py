"""``SandboxConfig``: the ``[sandbox]`` table of ``agent.toml``."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SandboxConfig"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SandboxConfig(BaseModel):
    """How sandboxed commands (the ``bash`` tool, :func:`teragent.security.
    execute_in_sandbox`) are run.

    ``env`` names host environment variables passed to the command on top of the small
    documented set (:data:`teragent.security.sandbox.ENV_ALLOWED`); every other variable
    is dropped, whatever it is called. ``backend`` pins the backend of the ``bash`` tool
    (default: the strongest that runs here, see ``teragent sandbox``).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Extra variable names the command may inherit from the agent's environment.
    env: list[str] = Field(default_factory=list)
    #: Backend name for the ``bash`` tool; ``None``: chosen from what runs here.
    backend: str | None = None

    @field_validator("env")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _NAME.match(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an environment variable name (letters, "
                             "digits and _; not starting with a digit)")
        return value

"""``MemoryConfig``: the ``[memory]`` table of ``agent.toml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MemoryConfig"]


class MemoryConfig(BaseModel):
    """Where the memory notes live and how they are searched (``[memory]``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    #: The notes' folder, relative to the workspace (markdown files).
    dir: str = ".agent/memory"
    #: ``auto``: hybrid when an embedder plugin is installed, else ``fts``.
    search: Literal["auto", "fts", "semantic", "hybrid"] = "auto"
    #: The embedder (``teragent_register_embedders``) for semantic search; default:
    #: the first one installed.
    embedder: str | None = None
    #: Results ``memory_search`` returns unless asked for another number.
    max_results: int = Field(default=5, ge=1, le=50)
    #: Index the project's ``.agent.md`` with the notes.
    include_agent_md: bool = True

    @field_validator("dir")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value.strip() or value.startswith(("/", "~")) or ".." in value.split("/"):
            raise ValueError(f"dir must be a folder inside the workspace, e.g. "
                             f"'.agent/memory', not {value!r}")
        return value.strip().rstrip("/")

"""``FileSafetyConfig``: limits of the write tools (``[file_safety]``; documented as
``teragent.config.file_safety_config``)::

    [file_safety]
    max_write_bytes = 2_000_000
    max_edit_bytes = 1_000_000
    create_directories = false

``write_file`` and ``edit_file`` (:mod:`teragent_tools.files`) read it when the agent
is built; every write goes through :func:`teragent_tools.file_safety.replace_atomically`
(atomic, fsync'd) whatever the table says.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FileSafetyConfig"]


class FileSafetyConfig(BaseModel):
    """What the write tools may write."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    #: ``write_file`` and ``edit_file`` refuse to write more bytes than this.
    max_write_bytes: int = Field(default=10_000_000, ge=1)
    #: ``edit_file`` refuses files larger than this.
    max_edit_bytes: int = Field(default=5_000_000, ge=1)
    #: ``write_file`` may create missing parent directories.
    create_directories: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> "FileSafetyConfig":
        """The ``[file_safety]`` table of a loaded ``agent.toml`` (defaults if absent)."""
        from teragent.config.loader import table_defaults

        table = dict((config or {}).get("file_safety") or {})
        return cls.model_validate(table) if table else table_defaults(cls)

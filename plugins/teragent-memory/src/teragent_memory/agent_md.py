"""``.agent.md``: the project's persistent memory, one markdown file at its root.

``load_agent_md()`` reads it (``""`` when there is none); ``save_agent_md(text)``
replaces it atomically (a crash leaves the old or the new file, never half of one).
The memory tools index it with the notes, so ``memory_search`` finds what it says.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AGENT_MD", "agent_md_path", "load_agent_md", "save_agent_md"]

AGENT_MD = ".agent.md"


def agent_md_path(directory: str | os.PathLike[str] | None = None) -> Path:
    """The ``.agent.md`` of ``directory`` (default: the current directory)."""
    return Path(directory if directory is not None else os.getcwd()) / AGENT_MD


def load_agent_md(directory: str | os.PathLike[str] | None = None) -> str:
    """The project memory of ``directory`` (default: the current one); ``""`` if the
    project has none yet."""
    try:
        return agent_md_path(directory).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def save_agent_md(content: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Replace the project memory of ``directory`` with ``content``; returns its path."""
    if not isinstance(content, str):
        raise TypeError(f"save_agent_md takes the markdown text (str), not "
                        f"{type(content).__name__}")
    from teragent_tools.file_safety import replace_atomically

    path = agent_md_path(directory)
    replace_atomically(path, content if content.endswith("\n") or not content
                       else content + "\n")
    return path

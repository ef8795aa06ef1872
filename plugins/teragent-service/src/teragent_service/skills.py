"""Skills: folders holding a ``SKILL.md`` with front matter (``name``, ``description``)
and instructions. Progressive disclosure: the model sees names and descriptions
(``list_skills``) and loads a skill's body only when it needs it (``read_skill``).

Skills come from the service's shared folder (``--skills-dir``) and from the user's own
folder (``POST /api/skills``); a user's skill of the same name wins for that user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from teragent.core.types import ToolSafety
from teragent.errors import UserError
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["Skill", "SkillLibrary", "parse_skill", "ListSkillsTool", "ReadSkillTool"]

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_SKILL_BYTES = 256 * 1024


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    body: str
    source: str
    path: Path

    def summary(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description, "source": self.source}


def parse_skill(text: str, where: str) -> tuple[dict[str, str], str]:
    """``(front matter, body)`` of a SKILL.md; raises :class:`UserError` naming the
    problem and the fix."""
    if not text.startswith("---"):
        raise UserError(f"{where}: a SKILL.md starts with front matter: '---', "
                        "'name: my-skill', 'description: when to use it', '---'.")
    end = text.find("\n---", 3)
    if end < 0:
        raise UserError(f"{where}: the front matter is not closed; end it with a line "
                        "'---'.")
    meta: dict[str, str] = {}
    for n, line in enumerate(text[3:end].splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise UserError(f"{where}: front matter line {n + 1} is not 'key: value'.")
        meta[key.strip()] = value.strip().strip("'\"")
    for key in ("name", "description"):
        if not meta.get(key):
            raise UserError(f"{where}: the front matter has no {key!r}; add "
                            f"'{key}: ...'.")
    if not NAME.match(meta["name"]):
        raise UserError(f"{where}: skill name {meta['name']!r} must be lower-case letters, "
                        "digits and '-' (at most 64), e.g. 'code-review'.")
    body = text[end + 4:].lstrip("\n")
    return meta, body


class SkillLibrary:
    """The skills one user sees: ``folders`` in order of increasing precedence."""

    def __init__(self, folders: list[tuple[str, Path]]) -> None:
        self.folders = folders

    def skills(self) -> dict[str, Skill]:
        found: dict[str, Skill] = {}
        for source, folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*/SKILL.md")):
                try:
                    if path.stat().st_size > MAX_SKILL_BYTES:
                        continue
                    meta, body = parse_skill(path.read_text(encoding="utf-8"), str(path))
                except (UserError, OSError, UnicodeDecodeError):
                    continue  # a broken skill is left out, not fatal
                found[meta["name"]] = Skill(meta["name"], meta["description"], body,
                                            source, path)
        return found

    def add(self, folder: Path, text: str) -> Skill:
        """Save an uploaded SKILL.md into ``folder`` (the user's own)."""
        if len(text.encode("utf-8")) > MAX_SKILL_BYTES:
            raise UserError(f"the skill is larger than {MAX_SKILL_BYTES} bytes; shorten it.")
        meta, body = parse_skill(text, "the uploaded SKILL.md")
        target = folder / meta["name"] / "SKILL.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        return Skill(meta["name"], meta["description"], body, "user", target)


class ListSkillsTool(BaseTool):
    name: ClassVar[str] = "list_skills"
    description: ClassVar[str] = (
        "List the skills available to you: each has a name and a one-line description "
        "of when to use it. Call read_skill to load a skill's instructions before "
        "following it.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {}, "additionalProperties": False}
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        skills = self.library.skills()
        if not skills:
            return ToolResult(success=True, data="No skills are installed.")
        lines = [f"- {s.name}: {s.description}" for s in skills.values()]
        return ToolResult(success=True, data="\n".join(lines), safety=self.safety)


class ReadSkillTool(BaseTool):
    name: ClassVar[str] = "read_skill"
    description: ClassVar[str] = (
        "Load the full instructions of a skill by name (see list_skills).")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "The skill's name."}},
        "required": ["name"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("name",)
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        skills = self.library.skills()
        skill = skills.get(str(params["name"]).strip())
        if skill is None:
            names = ", ".join(skills) or "(none)"
            return ToolResult(success=False, error=f"No skill {params['name']!r}. "
                              f"Available: {names}.", safety=self.safety)
        return ToolResult(success=True, data=f"# Skill: {skill.name}\n\n{skill.body}",
                          safety=self.safety)

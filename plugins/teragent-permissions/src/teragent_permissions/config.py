"""``PermissionConfig``: the ``[permission]`` table (documented as
``teragent.config.permission_config``)::

    [permission]
    mode = "plan"
    default_effect = "deny"
    rules = { allow = ["read_file:*"], deny = ["*:**/.env*"], ask = ["bash:*"] }

or ``rules`` as an array of tables ``{effect, tool, path, description, safety}``.
:meth:`~teragent_permissions.manager.EnhancedPermissionManager.load_from_config`
validates the table with it; ``teragent_register_config_tables`` registers it so
``agent.toml`` is checked when it is loaded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PermissionConfig", "RuleLists", "RuleTable"]

Effect = Literal["allow", "deny", "ask"]


class RuleLists(BaseModel):
    """``rules = {allow = [...], deny = [...], ask = [...]}`` of ``"tool:path"`` strings."""

    model_config = ConfigDict(extra="forbid")

    allow: list[str] | str = Field(default_factory=list)
    deny: list[str] | str = Field(default_factory=list)
    ask: list[str] | str = Field(default_factory=list)

    def items(self, effect: str) -> list[str]:
        value = getattr(self, effect)
        return [value] if isinstance(value, str) else list(value)


class RuleTable(BaseModel):
    """One rule of ``rules = [{effect = "deny", tool = "bash", path = "..."}]``."""

    model_config = ConfigDict(extra="forbid")

    effect: Effect = "deny"
    tool: str | None = None
    tool_pattern: str | None = None
    path: str | None = None
    path_pattern: str | None = None
    description: str = ""
    #: Tool safety classes the rule applies to (``read_only``, ``safe_write``, ...).
    safety: list[str] = Field(default_factory=list)

    @field_validator("effect", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class PermissionConfig(BaseModel):
    """The permission mode, the default effect and the rules of ``[permission]``."""

    model_config = ConfigDict(extra="forbid")

    #: The permission level: ``default``, ``plan``, ``accept_edits``, ``auto``,
    #: ``bypass`` or ``custom``.
    mode: str | None = None
    #: What a call no rule decides gets.
    default_effect: Effect | None = None
    rules: RuleLists | list[RuleTable] = Field(default_factory=RuleLists)

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from teragent_permissions.rules import PermissionLevel

        return PermissionLevel.parse(value).value

    @field_validator("default_effect", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

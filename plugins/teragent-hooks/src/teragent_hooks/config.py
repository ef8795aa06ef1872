"""``HooksConfig``: hooks declared in ``agent.toml``.

Each ``[[hooks]]`` table is one hook::

    [[hooks]]
    type = "audit"                  # the audit trail (post_execute + execute_denied)
    path = ".teragent/audit.jsonl"  # relative paths are taken from the workspace

    [[hooks]]
    type = "dangerous_command"      # shell commands through every registered checker

    [[hooks]]
    type = "shell"
    event = "pre_execute"
    matcher = "write_*"             # tool-name glob
    command = "./scripts/check-write.sh"
    timeout = 10

    [[hooks]]
    type = "python"
    event = "post_execute"
    callable = "my_pkg.hooks:notify"
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from teragent.audit import DEFAULT_AUDIT_LOG, audit_log_path
from teragent.errors import ConfigError

__all__ = ["HookConfig", "HooksConfig"]

HookType = Literal["shell", "python", "audit", "dangerous_command"]
HookEvent = Literal["pre_execute", "post_execute", "execute_denied"]


class HookConfig(BaseModel):
    """One ``[[hooks]]`` table."""

    model_config = ConfigDict(extra="forbid")

    type: HookType = "shell"
    #: ``None``: the events the hook type handles by default.
    event: HookEvent | None = None
    name: str | None = None
    matcher: str = "*"
    timeout: float = Field(default=30.0, gt=0)
    fail_open: bool = False
    #: ``shell``: the command (string for the shell, list for argv).
    command: str | list[str] | None = None
    #: ``python``: ``"package.module:function"``.
    callable: str | None = None
    #: ``audit``: the JSONL file.
    path: str | None = None
    #: ``audit``: fsync every line.
    fsync: bool = False
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self) -> HookConfig:
        if self.type == "shell" and not self.command:
            raise ValueError("a shell hook needs command = \"...\"")
        if self.type == "python" and not self.callable:
            raise ValueError("a python hook needs callable = \"package.module:function\"")
        return self


class HooksConfig(BaseModel):
    """Every hook from ``agent.toml``, plus the default audit log.

    Attributes:
        hooks: The ``[[hooks]]`` tables in file order (hooks run in this order).
        audit_log: Where the CLI writes its audit trail when no ``audit`` hook is
            configured (``[audit] path``); relative to the workspace. ``""`` disables it.
    """

    model_config = ConfigDict(extra="forbid")

    hooks: list[HookConfig] = Field(default_factory=list)
    audit_log: str = DEFAULT_AUDIT_LOG

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HooksConfig:
        """Read ``[[hooks]]`` and ``[audit]`` (:func:`teragent.audit.audit_log_path`) from
        a loaded ``agent.toml`` dict."""
        raw = config.get("hooks") or []
        if isinstance(raw, dict):  # [hooks] with a list inside: hooks = [...]
            raw = raw.get("hooks", [])
        if not isinstance(raw, list):
            raise ConfigError("must be an array of tables: write each hook as [[hooks]]",
                              key="hooks")
        kwargs: dict[str, Any] = {"hooks": [], "audit_log": audit_log_path(config)}
        for i, table in enumerate(raw):
            if not isinstance(table, dict):
                raise ConfigError("must be a table", key=f"hooks[{i}]")
            try:
                kwargs["hooks"].append(HookConfig(**table))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                raise ConfigError(msg, key=f"hooks[{i}]" + (f".{loc}" if loc else "")) from None
        return cls(**kwargs)

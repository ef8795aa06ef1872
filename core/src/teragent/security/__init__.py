"""Security checks shared by every tool: the workspace path guard."""

from teragent.security.paths import is_case_insensitive_platform, resolve_workspace_path

__all__ = ["resolve_workspace_path", "is_case_insensitive_platform"]

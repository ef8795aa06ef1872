"""Security checks shared by every tool: the workspace path guard."""

from teragent.lazy import lazy_exports
from teragent.security.paths import is_case_insensitive_platform, resolve_workspace_path

__all__ = ["resolve_workspace_path", "is_case_insensitive_platform"]

# The sandbox (loaded with the first command, not with the path guard every tool
# imports), transactional writes (the ``teragent-tools`` plugin), approvals and the
# permission manager (``teragent-permissions``), imported on first use.
_LAZY_EXPORTS = {
    "execute_in_sandbox": ("teragent.security.sandbox", None),
    "SandboxResult": ("teragent.security.sandbox", None),
    "write_files_safely": ("teragent_tools.file_safety", "teragent-tools"),
    "atomic_write_file": ("teragent_tools.file_safety", "teragent-tools"),
    "recover": ("teragent_tools.file_safety", "teragent-tools"),
    "FileReadTracker": ("teragent_tools.file_safety", "teragent-tools"),
    "ApprovalGate": ("teragent_permissions.approval", "teragent-permissions"),
    "ApprovalRequest": ("teragent_permissions.approval", "teragent-permissions"),
    "ApprovalDecision": ("teragent_permissions.approval", "teragent-permissions"),
    "ApprovalResult": ("teragent_permissions.approval", "teragent-permissions"),
    "canonical_path": ("teragent.security.paths", None),
    "EnhancedPermissionManager": ("teragent_permissions.manager", "teragent-permissions"),
    "PermissionRule": ("teragent_permissions.rules", "teragent-permissions"),
    "PermissionEffect": ("teragent_permissions.rules", "teragent-permissions"),
    "PermissionLevel": ("teragent_permissions.rules", "teragent-permissions"),
    "ModelClassifier": ("teragent_permissions.classifier", "teragent-permissions"),
    "check_command_safety": ("teragent_shellguard.checker", "teragent-shellguard"),
}
__all__ += sorted(_LAZY_EXPORTS)


__getattr__ = lazy_exports(__name__, _LAZY_EXPORTS, globals())

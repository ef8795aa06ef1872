"""Documented import paths whose code lives in plugins.

The seeds document paths such as ``teragent.core.adapters.minimax_native`` and
``teragent.reliability``. The code behind them ships in separately installed plugins,
and the kernel must not import a plugin at import time. So the kernel keeps only this
table: *documented module → (module that provides it, distribution)*. A meta-path finder
installed by ``import teragent`` resolves a listed name on first import:

- the plugin is installed: the documented name becomes an alias of the plugin's module
  (``sys.modules`` holds the same module object under both names, so classes are
  identical and ``isinstance`` works across the two spellings);
- it is not: :class:`~teragent.errors.MissingPluginImportError`, which is both a
  ``ModuleNotFoundError`` (so ``pkgutil.walk_packages`` and ``try/except ImportError``
  behave) and a :class:`~teragent.errors.MissingPluginError` naming
  ``pip install <distribution>``.

A prefix entry (``"teragent.reliability."``) maps every submodule too. A name listed
here must not also exist as a file in the kernel: the finder is consulted first.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from types import ModuleType

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~6 ms
if TYPE_CHECKING:  # pragma: no cover
    from typing import Sequence

__all__ = ["MOVED", "install", "providing_module"]

#: documented module → (providing module, distribution). Keys ending in "." are
#: prefixes: ``teragent.x.<sub>`` → ``<target>.<sub>``.
MOVED: dict[str, tuple[str, str]] = {
    "teragent.core.adapters.openai_compatible": ("teragent_openai.adapter", "teragent-openai"),
    "teragent.core.adapters.anthropic_native": ("teragent_anthropic.adapter",
                                                "teragent-anthropic"),
    "teragent.core.adapters.glm_native": ("teragent_glm.adapter", "teragent-glm"),
    "teragent.core.adapters.minimax_native": ("teragent_minimax.adapter", "teragent-minimax"),
    "teragent.core.compilers.anthropic": ("teragent_anthropic.compiler", "teragent-anthropic"),
    "teragent.core.compilers.deepseek": ("teragent_deepseek.compilers", "teragent-deepseek"),
    "teragent.core.compilers.deepseek_v4": ("teragent_deepseek.compilers",
                                            "teragent-deepseek"),
    "teragent.core.compilers.glm": ("teragent_glm.compilers", "teragent-glm"),
    "teragent.core.compilers.glm_5": ("teragent_glm.compilers", "teragent-glm"),
    "teragent.core.compilers.glm_52": ("teragent_glm.compilers", "teragent-glm"),
    "teragent.core.compilers.glm_5v_turbo": ("teragent_glm.compilers", "teragent-glm"),
    "teragent.core.compilers.minimax_m3": ("teragent_minimax.compiler", "teragent-minimax"),
    "teragent.hooks": ("teragent_hooks.api", "teragent-hooks"),
    "teragent.config.hooks_config": ("teragent_hooks.config", "teragent-hooks"),
    "teragent.config.api_key_security": ("teragent_doctor.keys", "teragent-doctor"),
    "teragent.streaming": ("teragent_streaming", "teragent-streaming"),
    "teragent.streaming.": ("teragent_streaming", "teragent-streaming"),
    "teragent.orchestration": ("teragent_orchestration", "teragent-orchestration"),
    "teragent.orchestration.": ("teragent_orchestration", "teragent-orchestration"),
    "teragent.config.orchestration_config": ("teragent_orchestration.orchestration_config",
                                             "teragent-orchestration"),
    "teragent.config.agent_config": ("teragent_orchestration.agent_config",
                                     "teragent-orchestration"),
    "teragent.config.permission_config": ("teragent_permissions.config",
                                          "teragent-permissions"),
    "teragent.config.file_safety_config": ("teragent_tools.file_safety_config",
                                           "teragent-tools"),
    "teragent.reliability": ("teragent_reliability", "teragent-reliability"),
    "teragent.reliability.": ("teragent_reliability", "teragent-reliability"),
    "teragent.config.circuit_breaker_config": ("teragent_reliability.config",
                                               "teragent-reliability"),
    "teragent.config.recovery_config": ("teragent_reliability.recovery_config",
                                        "teragent-reliability"),
    "teragent.session": ("teragent_sessions", "teragent-sessions"),
    "teragent.session.": ("teragent_sessions", "teragent-sessions"),
    "teragent.config.session_config": ("teragent_sessions.config", "teragent-sessions"),
    "teragent.context": ("teragent_context", "teragent-context"),
    "teragent.context.": ("teragent_context", "teragent-context"),
    "teragent.config.context_management_config": ("teragent_context.config",
                                                  "teragent-context"),
    "teragent.pipeline.extractor": ("teragent_pipeline.extractor", "teragent-pipeline"),
    "teragent.pipeline.prompt_builder": ("teragent_pipeline.prompt_builder",
                                         "teragent-pipeline"),
    "teragent.pipeline.checklist": ("teragent_pipeline.checklist", "teragent-pipeline"),
    "teragent.pipeline.tracing": ("teragent_traces.tracer", "teragent-traces"),
    "teragent.config.execution_pipeline_config": ("teragent_router.config", "teragent-router"),
    "teragent.router": ("teragent_router", "teragent-router"),
    "teragent.router.": ("teragent_router", "teragent-router"),
    "teragent.intent": ("teragent_router.intent", "teragent-router"),
    "teragent.intent.": ("teragent_router.intent", "teragent-router"),
    "teragent.config.mcp_config": ("teragent_mcp.config", "teragent-mcp"),
    "teragent.tools.desktop": ("teragent_desktop.tool", "teragent-desktop"),
    "teragent.long_horizon": ("teragent_long_horizon", "teragent-long-horizon"),
    "teragent.long_horizon.": ("teragent_long_horizon", "teragent-long-horizon"),
}


def providing_module(name: str) -> tuple[str, str] | None:
    """``(module, distribution)`` behind the documented module ``name``, if listed."""
    hit = MOVED.get(name)
    if hit is not None:
        return hit
    for key, (target, dist) in MOVED.items():
        if key.endswith(".") and name.startswith(key):
            return f"{target}.{name[len(key):]}", dist
        if key.endswith(".") and name == key[:-1]:
            return target, dist
    return None


class _AliasLoader:
    # Duck-typed importlib Loader/MetaPathFinder: importing importlib.abc costs ~15 ms.

    def __init__(self, target: str, distribution: str) -> None:
        self.target, self.distribution = target, distribution
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        try:
            module = importlib.import_module(self.target)
        except ModuleNotFoundError as exc:
            top = self.target.split(".")[0]
            if exc.name not in (top, self.target):
                raise
            from teragent.errors import MissingPluginImportError

            raise MissingPluginImportError(f"The module {spec.name!r}", self.distribution,
                                           name=spec.name) from None
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib stamped the alias spec on the shared module: give it back its own.
        if self._spec is not None:
            module.__spec__ = self._spec


class _MovedFinder:
    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("teragent."):
            return None
        hit = providing_module(fullname)
        if hit is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(*hit))  # type: ignore[arg-type]


_FINDER = _MovedFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent; ``import teragent`` does it)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)

"""The compiler seam: TAPRequest → CompiledPrompt for one model family.

Adding a model family means adding a compiler; it never touches HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["TAPCompiler", "TAPCompilerRegistry"]


class TAPCompiler(ABC):
    """Turns a :class:`TAPRequest` into a :class:`CompiledPrompt`.

    Subclasses set ``name`` and ``compiler_type`` (the prompt catalog's column) and
    implement :meth:`compile`. Constructor keyword arguments (``variant=...``) come
    from the driver configuration.
    """

    name: ClassVar[str] = ""
    compiler_type: ClassVar[str] = "default"
    #: Whether compiled prompts may carry images/video (compilers that cannot must
    #: raise IncompatiblePromptError instead of dropping them).
    supports_multimodal: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def compile(self, request: TAPRequest) -> CompiledPrompt:
        """Compile ``request``; must keep instruction, constraints and tools."""

    def get_system_prompt(self, intent: str) -> str:
        """The catalog's system prompt for ``intent`` and this compiler's type."""
        from teragent.core.prompts import get_system_prompt_for_intent

        return get_system_prompt_for_intent(intent, self.compiler_type)


class TAPCompilerRegistry:
    """Name → compiler class, filled by ``teragent_register_compilers`` hooks."""

    @staticmethod
    def get(name: str) -> type[TAPCompiler]:
        from teragent.plugins import get_host

        return get_host().registry("compilers").get(name)  # type: ignore[no-any-return]

    @staticmethod
    def create(name: str, **options: Any) -> TAPCompiler:
        return TAPCompilerRegistry.get(name)(**options)

    @staticmethod
    def register(name: str, cls: type[TAPCompiler] | str) -> None:
        from teragent.plugins import get_host

        get_host().registry("compilers").register(name, cls, plugin="(runtime)", replace=True)

    @staticmethod
    def list() -> list[str]:
        from teragent.plugins import get_host

        return get_host().registry("compilers").names()

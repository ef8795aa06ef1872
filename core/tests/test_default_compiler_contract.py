"""The kernel's ``default`` compiler passes the compiler contract suite too."""

from __future__ import annotations

from teragent.core.compilers.default import DefaultCompiler
from teragent_testing.compiler_contract import CompilerContract


class TestDefaultCompiler(CompilerContract):
    compilers = {"default": DefaultCompiler}

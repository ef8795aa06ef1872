"""The compiler contract suite (teragent-testing), run against this plugin's compiler.

Every compiler of the ecosystem passes the same properties: compiling never loses the
instruction, a constraint, the output format or a tool; images it cannot carry raise
instead of vanishing; conversations keep roles, order and tool-call pairs, compile
deterministically and share a prefix when their histories do (see
:mod:`teragent_testing.compiler_contract`).
"""

from __future__ import annotations

from teragent_testing.compiler_contract import CompilerContract

from {{ cookiecutter.module }}.compiler import {{ cookiecutter.__class_prefix }}Compiler


class Test{{ cookiecutter.__class_prefix }}CompilerContract(CompilerContract):
    compilers = {"{{ cookiecutter.__ident }}": {{ cookiecutter.__class_prefix }}Compiler}

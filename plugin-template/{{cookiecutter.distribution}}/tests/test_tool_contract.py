"""The tool contract suite (teragent-testing), run against this plugin's tools.

Every tool of the ecosystem passes the same checks: a valid schema, declared path,
command and URL parameters that the schema has, ``effects()`` stable and complete for
any arguments, ``validate`` that never raises, failures as typed errors (see
:mod:`teragent_testing.tool_contract`). Name each new tool here.
"""

from __future__ import annotations

from teragent_testing.tool_contract import ToolContract

from {{ cookiecutter.module }}.tools import {{ cookiecutter.__ident }}_greet


class Test{{ cookiecutter.__class_prefix }}ToolContract(ToolContract):
    tools = {"{{ cookiecutter.__ident }}_greet": lambda: {{ cookiecutter.__ident }}_greet}

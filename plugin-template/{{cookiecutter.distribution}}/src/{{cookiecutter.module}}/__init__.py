"""{{ cookiecutter.description }}

The TerAgent plugin ``{{ cookiecutter.plugin_name }}``: hookimpls only. Components are
registered as import strings, so their modules are imported on first use, not when
TerAgent discovers plugins.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register

__version__ = "0.1.0"


@hookimpl
def teragent_register_tools(register: Register) -> None:
    # A tool registered by import string is listed under the attribute's name, so keep
    # that equal to the tool's own name.
    register("{{ cookiecutter.module }}.tools:{{ cookiecutter.__ident }}_greet")
{%- if cookiecutter.kind == "adapter" %}


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("{{ cookiecutter.__ident }}", "{{ cookiecutter.module }}.adapter:{{ cookiecutter.__class_prefix }}Adapter",
             description="{{ cookiecutter.description }}")
{%- elif cookiecutter.kind == "compiler" %}


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    register("{{ cookiecutter.__ident }}", "{{ cookiecutter.module }}.compiler:{{ cookiecutter.__class_prefix }}Compiler",
             description="{{ cookiecutter.description }}")
{%- endif %}

"""The plugin's hooks validate against the kernel's specs and register its components."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import pytest
from teragent.plugins import PluginHost

import {{ cookiecutter.module }}


@pytest.fixture
def host() -> PluginHost:
    """A host holding only the kernel's built-ins and this plugin (no discovery)."""
    host = PluginHost(load_entrypoints=False)
    host.add_plugin({{ cookiecutter.module }}, name="{{ cookiecutter.plugin_name }}",
                    distribution="{{ cookiecutter.distribution }}")
    return host


def test_hooks_validate(host: PluginHost) -> None:
    record = next(r for r in host.list_plugins() if r.name == "{{ cookiecutter.plugin_name }}")
    assert record.status == "loaded"
    assert "teragent_register_tools" in record.hooks


def test_tool_is_registered(host: PluginHost) -> None:
    tools = host.registry("tools")
    assert "{{ cookiecutter.__ident }}_greet" in tools
    assert tools.entry("{{ cookiecutter.__ident }}_greet").plugin == "{{ cookiecutter.plugin_name }}"
    assert tools.get("{{ cookiecutter.__ident }}_greet").name == "{{ cookiecutter.__ident }}_greet"
{%- if cookiecutter.kind == "adapter" %}


def test_adapter_is_registered(host: PluginHost) -> None:
    from {{ cookiecutter.module }}.adapter import {{ cookiecutter.__class_prefix }}Adapter

    assert host.registry("adapters").get("{{ cookiecutter.__ident }}") is {{ cookiecutter.__class_prefix }}Adapter
{%- elif cookiecutter.kind == "compiler" %}


def test_compiler_is_registered(host: PluginHost) -> None:
    from {{ cookiecutter.module }}.compiler import {{ cookiecutter.__class_prefix }}Compiler

    assert host.registry("compilers").get("{{ cookiecutter.__ident }}") is {{ cookiecutter.__class_prefix }}Compiler
{%- endif %}


def test_entry_point_when_installed() -> None:
    try:
        dist = distribution("{{ cookiecutter.distribution }}")
    except PackageNotFoundError:
        pytest.skip("{{ cookiecutter.distribution }} is not installed (pip install -e .)")
    eps = [ep for ep in dist.entry_points if ep.group == "teragent"]
    assert [(ep.name, ep.value) for ep in eps] == [
        ("{{ cookiecutter.plugin_name }}", "{{ cookiecutter.module }}")]

"""The plugin host with plugin objects registered directly (entry-point discovery is
tested end to end in tests/test_plugin_discovery.py)."""

from __future__ import annotations

import types

import pytest

import teragent
from teragent import hookimpl
from teragent.errors import PluginError, PluginValidationError
from teragent.plugins import PluginHost
from teragent.testing.hosts import isolated_host


def make_plugin(name, **hooks):
    mod = types.ModuleType(name)
    for k, v in hooks.items():
        setattr(mod, k, hookimpl(v))
    return mod


def test_builtin_registers_through_hooks():
    host = PluginHost(load_entrypoints=False)
    assert "default" in host.registry("compilers")
    assert "mock" in host.registry("adapters")
    assert {"plugins", "version", "run", "chat"} <= set(host.registry("commands").names())
    rec = host.list_plugins()[0]
    assert rec.name == "builtin" and rec.version == teragent.__version__
    assert "teragent_register_compilers" in rec.hooks


def test_misspelled_hook_fails_loudly_naming_plugin_and_hook():
    def teragent_register_tool(register):
        pass

    host = PluginHost(load_entrypoints=False)
    with pytest.raises(PluginValidationError) as info:
        host.add_plugin(make_plugin("typo_plugin", teragent_register_tool=teragent_register_tool))
    msg = str(info.value)
    assert "typo_plugin" in msg and "teragent_register_tool" in msg
    assert "Did you mean 'teragent_register_tools'" in msg


def test_wrong_signature_is_rejected():
    def teragent_register_tools(register, extra_arg):
        pass

    host = PluginHost(load_entrypoints=False)
    with pytest.raises(PluginValidationError, match="bad_sig"):
        host.add_plugin(make_plugin("bad_sig", teragent_register_tools=teragent_register_tools))


def test_lazy_import_strings_and_errors_name_the_plugin():
    def teragent_register_adapters(register):
        register("ghost", "no_such_module.adapter:Ghost")

    with isolated_host(make_plugin("ghosty", teragent_register_adapters=teragent_register_adapters)) as host:
        assert "ghost" in host.registry("adapters")  # registered without importing
        with pytest.raises(PluginError, match="plugin 'ghosty' registered 'ghost'"):
            host.registry("adapters").get("ghost")


def test_duplicate_names_across_plugins_conflict():
    def one(register):
        register("dup", "x:y")

    host = PluginHost(load_entrypoints=False)
    host.add_plugin(make_plugin("a", teragent_register_compilers=one))
    host.add_plugin(make_plugin("b", teragent_register_compilers=one))
    with pytest.raises(PluginError, match="registered twice"):
        host.registry("compilers")


def test_late_plugin_adds_only_its_components_and_gets_config_replayed():
    seen = []

    def teragent_configure(config):
        seen.append(config["x"])

    def teragent_register_compilers(register):
        register("late", "teragent.core.compilers.default:DefaultCompiler")

    host = PluginHost(load_entrypoints=False)
    host.hook.teragent_configure.call_historic(kwargs={"config": {"x": 1}})
    assert host.registry("compilers").names() == ["default"]
    host.add_plugin(make_plugin("late", teragent_configure=teragent_configure,
                                teragent_register_compilers=teragent_register_compilers))
    assert host.registry("compilers").names() == ["default", "late"]
    assert seen == [1]


def test_a_failing_registration_is_wrapped_with_the_plugin_name():
    def teragent_register_tools(register):
        raise RuntimeError("oops")

    host = PluginHost(load_entrypoints=False)
    host.add_plugin(make_plugin("explody", teragent_register_tools=teragent_register_tools))
    with pytest.raises(PluginError, match="Plugin 'explody' failed in teragent_register_tools"):
        host.registry("tools")


def test_default_driver_resolution_first_result_wins():
    def first(config):
        return None

    def second(config):
        return {"adapter": "mock", "model": "local"}

    with isolated_host(make_plugin("p1", teragent_default_driver=first),
                       make_plugin("p2", teragent_default_driver=second)):
        p = teragent.default_provider({"drivers": {}})
        assert p.model == "local"


def test_hook_without_marker_fails_loudly():
    def teragent_register_tools(register):
        pass

    mod = types.ModuleType("unmarked")
    mod.teragent_register_tools = teragent_register_tools
    host = PluginHost(load_entrypoints=False)
    with pytest.raises(PluginValidationError, match="without @hookimpl"):
        host.add_plugin(mod)

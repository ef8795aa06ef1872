"""The plugin host with plugin objects registered directly (entry-point discovery is
tested end to end in tests/test_plugin_discovery.py)."""

from __future__ import annotations

import sys
import types

import pytest

import teragent
from teragent import hookimpl
from teragent.errors import PluginError, PluginValidationError, UnknownComponentError
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


def _widget_specs() -> types.ModuleType:
    from teragent.hookspecs import hookspec

    def teragent_register_widgets(register):
        """Registration: contribute widgets (a kind the kernel does not know)."""

    specs = types.ModuleType("widget_specs")
    specs.teragent_register_widgets = hookspec(teragent_register_widgets)
    return specs


def _widget_plugins(specs: types.ModuleType) -> tuple[types.ModuleType, types.ModuleType]:

    def teragent_add_hookspecs(add):
        add(specs)

    def teragent_register_widgets(register):
        register("knob", "teragent.core.compilers.default:DefaultCompiler")

    return (make_plugin("widget_host", teragent_add_hookspecs=teragent_add_hookspecs),
            make_plugin("widget_user", teragent_register_widgets=teragent_register_widgets))


def test_a_plugin_adds_hookspecs_and_their_registry_late_too():
    specs = _widget_specs()
    adder, user = _widget_plugins(specs)
    host = PluginHost(load_entrypoints=False)
    with pytest.raises(UnknownComponentError, match="teragent_add_hookspecs"):
        host.registry("widgets")  # collected now: the kinds added next come late
    host.add_plugin(adder)
    host.add_plugin(user)
    assert host.registry("widgets").names() == ["knob"]
    assert host.registry("widgets").entry("knob").plugin == "widget_user"
    host.add_hookspecs(specs)  # again: nothing happens
    assert host.registry("widgets").names() == ["knob"]


def test_an_implementer_may_load_before_the_plugin_adding_its_hook(monkeypatch):
    from importlib.metadata import EntryPoint

    adder, user = _widget_plugins(_widget_specs())
    for mod in (adder, user):
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    eps = [EntryPoint("a_user", "widget_user", "teragent"),  # sorted first
           EntryPoint("b_host", "widget_host", "teragent")]
    monkeypatch.setattr("teragent.plugins.entry_points", lambda group: eps)
    monkeypatch.delenv("TERAGENT_PLUGINS", raising=False)
    host = PluginHost()
    assert host.registry("widgets").names() == ["knob"]


def test_a_misspelled_added_hook_still_fails_loudly(monkeypatch):
    from importlib.metadata import EntryPoint

    adder, _ = _widget_plugins(_widget_specs())
    typo = make_plugin("widget_typo", teragent_register_widget=lambda register: None)
    for mod in (adder, typo):
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    eps = [EntryPoint("a_typo", "widget_typo", "teragent"),
           EntryPoint("b_host", "widget_host", "teragent")]
    monkeypatch.setattr("teragent.plugins.entry_points", lambda group: eps)
    monkeypatch.delenv("TERAGENT_PLUGINS", raising=False)
    with pytest.raises(PluginValidationError, match="teragent_register_widgets"):
        PluginHost()


def test_registration_goes_through_pluggy_order_and_keeps_provenance():
    """tryfirst/trylast apply to registration hooks (dispatched through pluggy), and
    each component records the plugin that registered it."""
    calls = []

    def early(register):
        calls.append("early")
        register("from_early", "x.y:Z")

    def late(register):
        calls.append("late")
        register("from_late", "x.y:Z")

    first = types.ModuleType("first_plugin")
    first.teragent_register_compilers = hookimpl(trylast=True)(late)
    second = types.ModuleType("second_plugin")
    second.teragent_register_compilers = hookimpl(tryfirst=True)(early)
    host = PluginHost(load_entrypoints=False)
    host.add_plugin(first, name="first_plugin")
    host.add_plugin(second, name="second_plugin")
    reg = host.registry("compilers")
    assert calls == ["early", "late"]
    assert reg.entry("from_early").plugin == "second_plugin"
    assert reg.entry("from_late").plugin == "first_plugin"


def test_registration_hook_wrappers_are_refused():
    def wrapping(register):
        yield

    plugin = types.ModuleType("wrapping_plugin")
    plugin.teragent_register_tools = hookimpl(wrapper=True)(wrapping)
    host = PluginHost(load_entrypoints=False)
    host.add_plugin(plugin, name="wrapping_plugin")
    with pytest.raises(PluginValidationError, match="wrapping_plugin.*wrapper"):
        host.registry("tools")

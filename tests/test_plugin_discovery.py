"""Entry-point discovery: broken, misspelled, disabled and selected plugins.

Each test builds tiny *real* distributions: a ``<name>.dist-info`` directory (METADATA
and entry_points.txt) next to the plugin module in a temporary directory put on
``sys.path``, which :mod:`importlib.metadata` discovers like an installed wheel. Then
:class:`teragent.plugins.PluginHost` is constructed directly (it discovers on
construction).

Discovery is real (``importlib.metadata.entry_points``), but its answer is filtered to
the fixture distributions: plugins installed in the shared development environment
(possibly half-installed while someone works on them) must not change these results.
The packaging test (tests/test_plugin_template.py) covers unfiltered discovery in a
clean virtualenv.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Callable, Iterator

import pytest
from teragent.errors import PluginError, PluginValidationError, UserError
from teragent.plugins import PluginHost, PluginLoadWarning, PluginRecord

GOOD = """
    from teragent import hookimpl
    from teragent.tools import tool

    @tool(name="{tool}")
    def greet(name: str) -> str:
        \"\"\"Greet someone.\"\"\"
        return "hi " + name

    @hookimpl
    def teragent_register_tools(register):
        register(greet)
"""

BROKEN = """
    import teragent_dependency_that_is_not_installed  # noqa: F401
"""

MISSPELLED = """
    from teragent import hookimpl

    @hookimpl
    def teragent_register_tool(register):
        register("never")
"""

MISSPELLED_UNDECORATED = """
    def teragent_register_tool(register):
        register("never")
"""

_ids = itertools.count()
MakePlugin = Callable[..., str]


FIXTURE_PREFIX = "teragent-fx"


@pytest.fixture(autouse=True)
def _isolated_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TERAGENT_PLUGINS", "TERAGENT_DISABLE_PLUGINS", "TERAGENT_STRICT_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    real = importlib.metadata.entry_points

    def fixture_entry_points(**params: str) -> importlib.metadata.EntryPoints:
        return importlib.metadata.EntryPoints(
            ep for ep in real(**params)
            if ep.dist is not None and ep.dist.name.startswith(FIXTURE_PREFIX))

    monkeypatch.setattr("teragent.plugins.entry_points", fixture_entry_points)


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePlugin]:
    """``make_plugin(source, version="1.2.3") -> name``: a real, discoverable distribution
    ``teragent-<name>`` whose module ``teragent_<name>`` holds ``source``, with the entry
    point ``<name>`` (or the names in ``ep_names``)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def make(source: str, version: str = "1.2.3", *, ep_names: tuple[str, ...] = (),
             **fmt: str) -> str:
        name = f"fx{next(_ids)}"
        module = f"teragent_{name}"
        (site / f"{module}.py").write_text(textwrap.dedent(source.format(**fmt)))
        info = site / f"teragent_{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: teragent-{name}\nVersion: {version}\n")
        lines = [f"{ep} = {module}" for ep in (ep_names or (name,))]
        (info / "entry_points.txt").write_text("[teragent]\n" + "\n".join(lines) + "\n")
        modules.append(module)
        return name

    yield make
    for module in modules:
        sys.modules.pop(module, None)


def records(host: PluginHost) -> dict[str, PluginRecord]:
    return {r.name: r for r in host.list_plugins()}


def test_good_plugin_loads_and_registers(make_plugin: MakePlugin) -> None:
    name = make_plugin(GOOD, tool="fx_greet")
    host = PluginHost()
    record = records(host)[name]
    assert (record.status, record.distribution, record.version, record.module) == (
        "loaded", f"teragent-{name}", "1.2.3", f"teragent_{name}")
    assert record.hooks == ["teragent_register_tools"]
    assert host.registry("tools").entry("fx_greet").plugin == name


def test_broken_plugin_is_skipped_with_a_warning(make_plugin: MakePlugin) -> None:
    good = make_plugin(GOOD, tool="fx_greet_ok")
    broken = make_plugin(BROKEN, version="0.4.2")
    with pytest.warns(PluginLoadWarning) as caught:
        host = PluginHost()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    mine = [m for m in messages if repr(broken) in m]
    assert len(mine) == 1, messages
    assert f"teragent-{broken} 0.4.2" in mine[0]
    assert "teragent_dependency_that_is_not_installed" in mine[0]
    found = records(host)
    assert found[broken].status == "failed"
    assert "ModuleNotFoundError" in found[broken].error
    # Skipping one plugin does not stop the others.
    assert found[good].status == "loaded"
    assert "fx_greet_ok" in host.registry("tools")


def _raises_plugin_error_for(broken: str) -> PluginError:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)  # strict must raise, not warn
        with pytest.raises(PluginError) as info:
            PluginHost()
    exc = info.value
    assert not isinstance(exc, PluginValidationError)
    assert (exc.plugin, exc.distribution, exc.version) == (broken, f"teragent-{broken}",
                                                           "0.4.2")
    assert f"teragent-{broken} 0.4.2" in str(exc)
    assert isinstance(exc.__cause__, ImportError)
    return exc


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_broken_plugin_is_an_error_in_strict_mode(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    broken = make_plugin(BROKEN, version="0.4.2")
    monkeypatch.setenv("TERAGENT_STRICT_PLUGINS", value)
    _raises_plugin_error_for(broken)


@pytest.mark.parametrize("value", ["0", "", "false"])
def test_strict_mode_off_values(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    broken = make_plugin(BROKEN, version="0.4.2")
    monkeypatch.setenv("TERAGENT_STRICT_PLUGINS", value)
    with pytest.warns(PluginLoadWarning, match=broken):
        host = PluginHost()
    assert records(host)[broken].status == "failed"


def test_broken_plugin_named_in_teragent_plugins_is_an_error(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    good = make_plugin(GOOD, tool="fx_greet_named")
    broken = make_plugin(BROKEN, version="0.4.2")
    monkeypatch.setenv("TERAGENT_PLUGINS", f"{good},{broken}")
    _raises_plugin_error_for(broken)


def test_strict_argument_overrides_the_environment(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = make_plugin(BROKEN, version="0.4.2")
    monkeypatch.setenv("TERAGENT_STRICT_PLUGINS", "1")
    with pytest.warns(PluginLoadWarning, match=broken):
        PluginHost(strict=False)


@pytest.mark.parametrize("source", [MISSPELLED, MISSPELLED_UNDECORATED],
                         ids=["decorated", "undecorated"])
def test_misspelled_hook_fails_validation(make_plugin: MakePlugin, source: str) -> None:
    name = make_plugin(source, version="2.0.0")
    with pytest.raises(PluginValidationError) as info:
        PluginHost()
    exc, message = info.value, str(info.value)
    assert (exc.plugin, exc.distribution, exc.version) == (name, f"teragent-{name}", "2.0.0")
    assert repr(name) in message
    assert "'teragent_register_tool'" in message
    assert "Did you mean 'teragent_register_tools'?" in message


def test_misspelled_hook_in_a_disabled_plugin_is_not_loaded(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    name = make_plugin(MISSPELLED)
    monkeypatch.setenv("TERAGENT_DISABLE_PLUGINS", name)
    assert records(PluginHost())[name].status == "disabled"


def test_disable_plugins(make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    off = make_plugin(GOOD, tool="fx_greet_off")
    on = make_plugin(GOOD, tool="fx_greet_on")
    broken = make_plugin(BROKEN)
    monkeypatch.setenv("TERAGENT_DISABLE_PLUGINS", f" {off} ,{broken}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)  # the broken one is never imported
        host = PluginHost()
    found = records(host)
    assert found[off].status == "disabled"
    assert found[off].distribution == f"teragent-{off}" and found[off].hooks == []
    assert found[broken].status == "disabled"
    assert found[on].status == "loaded"
    assert f"teragent_{off}" not in sys.modules
    assert "fx_greet_off" not in host.registry("tools")
    assert "fx_greet_on" in host.registry("tools")


def test_teragent_plugins_restricts(make_plugin: MakePlugin,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = make_plugin(GOOD, tool="fx_greet_wanted")
    other = make_plugin(GOOD, tool="fx_greet_other")
    broken = make_plugin(BROKEN)
    monkeypatch.setenv("TERAGENT_PLUGINS", wanted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)
        host = PluginHost()
    found = records(host)
    loaded = {n for n, r in found.items() if r.status == "loaded"}
    assert loaded == {"builtin", wanted}
    assert found[other].status == "not-selected"
    assert found[broken].status == "not-selected"
    assert "fx_greet_other" not in host.registry("tools")
    assert "fx_greet_wanted" in host.registry("tools")


def test_teragent_plugins_empty_loads_only_builtin(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    name = make_plugin(GOOD, tool="fx_greet_none")
    monkeypatch.setenv("TERAGENT_PLUGINS", "")
    found = records(PluginHost())
    assert {n for n, r in found.items() if r.status == "loaded"} == {"builtin"}
    assert found[name].status == "not-selected"


def test_teragent_plugins_unknown_name(make_plugin: MakePlugin,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    name = make_plugin(GOOD, tool="fx_greet_typo")
    monkeypatch.setenv("TERAGENT_PLUGINS", name + "x")
    with pytest.raises(UserError, match=f"Did you mean {name!r}"):
        PluginHost()


@pytest.mark.parametrize("env", [
    {},
    {"TERAGENT_PLUGINS": ""},
    {"TERAGENT_DISABLE_PLUGINS": "builtin"},
    {"TERAGENT_PLUGINS": "builtin"},
], ids=["default", "no-plugins", "disable-builtin", "only-builtin"])
def test_builtin_always_registers_defaults(monkeypatch: pytest.MonkeyPatch,
                                           env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    host = PluginHost()
    builtin = host.list_plugins()[0]
    assert (builtin.name, builtin.status, builtin.distribution) == (
        "builtin", "loaded", "teragent")
    assert {"teragent_register_compilers", "teragent_register_adapters"} <= set(builtin.hooks)
    compilers, adapters = host.registry("compilers"), host.registry("adapters")
    assert compilers.entry("default").plugin == "builtin"
    assert adapters.entry("mock").plugin == "builtin"
    assert compilers.get("default").__name__ == "DefaultCompiler"
    assert adapters.get("mock").__name__ == "MockAdapter"


IMPORTS_A_TERAGENT_MODULE = """
    import {helper}  # a plugin may import another plugin's package, e.g. teragent_openai
    from teragent import hookimpl

    @hookimpl
    def teragent_register_tools(register):
        pass
"""


def test_importing_a_teragent_package_is_not_a_hook(
        make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = make_plugin("VALUE = 1\n")
    name = make_plugin(IMPORTS_A_TERAGENT_MODULE, helper=f"teragent_{helper}")
    monkeypatch.setenv("TERAGENT_PLUGINS", name)
    assert records(PluginHost())[name].status == "loaded"


@pytest.mark.parametrize("ep_names", [("clash", "clash-alias"), ("builtin",)],
                         ids=["two-names-one-module", "named-builtin"])
def test_entry_point_clash_is_a_plugin_error(make_plugin: MakePlugin,
                                            ep_names: tuple[str, ...]) -> None:
    name = make_plugin(GOOD, tool="fx_greet_clash", ep_names=ep_names)
    with pytest.raises(PluginError) as info:
        PluginHost()
    assert info.value.distribution == f"teragent-{name}"

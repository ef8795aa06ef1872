"""Every hook spec follows the naming rule of docs/decisions/hook-naming.md.

The prefix of ``teragent_<verb>_<object>`` fixes the kind: ``register_`` (plain, one
``register`` argument), ``build_``/``default_`` (``firstresult``), ``observe_`` (plain,
every answer collected), ``configure``/``add_`` (``historic``). Checked for the kernel's
specs and for the spec modules first-party plugins add.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

import pytest

from teragent import hookspecs

PLUGIN_SPEC_MODULES = ["teragent_orchestration.hookspecs", "teragent_memory.hookspecs"]

#: prefix → (docstring's first word, firstresult, historic)
RULE = {
    "teragent_register_": ("Registration", False, False),
    "teragent_build_": ("Resolution", True, False),
    "teragent_default_": ("Resolution", True, False),
    "teragent_observe_": ("Notification", False, False),
    "teragent_add_": ("Configuration", False, True),
    "teragent_configure": ("Configuration", False, True),
}


def _specs(module: ModuleType) -> list[tuple[str, Any]]:
    return [(name, fn) for name, fn in vars(module).items()
            if callable(fn) and hasattr(fn, "teragent_spec")]


def check(name: str, fn: Any) -> list[str]:
    """The ways the spec ``name`` breaks the rule (empty when it follows it)."""
    prefix = next((p for p in RULE if name == p or (p.endswith("_") and name.startswith(p)
                                                    and len(name) > len(p))), None)
    if prefix is None:
        return [f"{name}: no known prefix; name it one of {', '.join(RULE)}<object> "
                "(docs/decisions/hook-naming.md)"]
    word, firstresult, historic = RULE[prefix]
    opts = fn.teragent_spec
    problems = []
    if bool(opts.get("firstresult")) != firstresult:
        problems.append(f"{name}: {prefix} hooks have firstresult={firstresult}")
    if bool(opts.get("historic")) != historic:
        problems.append(f"{name}: {prefix} hooks have historic={historic}")
    doc = inspect.getdoc(fn) or ""
    if not doc.startswith(f"{word}:"):
        problems.append(f"{name}: the docstring must start with '{word}:'")
    params = list(inspect.signature(fn).parameters)
    if prefix == "teragent_register_":
        if params != ["register"]:
            problems.append(f"{name}: a registration hook takes only `register`, not {params}")
        if not name.endswith("s"):
            problems.append(f"{name}: a registration hook names its kind in the plural")
    return problems


def test_the_check_rejects_a_spec_breaking_the_rule() -> None:
    @hookspecs.hookspec(firstresult=True)
    def teragent_register_widgets(register: Any, extra: int) -> None:
        """Resolution: wrong kind."""

    @hookspecs.hookspec
    def teragent_make_widget() -> None:
        """Resolution: unknown verb."""

    assert len(check("teragent_register_widgets", teragent_register_widgets)) == 3
    assert "no known prefix" in check("teragent_make_widget", teragent_make_widget)[0]


@pytest.mark.parametrize("module_name", ["teragent.hookspecs", *PLUGIN_SPEC_MODULES])
def test_every_spec_follows_the_naming_rule(module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        pytest.skip(f"{module_name.split('.')[0]} is not installed")
    specs = _specs(module)
    assert specs, f"{module_name} holds no hook specs"
    problems = [p for name, fn in specs for p in check(name, fn)]
    assert not problems, "\n".join(problems)

"""The plugin's own hook specs, its public namespace and its cheap discovery."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import teragent_orchestration
from teragent import hookimpl
from teragent.testing.hosts import isolated_host
from teragent_orchestration import api, hookspecs


def test_specs_leave_the_kernel_and_each_names_its_kind() -> None:
    from teragent import hookspecs as kernel

    for name in ("teragent_register_patterns", "teragent_register_guardrails"):
        assert not hasattr(kernel, name)
        doc = getattr(hookspecs, name).__doc__ or ""
        assert doc.startswith("Registration:") and "Args:" in doc and "Returns:" in doc


def test_registries_open_only_with_the_plugin() -> None:
    from teragent.errors import UnknownComponentError

    with isolated_host() as bare:
        with pytest.raises(UnknownComponentError):
            bare.registry("patterns")
    with isolated_host(teragent_orchestration) as host:
        assert host.registry("patterns").names() == [
            "conditional", "loop", "parallel", "sequential", "swarm"]
        assert host.registry("patterns").entry("swarm").plugin == "teragent_orchestration"


def test_a_pattern_plugin_registered_before_ours_still_fails_loudly() -> None:
    """Through add_plugin (one at a time) a hook needs its spec first; entry-point
    loading checks after every plugin is in (core/tests/test_plugin_host.py)."""
    from teragent.errors import PluginValidationError

    class Early:
        @hookimpl
        def teragent_register_patterns(self, register: Any) -> None:
            pass

    with pytest.raises(PluginValidationError, match="not a TerAgent hook"):
        with isolated_host(Early()):
            pass


def test_public_names_are_served_lazily_as_teragent_orchestration() -> None:
    import teragent.orchestration as documented

    assert documented is teragent_orchestration
    assert sorted(teragent_orchestration.__all__) == sorted(api.__all__)
    for name in api.__all__:
        assert getattr(documented, name) is getattr(api, name)
    with pytest.raises(AttributeError):
        teragent_orchestration.teragent_register_tools  # noqa: B018 - the host probes this


def test_discovery_does_not_import_the_runtime() -> None:
    code = ("import sys\nfrom teragent.plugins import get_host\n"
            "get_host().registry('patterns').names()\n"
            "print(sorted(m for m in sys.modules if m.startswith('teragent_orchestration')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "['teragent_orchestration', 'teragent_orchestration.hookspecs']"

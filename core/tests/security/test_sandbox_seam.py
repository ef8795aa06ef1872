"""The kernel's sandbox seam without any backend plugin: the base class is the
contract, and the level-0 backend names the plugin that provides it."""

from __future__ import annotations

import pytest
from teragent.errors import MissingPluginError
from teragent.security.sandbox import SandboxBackend, select_sandbox
from teragent.testing.hosts import isolated_host


def test_backend_base_class_is_abstract() -> None:
    with pytest.raises(TypeError):
        SandboxBackend()  # type: ignore[abstract]


def test_process_backend_names_its_plugin() -> None:
    with isolated_host():
        with pytest.raises(MissingPluginError, match="pip install teragent-sandbox-process"):
            select_sandbox(backend="process")

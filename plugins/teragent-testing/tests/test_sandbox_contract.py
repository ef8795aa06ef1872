"""The sandbox functional contract on every first-party backend installed here (each
skips, naming why, where it cannot run; the install-sandbox-deps script sets them up
in CI). Resolved through the plugin registry, as ``[sandbox] backend`` would."""

from __future__ import annotations

from typing import Any

import pytest

from teragent_testing.sandbox_contract import SandboxContract


def _registered(name: str) -> Any:
    def make() -> Any:
        from teragent.plugins import get_host

        reg = get_host().registry("sandboxes")
        if name not in reg:
            pytest.skip(f"the {name!r} sandbox plugin is not installed")
        backend = reg.get(name)
        return backend() if isinstance(backend, type) else backend
    return make


class TestProcess(SandboxContract):
    backend_factory = staticmethod(_registered("process"))


class TestLandlock(SandboxContract):
    backend_factory = staticmethod(_registered("landlock"))


class TestBwrap(SandboxContract):
    backend_factory = staticmethod(_registered("bwrap"))


class TestGVisor(SandboxContract):
    backend_factory = staticmethod(_registered("gvisor"))


class TestContainer(SandboxContract):
    backend_factory = staticmethod(_registered("container"))

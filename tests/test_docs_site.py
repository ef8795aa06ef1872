"""The documentation site builds strictly, offline, and its generated pages are current.

``mkdocs build --strict`` turns every warning (a broken link, a missing page, a
docstring mkdocstrings cannot read) into a failure. The build runs in a subprocess into
a temporary directory, with the network variables pointing nowhere, so a theme or plugin
that fetched something at build time would fail here rather than in CI.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", DOCS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agent_toml_reference_is_current() -> None:
    generator = _load("generate_config")
    _, missing = generator.collect()
    if missing:
        pytest.skip("config models not importable here (plugin not installed, or a "
                    f"registered model does not import): {'; '.join(missing)}")
    expected = generator.render()
    current = generator.OUT.read_text(encoding="utf-8")
    assert current == expected, (
        "docs/reference/agent-toml.md is stale: a configuration model changed. "
        "Regenerate it with: .venv/bin/python docs/generate_config.py")


def test_agent_toml_reference_documents_every_registered_table() -> None:
    from teragent.plugins import get_host

    host = get_host()
    kinds = [k for k in host.registration_hooks if "config" in k]
    if not kinds:
        pytest.skip("no teragent_register_config_tables hook in this kernel")
    page = (DOCS / "reference" / "agent-toml.md").read_text(encoding="utf-8")
    for kind in kinds:
        for table in host.registry(kind).names():
            assert f"[{table}]" in page, f"[{table}] is registered but not documented"


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed "
                        "(pip install -r requirements-dev.txt)")
    pytest.importorskip("material", reason="mkdocs-material is not installed")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           # Offline: any attempt to reach the network fails fast instead of passing
           # on a machine that happens to have access.
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": ""}
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    for page in ("index.html", "quickstart/index.html", "reference/agent-toml/index.html",
                 "security/permissions/index.html", "security/command-defense/index.html",
                 "sandboxes/index.html", "guides/routing/index.html", "hooks/index.html",
                 "plugins/tutorial/index.html", "api/teragent/index.html",
                 "plugins/teragent-permissions/index.html", "contrib/index.html"):
        assert (site / page).is_file(), f"{page} was not built"
    # The plugin READMEs are pages, and the included ones carry their content.
    permissions = (site / "security" / "permissions" / "index.html").read_text()
    assert "The layers" in permissions
    api = (site / "api" / "teragent" / "index.html").read_text()
    assert "build_agent" in api and "composition root" in api.lower()
    # No web fonts or other remote assets are referenced by the built pages.
    assert "fonts.googleapis.com" not in (site / "index.html").read_text()

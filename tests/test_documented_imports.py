"""Every module path the seeds (000 README, 001 API reference) document imports.

The list in ``data/documented_modules.txt`` was extracted from ``../shared/seeds`` (every
``teragent.x.y`` spelled there; a few are attributes such as
``teragent.retry_with_backoff``). Paths that other open issues build are listed in
``PENDING`` with the issue that owns them: the test fails when one of them starts to
import, so the list cannot go stale.

Paths whose code ships in a plugin (:data:`teragent.moved.MOVED`) are also imported with
that plugin made unimportable: they must raise an ImportError that names the
``pip install`` command.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

DOCUMENTED = [line.strip() for line in
              (Path(__file__).parent / "data" / "documented_modules.txt").read_text().splitlines()
              if line.strip()]

PENDING = {
}


def _resolve(path: str) -> object:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name != path:
            raise
        module, _, attr = path.rpartition(".")
        return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("path", DOCUMENTED)
def test_documented_path_imports(path: str) -> None:
    if path in PENDING:
        with pytest.raises((ImportError, AttributeError)):
            _resolve(path)
        return
    assert _resolve(path) is not None


def _moved_paths() -> list[str]:
    from teragent.moved import providing_module

    return [p for p in DOCUMENTED if providing_module(p) is not None]


@pytest.mark.parametrize("path", _moved_paths())
def test_moved_path_without_its_plugin_names_the_install_command(path: str) -> None:
    from teragent.moved import providing_module

    target, distribution = providing_module(path)  # type: ignore[misc]
    top = target.split(".")[0]
    code = (f"import sys; sys.modules[{top!r}] = None\n"
            "import teragent\n"
            "from teragent.errors import MissingPluginError\n"
            "try:\n"
            f"    __import__({path!r})\n"
            "except ImportError as exc:\n"
            "    assert isinstance(exc, MissingPluginError), type(exc)\n"
            "    print(exc)\n"
            "else:\n"
            "    raise SystemExit('imported without its plugin')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"pip install {distribution}" in out.stdout


def test_every_moved_path_is_documented_or_a_submodule_of_one() -> None:
    from teragent.moved import MOVED

    for path in MOVED:
        assert path.rstrip(".") in DOCUMENTED or any(
            d.startswith(path) for d in DOCUMENTED), path


def test_kernel_imports_no_plugin_at_import_time() -> None:
    code = ("import sys, teragent, teragent.config, teragent.security, teragent.tools, "
            "teragent.guards, teragent.compose\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('teragent_')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout

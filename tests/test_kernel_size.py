"""The kernel stays small: issue 12's targets, measured by ``scripts/kernel_size.py``.

``core/src`` holds at most 8,000 lines of code (blank lines, comments and docstrings
not counted: the rule is in the script's docstring) and no module over 500 raw lines.
New features go into plugins; a kernel change that crosses a limit fails here with the
figures and the command that reproduces them. The module limit holds for plugin source
too (``plugins/*/src``, ``contrib/*/src``): a module past it is split by responsibility.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kernel_size",
                                                  ROOT / "scripts" / "kernel_size.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("kernel_size", module)
    spec.loader.exec_module(module)
    return module


def test_the_counting_rule_drops_docstrings_comments_and_blank_lines() -> None:
    source = ('"""Module\ndocstring."""\n\n# a comment\nimport os  # counted once\n\n'
              'class A:\n    """Doc."""\n\n    def f(self) -> str:\n'
              '        """Two\n        lines."""\n        return """not a\n docstring"""\n')
    # import, class, def, and the two lines of the returned string
    assert _script().code_lines(source) == 5


def test_kernel_lines_of_code_within_target() -> None:
    ks = _script()
    total = sum(s.code_lines for s in ks.measure())
    assert total <= ks.MAX_CODE_LINES, (
        f"core/src has {total} lines of code, over the kernel's {ks.MAX_CODE_LINES}; move "
        "policy into a plugin (see `python scripts/kernel_size.py --top 20`)")


def test_no_kernel_module_over_the_size_limit() -> None:
    ks = _script()
    over = [f"{s.path.relative_to(ks.KERNEL)} ({s.raw_lines} lines)" for s in ks.measure()
            if s.raw_lines > ks.MAX_MODULE_LINES]
    assert not over, (f"kernel modules over {ks.MAX_MODULE_LINES} lines: {', '.join(over)}; "
                      "split them (see `python scripts/kernel_size.py`)")


def _plugin_modules_over(root: Path) -> list[str]:
    """Every module under ``root``'s ``plugins/*/src`` and ``contrib/*/src`` past the
    module limit, as ``path (N lines)`` relative to ``root``."""
    ks = _script()
    sources = sorted(p for pattern in ("plugins/*/src", "contrib/*/src")
                     for p in root.glob(pattern))
    return [f"{s.path.relative_to(root)} ({s.raw_lines} lines)" for src in sources
            for s in ks.measure(src) if s.raw_lines > ks.MAX_MODULE_LINES]


def test_no_plugin_module_over_the_size_limit() -> None:
    over = _plugin_modules_over(ROOT)
    assert not over, (f"plugin modules over {_script().MAX_MODULE_LINES} lines: "
                      f"{', '.join(over)}; split them by responsibility (see `python "
                      "scripts/kernel_size.py --root plugins/<name>/src`)")


def test_the_plugin_check_names_a_module_one_line_over(tmp_path: Path) -> None:
    limit = _script().MAX_MODULE_LINES
    package = tmp_path / "plugins" / "teragent-big" / "src" / "teragent_big"
    package.mkdir(parents=True)
    (package / "fits.py").write_text("x = 1\n" * limit)
    (package / "big.py").write_text("x = 1\n" * (limit + 1))
    contrib = tmp_path / "contrib" / "teragent-pack" / "src" / "teragent_pack"
    contrib.mkdir(parents=True)
    (contrib / "tools.py").write_text("x = 1\n" * (limit + 2))
    assert _plugin_modules_over(tmp_path) == [
        f"contrib/teragent-pack/src/teragent_pack/tools.py ({limit + 2} lines)",
        f"plugins/teragent-big/src/teragent_big/big.py ({limit + 1} lines)"]

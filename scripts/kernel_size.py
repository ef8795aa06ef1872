"""Measure the kernel (``core/src``): lines of code and modules over the size limit.

The counting rule, so the figure can be reproduced and compared across commits:

- **Lines of code** are the physical lines of every ``*.py`` file under ``core/src``
  that hold at least one token other than a comment, a newline or indentation, and
  are not part of a docstring. A docstring is a string-literal expression statement
  that comes first in a module, class or function body (found with :mod:`ast`); all
  its lines are dropped. Blank lines and comment-only lines are dropped. A line with
  code and a trailing comment counts once.
- **Module size** is the raw line count of a file (every line, as ``wc -l`` counts).
  A module over :data:`MAX_MODULE_LINES` is listed.

Targets (issue 12, "A minimal kernel"): at most :data:`MAX_CODE_LINES` lines of code,
no module over :data:`MAX_MODULE_LINES` lines. ``tests/test_kernel_size.py`` enforces
both.

Usage::

    python scripts/kernel_size.py            # totals and the modules over the limit
    python scripts/kernel_size.py --top 20   # also the 20 largest modules by code lines
    python scripts/kernel_size.py --check    # exit status 1 when a target is missed
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

MAX_CODE_LINES = 8000
MAX_MODULE_LINES = 500
KERNEL = Path(__file__).resolve().parents[1] / "core" / "src"

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
         tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING}


@dataclass(frozen=True)
class ModuleSize:
    path: Path
    raw_lines: int
    code_lines: int


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                end = first.end_lineno or first.lineno
                lines.update(range(first.lineno, end + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines of code in ``source`` by the rule in this module's docstring."""
    docstrings = _docstring_lines(ast.parse(source))
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in _SKIP:
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstrings)


def measure(root: Path = KERNEL) -> list[ModuleSize]:
    sizes = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        sizes.append(ModuleSize(path, len(source.splitlines()), code_lines(source)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=KERNEL)
    parser.add_argument("--top", type=int, default=0, help="list the N largest modules")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    sizes = measure(args.root)
    total = sum(s.code_lines for s in sizes)
    raw = sum(s.raw_lines for s in sizes)
    over = [s for s in sizes if s.raw_lines > MAX_MODULE_LINES]
    print(f"kernel {args.root}: {len(sizes)} modules, {raw} raw lines, "
          f"{total} lines of code (target <= {MAX_CODE_LINES})")
    print(f"modules over {MAX_MODULE_LINES} raw lines: {len(over)}")
    for s in over:
        print(f"  {s.raw_lines:5d}  {s.path.relative_to(args.root)}")
    if args.top:
        print(f"largest {args.top} by lines of code:")
        for s in sorted(sizes, key=lambda s: -s.code_lines)[:args.top]:
            print(f"  {s.code_lines:5d} code {s.raw_lines:5d} raw  "
                  f"{s.path.relative_to(args.root)}")
    return 1 if args.check and (total > MAX_CODE_LINES or over) else 0


if __name__ == "__main__":
    sys.exit(main())

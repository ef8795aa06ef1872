"""Generate docs/hooks.md from teragent.hookspecs (a test checks it is current).

Run: .venv/bin/python docs/generate_hooks.py
"""

from __future__ import annotations

import inspect
from pathlib import Path

HERE = Path(__file__).parent


def render() -> str:
    from teragent import hookspecs

    lines = ["# Hook reference", "",
             "Generated from `core/src/teragent/hookspecs.py` by `docs/generate_hooks.py`; "
             "do not edit by hand.", "",
             inspect.cleandoc(hookspecs.__doc__ or ""), ""]
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("teragent_"):
            continue
        opts = getattr(fn, "teragent_spec", {}) or {}
        flags = [k for k in ("firstresult", "historic") if opts.get(k)]
        sig = str(inspect.signature(fn)).replace("'", "")
        lines += [f"## `{name}{sig}`", ""]
        if flags:
            lines += [f"*{', '.join(flags)}*", ""]
        lines += [inspect.cleandoc(fn.__doc__ or ""), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    (HERE / "hooks.md").write_text(render(), encoding="utf-8")
    print("wrote docs/hooks.md")

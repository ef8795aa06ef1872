from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_hook_reference_is_current():
    spec = importlib.util.spec_from_file_location("gen_hooks", ROOT / "docs" / "generate_hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8") == mod.render(), \
        "docs/hooks.md is stale: run .venv/bin/python docs/generate_hooks.py"


def test_every_hookspec_is_documented_with_its_kind():
    from teragent import hookspecs

    for name in dir(hookspecs):
        if name.startswith("teragent_"):
            doc = getattr(hookspecs, name).__doc__ or ""
            first = doc.strip().split(":")[0]
            assert first in {"Registration", "Resolution", "Configuration", "Notification"}, name
            assert "Returns:" in doc or "Returns" in doc, name

"""CodeIndexer on a small project written here: Python and JavaScript definitions,
imports and calls, incremental re-indexing, protected files skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

PY_MAIN = '''\
"""The app."""
import os
from .util import helper, Thing
from . import models


@decorated
def main(argv):
    thing = Thing()
    return helper(argv) + thing.run()


class App(models.Base):
    def start(self):
        main([])

    async def stop(self):
        self.start()
'''

PY_UTIL = '''\
def helper(x):
    return len(x)


class Thing:
    def run(self):
        return helper("abc")
'''

JS = '''\
import { fetchUser } from './api.js';
const fs = require('fs');

export function render(id) {
  return fetchUser(id).then(u => format(u));
}

const format = (user) => user.name.trim();

class View {
  show() { render(1); }
}
'''


def project(root: Path) -> Path:
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "app.py").write_text(PY_MAIN)
    (root / "pkg" / "util.py").write_text(PY_UTIL)
    (root / "pkg" / "models.py").write_text("class Base:\n    pass\n")
    (root / "web").mkdir()
    (root / "web" / "view.js").write_text(JS)
    (root / "web" / "api.js").write_text("export function fetchUser(id) { return id; }\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.js").write_text("function hidden() {}\n")
    (root / ".env.py").write_text("SECRET = 'x'\n")
    return root


def test_documented_name_and_python_structure(tmp_path: Path) -> None:
    from teragent.context import CodeIndexer

    ix = CodeIndexer(project(tmp_path))
    files = ix.index()
    assert sorted(files) == ["pkg/__init__.py", "pkg/app.py", "pkg/models.py", "pkg/util.py",
                             "web/api.js", "web/view.js"]  # node_modules, .env* skipped
    app = files["pkg/app.py"]
    assert [(s.qualname, s.kind, s.line, s.end_line) for s in app.symbols] == [
        ("main", "function", 8, 10), ("App", "class", 13, 18),
        ("App.start", "method", 14, 15), ("App.stop", "method", 17, 18)]
    assert app.imports == ["os", ".util.helper", ".util.Thing", ".models"]
    calls = {(c.caller, c.name) for c in app.calls}
    assert {("main", "Thing"), ("main", "helper"), ("main", "run"), ("App.start", "main"),
            ("App.stop", "start")} <= calls
    assert [s.path for s in ix.find("helper")] == ["pkg/util.py"]
    assert "  method start  (lines 14-15)" in ix.outline("pkg/app.py")


def test_javascript_structure(tmp_path: Path) -> None:
    from teragent_code_index.indexer import CodeIndexer

    ix = CodeIndexer(project(tmp_path))
    view = ix.index()["web/view.js"]
    assert [(s.qualname, s.kind) for s in view.symbols] == [
        ("render", "function"), ("format", "function"), ("View", "class"),
        ("View.show", "method")]
    assert view.imports == ["./api.js", "fs"]
    assert {("render", "fetchUser"), ("View.show", "render")} <= {
        (c.caller, c.name) for c in view.calls}


def test_incremental_index(tmp_path: Path) -> None:
    from teragent_code_index.indexer import CodeIndexer

    root = project(tmp_path)
    ix = CodeIndexer(root, languages=["python"])
    ix.index()
    before = ix.files["pkg/util.py"]
    assert ix.files["pkg/app.py"] is ix.index()["pkg/app.py"]  # unchanged: not re-parsed
    (root / "pkg" / "util.py").write_text(PY_UTIL + "\ndef extra():\n    pass\n")
    (root / "pkg" / "models.py").unlink()
    ix.index()
    assert ix.files["pkg/util.py"] is not before
    assert "extra" in [s.name for s in ix.files["pkg/util.py"].symbols]
    assert "pkg/models.py" not in ix.files and "web/view.js" not in ix.files


def test_syntax_errors_give_partial_results(tmp_path: Path) -> None:
    from teragent_code_index.indexer import CodeIndexer

    (tmp_path / "bad.py").write_text("def ok():\n    pass\n\ndef broken(:\n")
    fi = CodeIndexer(tmp_path).index()["bad.py"]
    assert fi.error and fi.symbols[0].name == "ok"


def test_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    from teragent.errors import UserError
    from teragent_code_index.indexer import CodeIndexer

    with pytest.raises(UserError, match="not a directory"):
        CodeIndexer(tmp_path / "missing")

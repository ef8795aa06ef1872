"""ReferenceGraph and DependencyReporter on a small project written here: imports
(absolute under src/, relative, JavaScript paths), a cycle, calls resolved through
imports, impact of a change."""

from __future__ import annotations

from pathlib import Path

import pytest


def project(root: Path) -> Path:
    pkg = root / "src" / "shop"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "money.py").write_text("def cents(x):\n    return round(x * 100)\n")
    (pkg / "orders.py").write_text(
        "from shop.money import cents\nfrom . import invoices\n\n"
        "def total(lines):\n    return sum(cents(l) for l in lines)\n\n"
        "def close(order):\n    return invoices.issue(order)\n")
    (pkg / "invoices.py").write_text(
        "from .orders import total\n\ndef issue(order):\n    return total(order)\n")
    (pkg / "report.py").write_text("import shop.orders\n\ndef daily():\n"
                                   "    return shop.orders.total([])\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_orders.py").write_text(
        "from shop.orders import total\n\ndef test_total():\n    assert total([1]) == 100\n")
    (root / "web").mkdir()
    (root / "web" / "api.js").write_text("export function get(id) { return id; }\n")
    (root / "web" / "page.js").write_text(
        "import { get } from './api';\nfunction show() { return get(1); }\n")
    return root


def test_imports_cycles_calls_and_impact(tmp_path: Path) -> None:
    from teragent.context import ReferenceGraph

    g = ReferenceGraph(str(project(tmp_path)))
    assert g.dependencies("src/shop/orders.py") == ["src/shop/invoices.py",
                                                    "src/shop/money.py"]
    assert g.dependents("src/shop/orders.py") == ["src/shop/invoices.py", "src/shop/report.py",
                                                  "tests/test_orders.py"]
    assert g.cycles() == [["src/shop/invoices.py", "src/shop/orders.py"]] or \
        g.cycles() == [["src/shop/orders.py", "src/shop/invoices.py"]]
    assert g.callers("cents") == ["src/shop/orders.py:total"]
    assert g.callers("total") == ["src/shop/invoices.py:issue", "src/shop/report.py:daily",
                                  "tests/test_orders.py:test_total"]
    assert g.callees("issue") == ["src/shop/orders.py:total"]
    assert g.impact("cents") == ["src/shop/invoices.py", "src/shop/orders.py",
                                 "src/shop/report.py", "tests/test_orders.py"]
    assert g.impact("src/shop/report.py") == []
    assert g.dependencies("web/page.js") == ["web/api.js"]
    assert g.callers("get") == ["web/page.js:show"]


def test_ambiguous_names_ask_for_the_path(tmp_path: Path) -> None:
    from teragent.errors import UserError
    from teragent_code_graph.graph import ReferenceGraph

    root = project(tmp_path)
    (root / "src" / "shop" / "tax.py").write_text("def total(x):\n    return x\n")
    g = ReferenceGraph(str(root))
    with pytest.raises(UserError, match="use path:qualname"):
        g.callers("total")
    assert g.callers("src/shop/tax.py:total") == []


def test_dependency_report(tmp_path: Path) -> None:
    from teragent.context import DependencyReporter

    text = DependencyReporter(str(project(tmp_path))).report(["src/shop/money.py"])
    assert text.startswith("# Dependency report (8 files,")
    assert "- src/shop/orders.py: imported by 3" in text
    assert "## Import cycles" in text and "invoices.py -> " in text
    assert "- imported by: src/shop/orders.py" in text
    assert "- a change may affect: src/shop/invoices.py, src/shop/orders.py" in text

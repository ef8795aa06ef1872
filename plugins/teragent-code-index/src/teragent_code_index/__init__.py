"""TerAgent plugin: ``CodeIndexer``, tree-sitter indexing of a code base.

Served through ``teragent.context`` (``from teragent.context import CodeIndexer``);
tree-sitter is imported only when a file is parsed.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CodeIndexer": "teragent_code_index.indexer",
    "Symbol": "teragent_code_index.indexer",
    "FileIndex": "teragent_code_index.indexer",
    "Call": "teragent_code_index.indexer",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("teragent_code_index", _EXPORTS, globals())

"""The hook this plugin adds (``teragent_add_hookspecs``): embedders for semantic search."""

from __future__ import annotations

from typing import Any

from teragent.hookspecs import hookspec


@hookspec
def teragent_register_embedders(register: Any) -> None:
    """Registration: contribute text embedders for semantic memory search.

    Args:
        register: ``register(name, embedder)``; ``embedder`` is a class (or import
            string) with ``name``, ``dim`` and ``embed(texts: list[str])`` returning
            one unit-length float vector per text (a list of lists or a 2-D array).

    Returns:
        Nothing.

    Called once per plugin host. The embedder must work offline (weights shipped in
    a package); it is instantiated on first search, not at registration.
    """

"""TerAgent plugin: an offline text embedder for semantic memory search.

WordLlama's wheel ships its 256-dimension static embedding (16 MB of weights) and its
tokenizer, so the embedder loads with no network and no model hub: a token lookup and
average pooling on numpy. Registered through teragent-memory's
``teragent_register_embedders`` hook; loaded on the first search.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl


@hookimpl
def teragent_register_embedders(register: Any) -> None:
    register("wordllama", "teragent_memory_wordllama.embedder:WordLlamaEmbedder",
             description="WordLlama l2_supercat 256-d static embeddings (weights in the wheel)")

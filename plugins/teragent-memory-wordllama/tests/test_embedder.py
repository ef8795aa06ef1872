"""The embedder loads from the wheel with the network cut off, through the hook."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def test_loads_offline_and_embeds(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the embedder tried to open a connection")

    from teragent_memory_wordllama import embedder as module

    monkeypatch.setattr(module, "_MODEL", None)  # load again, here, offline
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    import teragent_memory
    import teragent_memory_wordllama
    from teragent.testing.hosts import isolated_host

    with isolated_host(teragent_memory, teragent_memory_wordllama) as host:
        embedder = host.registry("embedders").get("wordllama")()
    vectors = embedder.embed(["roll back a bad deployment", "undo a broken release",
                              "the cat sat on the mat"])
    assert vectors.shape == (3, embedder.dim)
    norms = (vectors * vectors).sum(axis=1)
    assert all(abs(n - 1) < 1e-3 for n in norms)
    close, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert close > far + 0.2

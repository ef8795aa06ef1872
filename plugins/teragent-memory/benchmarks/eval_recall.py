"""Memory search quality: recall@5 of FTS5, semantic and hybrid search on the labelled
set in ``eval/`` (100 short project notes, 40 questions, one relevant note each).

    .venv/bin/python plugins/teragent-memory/benchmarks/eval_recall.py

Semantic and hybrid need an embedder plugin (teragent-memory-wordllama); without one
only FTS5 is measured. Prints one line per mode and the questions each mode missed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

EVAL = Path(__file__).resolve().parent.parent / "eval"


def load_set() -> tuple[dict[str, str], list[tuple[str, str]]]:
    notes = {}
    for line in (EVAL / "notes.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, text = (s.strip() for s in line.split("|", 1))
            notes[key] = text
    queries = []
    for line in (EVAL / "queries.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            query, key = (s.strip() for s in line.split("|", 1))
            assert key in notes, key
            queries.append((query, key))
    return notes, queries


def build(workspace: Path, notes: dict[str, str], embedder: object) -> object:
    from teragent_memory.index import MemoryIndex

    folder = workspace / ".agent" / "memory"
    folder.mkdir(parents=True)
    for key, text in notes.items():
        (folder / f"{key}.md").write_text(f"# {key.replace('-', ' ')}\n\n{text}\n",
                                          encoding="utf-8")
    index = MemoryIndex(workspace, ".agent/memory", embedder=embedder)
    index.sync()
    return index


def recall_at(index: object, queries: list[tuple[str, str]], mode: str,
              k: int = 5) -> tuple[float, list[str], float]:
    missed = []
    started = time.perf_counter()
    for query, key in queries:
        hits = index.search(query, k, mode)  # type: ignore[attr-defined]
        found = [Path(h.path).stem for h in hits]
        if key not in found:
            missed.append(f"{query!r} -> {found[:3]} (want {key})")
    per_query_ms = (time.perf_counter() - started) / len(queries) * 1000
    return 1 - len(missed) / len(queries), missed, per_query_ms


def main() -> int:
    notes, queries = load_set()
    try:
        from teragent_memory_wordllama.embedder import WordLlamaEmbedder
        embedder: object = WordLlamaEmbedder()
    except ImportError:
        embedder = None
    modes = ["fts"] + (["semantic", "hybrid"] if embedder is not None else [])
    with tempfile.TemporaryDirectory() as tmp:
        index = build(Path(tmp), notes, embedder)
        print(f"{len(notes)} notes, {len(queries)} queries; embedder: "
              f"{getattr(embedder, 'name', None)}")
        for mode in modes:
            recall, missed, ms = recall_at(index, queries, mode)
            print(f"{mode:8s} recall@5 = {recall:.3f} ({len(queries) - len(missed)}/"
                  f"{len(queries)}), {ms:.2f} ms/query")
            for line in missed:
                print("    missed:", line)
        index.close()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())

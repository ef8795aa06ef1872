"""The memory index: markdown notes cut into sections, searched offline.

- **FTS5** (always): SQLite's full-text index with BM25 ranking, Porter stemming and
  Unicode folding; the query's words are OR-ed, so a question finds notes that share
  some of its words, best-matching first.
- **semantic** (when an embedder plugin is installed): one vector per section, cosine
  similarity to the query's vector.
- **hybrid**: reciprocal-rank fusion (``1 / (60 + rank)`` summed over both lists).

The index is derived data in ``<dir>/.index.sqlite``: :meth:`MemoryIndex.sync` brings
it up to date with the files (by size and modification time), so notes edited by hand
are found too.
"""

from __future__ import annotations

import os
import re
import sqlite3
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["MemoryIndex", "Hit", "sections", "fts_query"]

INDEX_FILE = ".index.sqlite"
RRF_K = 60
_STOP = frozenset("""a an and are as at be by do does for from has have how i in is it its
of on or that the this to was we what when where which who why will with you your can
should did about into our there their them they my me""".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


@dataclass
class Hit:
    """One search result: a section of a note."""

    path: str  # workspace-relative
    heading: str
    line: int  # 1-based first line of the section
    text: str
    score: float
    source: str  # fts | semantic | hybrid

    def as_dict(self, snippet: int = 400) -> dict[str, Any]:
        text = self.text if len(self.text) <= snippet else self.text[:snippet] + " [...]"
        return {"path": self.path, "heading": self.heading, "line": self.line,
                "score": round(self.score, 4), "text": text}


def sections(text: str, max_chars: int = 1500) -> list[tuple[str, int, str]]:
    """``(heading, first line, text)`` per markdown section; long sections are cut at
    paragraph breaks."""
    out: list[tuple[str, int, str]] = []
    heading, start = "", 1
    buf: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body or heading:
            chunk, first = "", start
            for para in re.split(r"\n\s*\n", body) if body else [""]:
                if chunk and len(chunk) + len(para) > max_chars:
                    out.append((heading, first, chunk.strip()))
                    chunk = ""
                chunk += para + "\n\n"
            out.append((heading, first, chunk.strip()))

    for number, line in enumerate(lines, 1):
        m = _HEADING.match(line)
        if m:
            flush()
            heading, start, buf = m.group(2), number, []
        else:
            buf.append(line)
    flush()
    return [(h, n, t) for h, n, t in out if (h + t).strip()]


def fts_query(query: str) -> str | None:
    """An FTS5 query for free text: its words, quoted, OR-ed (stop words dropped
    unless nothing else is left)."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in _STOP] or words
    if not kept:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(kept))


def _pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"{len(vector)}f", *vector)


class MemoryIndex:
    """The index of one memory folder.

    Args:
        root: The workspace (paths in results are relative to it).
        notes_dir: The notes' folder inside it.
        extra_files: More files to index (the project's ``.agent.md``).
        embedder: An embedder (see ``teragent_register_embedders``) or ``None``.
    """

    def __init__(self, root: str | os.PathLike[str], notes_dir: str,
                 extra_files: Iterable[str] = (), embedder: Any = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.notes = self.root / notes_dir
        self.extra = [self.root / f for f in extra_files]
        self.embedder = embedder
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    # --- storage ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.notes.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.notes / INDEX_FILE, check_same_thread=False)
            db.executescript("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, size INT, mtime INT);
                CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, path TEXT,
                    heading TEXT, line INT, text TEXT, vector BLOB, model TEXT);
                CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
                CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
                    heading, text, content='chunks', content_rowid='id',
                    tokenize='porter unicode61 remove_diacritics 2');
            """)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _files(self) -> list[Path]:
        out = [p for p in self.extra if p.is_file()]
        if self.notes.is_dir():
            out.extend(sorted(p for p in self.notes.rglob("*.md") if p.is_file()))
        return out

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def sync(self) -> int:
        """Re-index files added, changed or removed since the last sync; returns how
        many files were (re)indexed."""
        with self._lock:
            db = self._conn()
            known = {p: (s, m) for p, s, m in db.execute("SELECT path, size, mtime FROM files")}
            seen: set[str] = set()
            changed: list[tuple[str, Path, int, int]] = []
            for path in self._files():
                st = path.stat()
                rel = self.rel(path)
                seen.add(rel)
                if known.get(rel) != (st.st_size, st.st_mtime_ns):
                    changed.append((rel, path, st.st_size, st.st_mtime_ns))
            gone = set(known) - seen
            for rel in gone:
                self._drop(db, rel)
            for rel, path, size, mtime in changed:
                self._drop(db, rel)
                text = path.read_text(encoding="utf-8", errors="replace")
                parts = sections(text)
                vectors = self._embed([f"{h}\n{t}" for h, _, t in parts]) if parts else []
                for i, (heading, line, body) in enumerate(parts):
                    vec = _pack(vectors[i]) if vectors else None
                    cur = db.execute(
                        "INSERT INTO chunks(path, heading, line, text, vector, model) "
                        "VALUES (?,?,?,?,?,?)", (rel, heading, line, body, vec,
                                                 self._model_name() if vec else None))
                    db.execute("INSERT INTO fts(rowid, heading, text) VALUES (?,?,?)",
                               (cur.lastrowid, heading, body))
                db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?)", (rel, size, mtime))
            if self.embedder is not None:
                self._embed_missing(db)
            db.commit()
            return len(changed) + len(gone)

    def _drop(self, db: sqlite3.Connection, rel: str) -> None:
        for rowid, heading, text in db.execute(
                "SELECT id, heading, text FROM chunks WHERE path = ?", (rel,)).fetchall():
            db.execute("INSERT INTO fts(fts, rowid, heading, text) VALUES('delete',?,?,?)",
                       (rowid, heading, text))
        db.execute("DELETE FROM chunks WHERE path = ?", (rel,))
        db.execute("DELETE FROM files WHERE path = ?", (rel,))

    def _model_name(self) -> str:
        return str(getattr(self.embedder, "name", type(self.embedder).__name__))

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if self.embedder is None or not texts:
            return []
        return [list(map(float, v)) for v in self.embedder.embed(texts)]

    def _embed_missing(self, db: sqlite3.Connection) -> None:
        """Sections indexed without (or with another model's) vectors get one now."""
        rows = db.execute("SELECT id, heading, text FROM chunks WHERE model IS NULL OR "
                          "model != ?", (self._model_name(),)).fetchall()
        if not rows:
            return
        vectors = self._embed([f"{h}\n{t}" for _, h, t in rows])
        db.executemany("UPDATE chunks SET vector = ?, model = ? WHERE id = ?",
                       [(_pack(v), self._model_name(), r[0]) for v, r in zip(vectors, rows)])

    # --- search -------------------------------------------------------------------------

    def search_fts(self, query: str, limit: int = 5) -> list[Hit]:
        q = fts_query(query)
        if q is None:
            return []
        with self._lock:
            rows = self._conn().execute(
                "SELECT c.path, c.heading, c.line, c.text, bm25(fts, 2.0, 1.0) AS rank "
                "FROM fts JOIN chunks c ON c.id = fts.rowid WHERE fts MATCH ? "
                "ORDER BY rank LIMIT ?", (q, limit)).fetchall()
        return [Hit(p, h, n, t, -float(r), "fts") for p, h, n, t, r in rows]

    def search_semantic(self, query: str, limit: int = 5) -> list[Hit]:
        if self.embedder is None:
            return []
        import numpy as np

        with self._lock:
            rows = self._conn().execute(
                "SELECT path, heading, line, text, vector FROM chunks "
                "WHERE vector IS NOT NULL").fetchall()
        if not rows:
            return []
        q = np.asarray(self._embed([query])[0], dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32).reshape(
            len(rows), -1)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
        scores = matrix @ q / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-scores)[:limit]
        return [Hit(rows[i][0], rows[i][1], rows[i][2], rows[i][3], float(scores[i]),
                    "semantic") for i in order]

    def search(self, query: str, limit: int = 5, mode: str = "auto") -> list[Hit]:
        """The best ``limit`` sections for ``query`` (``fts``, ``semantic``,
        ``hybrid``; ``auto`` is hybrid with an embedder, else fts)."""
        if mode == "auto":
            mode = "hybrid" if self.embedder is not None else "fts"
        if mode in ("semantic", "hybrid") and self.embedder is None:
            from teragent.errors import UserError

            raise UserError(f"{mode} memory search needs an embedder plugin; install one "
                            "(pip install teragent-memory-wordllama) or set [memory] "
                            "search = \"fts\"")
        if mode == "fts":
            return self.search_fts(query, limit)
        if mode == "semantic":
            return self.search_semantic(query, limit)
        pool = max(limit * 10, 50)
        fused: dict[tuple[str, int], tuple[float, Hit]] = {}
        for ranked in (self.search_fts(query, pool), self.search_semantic(query, pool)):
            for rank, hit in enumerate(ranked):
                key = (hit.path, hit.line)
                score = fused.get(key, (0.0, hit))[0] + 1.0 / (RRF_K + rank + 1)
                fused[key] = (score, hit)
        best = sorted(fused.values(), key=lambda t: -t[0])[:limit]
        return [Hit(h.path, h.heading, h.line, h.text, s, "hybrid") for s, h in best]

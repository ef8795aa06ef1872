"""Reading traces back: ``traces.jsonl`` parsed, prompts stored as deltas made whole,
and each call's request, response and PASS/FAIL label joined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class TraceReader:
    """The reading half of :class:`~teragent_traces.tracer.TAPTracer` (over ``path``)."""

    path: Path

    def flush(self) -> None:
        """Write queued lines before a read; a reader alone queues none (the writer
        overrides this)."""

    def _records(self) -> list[dict[str, Any]]:
        """Every record, a delta-stored prompt made whole again (``prompt``)."""
        self.flush()
        if not self.path.is_file():
            return []
        out = []
        prompts: dict[str, dict[str, Any]] = {}
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a torn last line
                    continue
                if rec.get("type") == "request":
                    ref = rec.pop("prompt_ref", None)
                    delta = rec.pop("prompt_delta", None) or {}
                    if ref is not None:
                        base = prompts.get(ref.get("trace_id"))
                        rec["prompt"] = None if base is None else {
                            "messages": base["messages"][:ref["messages"]]
                            + list(delta.get("messages") or []),
                            "tools": base.get("tools") if ref.get("tools")
                            else delta.get("tools")}
                    if isinstance(rec.get("prompt"), dict) and rec.get("basis") == "compiled":
                        prompts[rec["trace_id"]] = rec["prompt"]
                out.append(rec)
        return out

    def _unlabelled(self, task_id: str) -> list[str]:
        answered: list[str] = []
        for rec in self._records():
            if rec.get("task_id") != task_id:
                continue
            if rec["type"] == "response":
                answered.append(rec["trace_id"])
            elif rec["type"] == "checklist":
                answered = []
        return answered

    def export_traces(self, task_id: str | None = None) -> list[dict[str, Any]]:
        """Every traced call joined: ``trace_id``, ``task_id``, ``prompt_hash``,
        ``request``, ``response`` and ``label`` (``"PASS"``/``"FAIL"``/``None``)."""
        traces: dict[str, dict[str, Any]] = {}
        labels: dict[str, bool | None] = {}
        for rec in self._records():
            kind = rec.get("type")
            if kind == "checklist":
                for tid in rec.get("trace_ids") or []:
                    labels[tid] = rec.get("passed")
                continue
            entry = traces.setdefault(rec["trace_id"], {
                "trace_id": rec["trace_id"], "task_id": rec.get("task_id"),
                "prompt_hash": None, "request": None, "response": None, "label": None})
            if kind == "request":
                entry["request"] = rec
                entry["prompt_hash"] = rec.get("prompt_hash")
            elif kind == "response":
                entry["response"] = rec
            if rec.get("task_id") is not None:
                entry["task_id"] = rec["task_id"]
        out = []
        for tid, entry in traces.items():
            lab = labels.get(tid)
            entry["label"] = None if lab is None else ("PASS" if lab else "FAIL")
            if task_id is None or entry["task_id"] == task_id:
                out.append(entry)
        return out

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """One joined trace (an unambiguous id prefix works too)."""
        hits = [t for t in self.export_traces() if t["trace_id"].startswith(trace_id)]
        return hits[0] if len(hits) == 1 else None

"""Preference pairs from labelled traces, and counts over a trace directory.

A pair is two answers to the same prompt (equal prompt hash), one labelled PASS and one
FAIL; candidates answering different prompts are refused with the reason (see the
strategies in :mod:`teragent_traces.tracer`'s docstring). Exported in TRL's standard
and conversational preference formats.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from teragent.errors import UserError
from teragent_traces.reader import TraceReader
from teragent_traces.records import DataConstitution

STRATEGIES = ("same_task_retry", "cross_task", "partial")


class PairRefused(UserError):
    """Two answers cannot form a preference pair; the message says why."""


@dataclass
class DPOPair:
    """One preference pair. ``prompt`` is the prompt as text, ``prompt_messages`` as
    chat messages; :meth:`to_dict` and :meth:`to_chat` are the two formats TRL's
    ``DPOTrainer`` reads (standard and conversational preference)."""

    prompt: str
    chosen: str | None
    rejected: str | None
    strategy: str
    prompt_hash: str
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    chosen_task_id: str | None = None
    rejected_task_id: str | None = None
    chosen_trace_id: str | None = None
    rejected_trace_id: str | None = None

    @property
    def task_id(self) -> str | None:
        return self.chosen_task_id or self.rejected_task_id

    def to_dict(self) -> dict[str, Any]:
        """Standard preference format: ``{"prompt", "chosen", "rejected"}`` strings."""
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}

    def to_chat(self) -> dict[str, Any]:
        """Conversational preference format: ``prompt`` a message list, ``chosen`` and
        ``rejected`` one assistant message each."""
        def answer(text: str | None) -> list[dict[str, str]] | None:
            return None if text is None else [{"role": "assistant", "content": text}]
        return {"prompt": list(self.prompt_messages), "chosen": answer(self.chosen),
                "rejected": answer(self.rejected)}

    def to_record(self) -> dict[str, Any]:
        """Everything, for auditing where a pair came from."""
        return asdict(self)


@dataclass
class TraceStats:
    """Counts over a trace directory (:meth:`TAPTracer.get_trace_stats`)."""

    total_requests: int = 0
    total_responses: int = 0
    total_checklists: int = 0
    tasks: int = 0
    passed: int = 0
    failed: int = 0
    unlabelled: int = 0
    distinct_prompts: int = 0
    dpo_pairs: int = 0
    same_task_pairs: int = 0
    cross_task_pairs: int = 0
    partial: int = 0
    refused_pairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    trace_bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _prompt_text(prompt: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The prompt as text and as chat messages (for the two export formats)."""
    messages = prompt.get("messages")
    if messages is None:
        parts = [str(prompt.get("instruction") or prompt.get("text") or "")]
        if prompt.get("constraints"):
            parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in prompt["constraints"]))
        if prompt.get("context"):
            parts.append("Context:\n" + json.dumps(prompt["context"], sort_keys=True))
        if prompt.get("output_format_hint"):
            parts.append("Output format: " + str(prompt["output_format_hint"]))
        messages = [{"role": "user", "content": "\n\n".join(p for p in parts if p)}]
    chat = [{"role": str(m.get("role")), "content": _content_text(m.get("content"))}
            for m in messages]
    text = "\n\n".join(f"{m['role']}: {m['content']}" for m in chat)
    return text, chat


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p)
                       for p in content)
    return str(content)


class TracePairs(TraceReader):
    """Pairs and stats over what :class:`TraceReader` reads (the pairing half of
    :class:`~teragent_traces.tracer.TAPTracer`)."""

    trace_dir: Path
    constitution: DataConstitution
    refused_pairs: list[dict[str, Any]]

    def _answers(self) -> list[dict[str, Any]]:
        """Labelled, answered, prompted traces."""
        return [t for t in self.export_traces()
                if t["label"] is not None and t["request"] and t["response"]
                and t["request"].get("prompt") is not None and t["response"].get("text")]

    def _make(self, chosen: dict[str, Any] | None, rejected: dict[str, Any] | None,
              strategy: str) -> DPOPair:
        base = chosen or rejected
        assert base is not None
        text, messages = _prompt_text(base["request"]["prompt"])
        return DPOPair(
            prompt=text, prompt_messages=messages,
            chosen=chosen["response"]["text"] if chosen else None,
            rejected=rejected["response"]["text"] if rejected else None,
            strategy=strategy, prompt_hash=base["prompt_hash"],
            chosen_task_id=chosen["task_id"] if chosen else None,
            rejected_task_id=rejected["task_id"] if rejected else None,
            chosen_trace_id=chosen["trace_id"] if chosen else None,
            rejected_trace_id=rejected["trace_id"] if rejected else None)

    def _why_not(self, chosen: dict[str, Any], rejected: dict[str, Any]) -> str | None:
        if chosen["label"] != "PASS" or rejected["label"] != "FAIL":
            return (f"chosen must be labelled PASS and rejected FAIL (have "
                    f"{chosen['label']} and {rejected['label']})")
        a, b = chosen["request"], rejected["request"]
        if a.get("basis") != b.get("basis") or chosen["prompt_hash"] != rejected["prompt_hash"]:
            return (f"the answers reply to different prompts (prompt hash "
                    f"{str(chosen['prompt_hash'])[:12]} vs {str(rejected['prompt_hash'])[:12]});"
                    " a preference pair needs two answers to the same prompt")
        if self.constitution.require_distinct_responses and \
                chosen["response"]["text"] == rejected["response"]["text"]:
            return "chosen and rejected are the same text"
        return None

    def pair(self, chosen_trace_id: str, rejected_trace_id: str) -> DPOPair:
        """The pair of two given traces, or :class:`PairRefused` saying why not."""
        chosen, rejected = self.get_trace(chosen_trace_id), self.get_trace(rejected_trace_id)
        for tid, t in ((chosen_trace_id, chosen), (rejected_trace_id, rejected)):
            if t is None or not t["request"] or not t["response"]:
                raise PairRefused(f"no complete trace {tid!r} in {self.path}; "
                                  "'teragent traces list' shows the ids")
        assert chosen is not None and rejected is not None
        reason = self._why_not(chosen, rejected)
        if reason:
            raise PairRefused(f"cannot pair {chosen_trace_id} with {rejected_trace_id}: "
                              f"{reason}")
        strategy = "same_task_retry" if chosen["task_id"] == rejected["task_id"] \
            else "cross_task"
        return self._make(chosen, rejected, strategy)

    def export_dpo_pairs(self, strategy: str = "all", *,
                         include_partial: bool = False) -> list[DPOPair]:
        """DPO pairs from the labelled traces.

        Args:
            strategy: ``"all"``, ``"same_task_retry"`` or ``"cross_task"`` (see the
                module docstring for what each guarantees).
            include_partial: Also return prompts with only a PASS or only a FAIL
                answer (strategy ``"partial"``, the missing side ``None``).

        Candidates refused (same intent or task, different prompt) are listed in
        :attr:`refused_pairs` with the reason.
        """
        if strategy not in ("all", "same_task_retry", "cross_task"):
            raise UserError(f"unknown pairing strategy {strategy!r}; use 'all', "
                            "'same_task_retry' or 'cross_task'.")
        answers = self._answers()
        self.refused_pairs = []
        pairs: list[DPOPair] = []
        by_prompt: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for t in answers:
            by_prompt.setdefault((t["request"].get("basis"), t["prompt_hash"]), []).append(t)
        cap = self.constitution.max_pairs_per_prompt
        for group in by_prompt.values():
            good = [t for t in group if t["label"] == "PASS"]
            bad = [t for t in group if t["label"] == "FAIL"]
            made = 0
            for c in good:
                for r in bad:
                    kind = "same_task_retry" if c["task_id"] == r["task_id"] else "cross_task"
                    if strategy not in ("all", kind) or (cap is not None and made >= cap):
                        continue
                    reason = self._why_not(c, r)
                    if reason:
                        self._refuse(c, r, reason)
                        continue
                    pairs.append(self._make(c, r, kind))
                    made += 1
            if include_partial and (not good or not bad):
                pairs.append(self._make(good[0] if good else None,
                                        None if good else bad[0], "partial"))
        # Same task or same intent but a different prompt: not a pair, say so.
        for c in (t for t in answers if t["label"] == "PASS"):
            for r in (t for t in answers if t["label"] == "FAIL"):
                if c["prompt_hash"] == r["prompt_hash"]:
                    continue
                same_task = c["task_id"] is not None and c["task_id"] == r["task_id"]
                intent = c["request"].get("intent")
                if same_task or (intent and intent == r["request"].get("intent")):
                    self._refuse(c, r, self._why_not(c, r) or "")
        return pairs

    def _refuse(self, chosen: dict[str, Any], rejected: dict[str, Any], reason: str) -> None:
        self.refused_pairs.append({
            "chosen_trace_id": chosen["trace_id"], "rejected_trace_id": rejected["trace_id"],
            "chosen_task_id": chosen["task_id"], "rejected_task_id": rejected["task_id"],
            "reason": reason})

    def export_dpo_pairs_jsonl(self, output_path: str | os.PathLike[str] | None = None, *,
                               format: str = "standard", strategy: str = "all",
                               include_partial: bool = False) -> Path:
        """Write the pairs as JSON lines (default ``trace_dir/dpo_pairs.jsonl``).

        Args:
            format: ``"standard"`` (``prompt``/``chosen``/``rejected`` strings),
                ``"chat"`` (conversational: message lists) or ``"full"`` (every
                field, for auditing).
        """
        shape = {"standard": DPOPair.to_dict, "chat": DPOPair.to_chat,
                 "full": DPOPair.to_record}.get(format)
        if shape is None:
            raise UserError(f"unknown DPO export format {format!r}; use 'standard', "
                            "'chat' or 'full'.")
        pairs = self.export_dpo_pairs(strategy, include_partial=include_partial)
        path = Path(output_path) if output_path is not None else \
            self.trace_dir / "dpo_pairs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for p in pairs:
                fh.write(json.dumps(shape(p), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path

    def get_trace_stats(self) -> TraceStats:
        """Counts over the trace directory (pairs counted with the default strategy)."""
        stats = TraceStats()
        records = self._records()
        tasks = set()
        for rec in records:
            kind = rec.get("type")
            if rec.get("task_id") is not None:
                tasks.add(rec["task_id"])
            if kind == "request":
                stats.total_requests += 1
            elif kind == "response":
                stats.total_responses += 1
                usage = rec.get("usage") or {}
                stats.prompt_tokens += int(usage.get("prompt", 0) or 0)
                stats.completion_tokens += int(usage.get("completion", 0) or 0)
            elif kind == "checklist":
                stats.total_checklists += 1
        traces = self.export_traces()
        stats.tasks = len(tasks)
        stats.passed = sum(t["label"] == "PASS" for t in traces)
        stats.failed = sum(t["label"] == "FAIL" for t in traces)
        stats.unlabelled = sum(t["label"] is None and t["response"] is not None
                               for t in traces)
        stats.distinct_prompts = len({t["prompt_hash"] for t in traces if t["prompt_hash"]})
        pairs = self.export_dpo_pairs(include_partial=True)
        stats.same_task_pairs = sum(p.strategy == "same_task_retry" for p in pairs)
        stats.cross_task_pairs = sum(p.strategy == "cross_task" for p in pairs)
        stats.partial = sum(p.strategy == "partial" for p in pairs)
        stats.dpo_pairs = stats.same_task_pairs + stats.cross_task_pairs
        stats.refused_pairs = len(self.refused_pairs)
        stats.trace_bytes = self.path.stat().st_size if self.path.is_file() else 0
        return stats

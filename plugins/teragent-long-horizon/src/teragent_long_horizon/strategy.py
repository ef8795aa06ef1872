"""Stagnation detection (deterministic) and strategy switches (asked of the model)."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from teragent_long_horizon.evaluator import _progress_text, describe_results
from teragent_long_horizon.models import PhaseResult, extract_json

__all__ = ["StrategySwitcher", "StrategySwitchRecord", "BUILTIN_STRATEGIES", "similarity"]

#: The six built-in strategies (name -> description); the model may propose its own.
BUILTIN_STRATEGIES: dict[str, str] = {
    "incremental": "Work in small verified increments: change one thing, check it, go on.",
    "decompose_further": "Split the current sub-goal into smaller steps and do them one "
                         "at a time.",
    "alternative_approach": "Drop the current approach and solve the problem a different "
                            "way (another design, library or algorithm).",
    "simplify_scope": "Deliver the minimal version that meets the completion criteria "
                      "first; extras later.",
    "research_first": "Read the relevant code, files and errors before changing anything.",
    "test_driven": "Write a check that fails for the missing behaviour, then make it pass.",
}
DEFAULT_STRATEGY = f"incremental: {BUILTIN_STRATEGIES['incremental']}"

_PROMPT = """A long-running task has stalled and needs a different strategy.
Goal: {goal}
Current strategy: {current}
Why it stalled: {reason}
Progress: {progress}
Strategies already tried: {tried}
Built-in strategies you may pick or adapt:
{builtins}

Answer with one JSON object and nothing else:
{{"new_strategy": "<the strategy to follow from now on>", "risk_assessment": "<risks of switching>"}}"""


@dataclass
class StrategySwitchRecord:
    """One switch: when, why, from what to what, its risk and (later) its effect."""

    timestamp: str
    reason: str
    previous_strategy: str
    new_strategy: str
    risk_assessment: str
    effectiveness: str = "pending"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(item: Any) -> str:
    if isinstance(item, PhaseResult):
        return f"{item.result_text} {' '.join(item.errors)}".strip()
    return str(item)


def similarity(a: str, b: str, limit: int = 2000) -> float:
    """``difflib`` ratio of two texts (whitespace-normalised, first ``limit`` chars)."""
    a, b = " ".join(a.split())[:limit], " ".join(b.split())[:limit]
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() > 0 else 0.0


class StrategySwitcher:
    """Detects a stalled task and switches its strategy.

    Args:
        model_provider: A :class:`~teragent.ModelProvider` asked for the new strategy.
        stagnation_threshold: This many consecutive near-identical results = stagnant.
        no_progress_threshold: This many steps without progress = stagnant.
        similarity_threshold: Two results at or above this ``difflib`` ratio are
            "near-identical".
        initial_strategy: The strategy a task starts with.
    """

    def __init__(self, model_provider: Any, stagnation_threshold: int = 3,
                 no_progress_threshold: int = 5, similarity_threshold: float = 0.8, *,
                 initial_strategy: str = DEFAULT_STRATEGY) -> None:
        if stagnation_threshold < 2:
            raise ValueError("stagnation_threshold must be at least 2 (results to compare)")
        if not 0.0 < similarity_threshold <= 1.0:
            raise ValueError("similarity_threshold must be in (0, 1], e.g. 0.8")
        self.model_provider = model_provider
        self.stagnation_threshold = stagnation_threshold
        self.no_progress_threshold = no_progress_threshold
        self.similarity_threshold = similarity_threshold
        self._current = initial_strategy
        self._history: list[StrategySwitchRecord] = []

    @property
    def current_strategy(self) -> str:
        """The strategy in force."""
        return self._current

    def get_switch_history(self) -> list[StrategySwitchRecord]:
        """Every switch so far, oldest first."""
        return list(self._history)

    def restore(self, current: str, history: Sequence[dict[str, Any]]) -> None:
        """Put back the state saved in a checkpoint."""
        self._current = current
        self._history = [StrategySwitchRecord(**h) for h in history]

    def detect_stagnation(self, recent_results: Sequence[Any],
                          recent_steps: Sequence[Any] = ()) -> tuple[bool, str]:
        """Is the task stuck? Deterministic, no model call.

        Args:
            recent_results: Result texts (or :class:`PhaseResult` s), oldest first.
            recent_steps: One entry per step, oldest first: ``True``/``False`` (did the
                step make progress?) or a progress count after the step (completed
                sub-goals, files changed...; progress = the count grew).

        Returns:
            ``(True, reason)`` when the last ``stagnation_threshold`` results are
            pairwise near-identical, or the last ``no_progress_threshold`` steps made no
            progress; else ``(False, "")``.
        """
        texts = [_text(r) for r in recent_results][-self.stagnation_threshold:]
        if len(texts) >= self.stagnation_threshold:
            ratios = [similarity(a, b) for a, b in zip(texts, texts[1:])]
            if all(r >= self.similarity_threshold for r in ratios):
                return True, (f"the last {len(texts)} results are near-identical "
                              f"(similarity >= {self.similarity_threshold}: "
                              f"{', '.join(f'{r:.2f}' for r in ratios)})")
        flags: list[bool] = []
        previous: float | None = None
        for step in recent_steps:
            if isinstance(step, bool):
                flags.append(step)
            else:
                value = float(step)
                flags.append(previous is None or value > previous)
                previous = value
        window = flags[-self.no_progress_threshold:]
        if len(window) >= self.no_progress_threshold and not any(window):
            return True, f"no progress in the last {len(window)} steps"
        return False, ""

    async def switch_strategy(self, current_strategy: str, reason: str, goal: str,
                              progress_report: Any = None) -> tuple[str, StrategySwitchRecord]:
        """Ask the model for a new strategy; record the switch. A reply without a
        usable ``new_strategy`` falls back to the first built-in strategy not yet tried."""
        tried = {current_strategy, *(r.new_strategy for r in self._history),
                 *(r.previous_strategy for r in self._history)}
        builtins = "\n".join(f"- {k}: {v}" for k, v in BUILTIN_STRATEGIES.items())
        prompt = _PROMPT.format(goal=goal, current=current_strategy, reason=reason,
                                progress=_progress_text(progress_report),
                                tried="; ".join(sorted(tried)), builtins=builtins)
        response = await self.model_provider.complete(
            [{"role": "system", "content": "You choose work strategies and answer in JSON."},
             {"role": "user", "content": prompt}])
        raw = response.raw_text or ""
        new, risk = "", ""
        try:
            data = extract_json(raw)
            if isinstance(data, dict):
                new = str(data.get("new_strategy") or "").strip()
                risk = str(data.get("risk_assessment") or "").strip()
        except ValueError:
            pass
        if not new or new == current_strategy:
            new = self._fallback(tried)
            risk = (f"model reply unusable ({raw[:80]!r}); chose a built-in strategy not yet "
                    "tried")
        record = StrategySwitchRecord(timestamp=datetime.now(timezone.utc).isoformat(),
                                      reason=reason, previous_strategy=current_strategy,
                                      new_strategy=new, risk_assessment=risk)
        self._history.append(record)
        self._current = new
        return new, record

    @staticmethod
    def _fallback(tried: set[str]) -> str:
        for name, description in BUILTIN_STRATEGIES.items():
            candidate = f"{name}: {description}"
            if candidate not in tried and not any(t.startswith(f"{name}:") for t in tried):
                return candidate
        return f"alternative_approach: {BUILTIN_STRATEGIES['alternative_approach']}"

    def assess_switch_effectiveness(self, record_index: int,
                                    subsequent_results: Sequence[Any]) -> str:
        """Judge switch ``record_index`` by what followed it and store the verdict.

        ``effective`` / ``partially effective`` / ``ineffective`` by the share of
        successful :class:`PhaseResult` s; for plain texts ``ineffective`` when they are
        still near-identical, else ``effective``; ``unknown`` with nothing to judge."""
        if not -len(self._history) <= record_index < len(self._history):
            raise IndexError(f"no strategy switch #{record_index}: {len(self._history)} "
                             "recorded (see get_switch_history())")
        record = self._history[record_index]
        results = list(subsequent_results)
        if not results:
            verdict = "unknown"
        elif all(isinstance(r, PhaseResult) for r in results):
            share = sum(r.success for r in results) / len(results)
            verdict = ("effective" if share >= 0.5 else
                       "partially effective" if share > 0 else "ineffective")
        else:
            stuck, _ = self.detect_stagnation(results)
            verdict = "ineffective" if stuck else "effective"
        record.effectiveness = verdict
        return verdict

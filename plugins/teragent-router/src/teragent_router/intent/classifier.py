"""``IntentClassifier``: CHAT, DEBUG or CREATE_PROJECT, cheaply.

A keyword pre-pass scores the input for each intent; when one intent clearly wins, that
is the answer and no model is called. Only when the pre-pass is unsure (no signal, or
two intents close together) is the model asked, with a one-word answer format. A
model failure or an unparsable answer falls back to the pre-pass (or CHAT).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["IntentClassifier", "IntentType", "IntentResult", "DEFAULT_KEYWORDS"]

logger = logging.getLogger("teragent.intent")


class IntentType(str, Enum):
    CHAT = "chat"
    DEBUG = "debug"
    CREATE_PROJECT = "create_project"


#: intent → [(regex, weight)]; matched case-insensitively on word boundaries.
DEFAULT_KEYWORDS: dict[IntentType, list[tuple[str, int]]] = {
    IntentType.CREATE_PROJECT: [
        (r"build|create|scaffold|bootstrap|generate", 2),
        (r"make (me )?an?|write (me )?an?|set up|start an?", 1),
        (r"(new|whole|complete|full) (project|app|application|service|website|site|game)", 2),
        (r"web ?app|website|rest api|cli tool|application|app\b|project|game|from scratch", 2),
    ],
    IntentType.DEBUG: [
        (r"fix|bug|debug|crash(es|ed|ing)?|broken|failing|fails|failed|exception|traceback", 2),
        (r"error|stack ?trace|doesn'?t work|not working|wrong output|segfault|regression", 2),
        (r"why (does|is) .* (fail|break|crash)", 1),
    ],
    IntentType.CHAT: [
        (r"what|why|how|explain|describe|tell me|who|when|which|does|is there|can you", 1),
        (r"\?\s*$", 1),
        (r"hello|hi\b|thanks|thank you", 2),
    ],
}

PROMPT = ("Classify the user's message into exactly one intent:\n"
          "CHAT - a question or conversation\n"
          "DEBUG - find or fix a bug, error or failure\n"
          "CREATE_PROJECT - build a new program, app or project\n"
          "Reply with the label only.")


@dataclass
class IntentResult:
    intent: IntentType
    confidence: float
    source: str  # "keywords" | "model" | "default"
    scores: dict[str, int] = field(default_factory=dict)


class IntentClassifier:
    """Args:
        provider: Optional model asked when the keyword pass is unsure.
        keywords: Replaces :data:`DEFAULT_KEYWORDS`.
        min_score: Top keyword score needed to decide without the model.
        min_margin: Lead over the runner-up needed to decide without the model.
    """

    def __init__(self, provider: Any = None, *,
                 keywords: dict[IntentType, list[tuple[str, int]]] | None = None,
                 min_score: int = 2, min_margin: int = 2) -> None:
        self.provider = provider
        self.min_score = min_score
        self.min_margin = min_margin
        self._rules = {
            intent: [(re.compile(rf"\b(?:{p})" if not p.startswith("\\?") else p, re.I), w)
                     for p, w in rules]
            for intent, rules in (keywords or DEFAULT_KEYWORDS).items()}
        self.model_calls = 0

    def score(self, text: str) -> dict[IntentType, int]:
        return {intent: sum(w for rx, w in rules if rx.search(text))
                for intent, rules in self._rules.items()}

    def prepass(self, text: str) -> IntentResult | None:
        """The keyword answer, or ``None`` when unsure."""
        scores = self.score(text)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        (top, best), second = ranked[0], ranked[1][1] if len(ranked) > 1 else 0
        named = {k.value: v for k, v in scores.items()}
        if best >= self.min_score and best - second >= self.min_margin:
            return IntentResult(top, min(1.0, 0.5 + (best - second) / 8), "keywords", named)
        return None

    async def classify(self, text: str) -> IntentType:
        return (await self.classify_detailed(text)).intent

    async def classify_detailed(self, text: str) -> IntentResult:
        sure = self.prepass(text)
        if sure is not None:
            return sure
        scores = self.score(text)
        named = {k.value: v for k, v in scores.items()}
        if self.provider is not None:
            answer = await self._ask_model(text)
            if answer is not None:
                return IntentResult(answer, 0.7, "model", named)
        top, best = max(scores.items(), key=lambda kv: kv[1])
        if best > 0:
            return IntentResult(top, 0.4, "keywords", named)
        return IntentResult(IntentType.CHAT, 0.3, "default", named)

    async def _ask_model(self, text: str) -> IntentType | None:
        self.model_calls += 1
        messages = [{"role": "system", "content": PROMPT}, {"role": "user", "content": text}]
        try:
            response = await self.provider.complete(messages, None, max_tokens=8,
                                                    temperature=0)
        except Exception as exc:  # noqa: BLE001 - classification falls back, never fails
            logger.warning("intent model call failed (%s); using keywords", exc)
            return None
        return parse_label(getattr(response, "raw_text", "") or "")


def parse_label(text: str) -> IntentType | None:
    upper = text.upper().replace("-", "_").replace(" ", "_")
    for intent in (IntentType.CREATE_PROJECT, IntentType.DEBUG, IntentType.CHAT):
        if intent.name in upper:
            return intent
    if "CREATE" in upper or "PROJECT" in upper:
        return IntentType.CREATE_PROJECT
    return None

"""Shared test doubles of the context tests."""

from __future__ import annotations

from typing import Any


class SummaryModel:
    """A provider stand-in for summary calls: records what it was asked, answers with a
    fixed text (the real-provider path is covered by the loopback tests)."""

    def __init__(self, text: str = "SUMMARY: earlier work", fail: bool = False) -> None:
        self.text, self.fail = text, fail
        self.calls: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    async def complete(self, messages: list[dict[str, Any]], tools: Any = None,
                       **extra: Any) -> Any:
        from teragent.core.tap import TAPResponse

        self.calls.append((messages, extra))
        if self.fail:
            raise RuntimeError("summary model down")
        return TAPResponse(raw_text=self.text)

"""The event log and the bus mapping, without a server."""

from __future__ import annotations

import asyncio

import pytest

from teragent.events import EventBus

from teragent_service.events import EVENT_FIELDS, BusBridge, EventLog, event_schema


def test_compaction_from_teragent_context_becomes_compact() -> None:
    compactor = pytest.importorskip("teragent_context.compactor",
                                    reason="teragent-context is not installed")
    record = compactor.CompactionRecord(kind="auto", before_tokens=9000, after_tokens=1200,
                                        messages_before=40, messages_after=9, removed=31,
                                        trimmed=0)

    async def main() -> list[dict]:
        log = EventLog("c1")
        bus = EventBus()
        BusBridge(log).attach(bus)
        queue, _ = log.subscribe()
        await bus.emit("compaction", **record.as_event())
        return [queue.get_nowait() for _ in range(queue.qsize())]

    (event,) = asyncio.run(main())
    assert event["type"] == "compact" and event["seq"] == 1
    assert event["message"] == "context compacted (auto): 9000 -> 1200 tokens, 40 -> 9 messages"
    assert (event["before_tokens"], event["after_tokens"]) == (9000, 1200)


def test_log_numbers_replays_and_bounds() -> None:
    async def main() -> None:
        log = EventLog("c1", capacity=3)
        for i in range(5):
            log.publish("text_delta", content=str(i))
        queue, first = log.subscribe(after=1)
        assert first == 3 and log.oldest() == 3            # 1 and 2 are gone
        assert [queue.get_nowait()["content"] for _ in range(3)] == ["2", "3", "4"]
        log.publish("done", usage={}, total_usage={}, files=[], stop_reason="completed",
                    final_text="")
        assert queue.get_nowait()["seq"] == 6
        with pytest.raises(ValueError):
            log.publish("no_such_event")

    asyncio.run(main())


def test_schema_covers_every_event_of_the_seed_table() -> None:
    seed = {"text_delta", "tool_call", "tool_result", "tool_approval_request",
            "tool_approval_result", "subagent_start", "subagent_end", "task_update",
            "background_result", "teammate_status", "compact", "llm_request",
            "llm_response", "interrupted", "done", "error"}
    assert seed <= set(EVENT_FIELDS)
    titles = {v["title"] for v in event_schema()["oneOf"]}
    assert titles == set(EVENT_FIELDS)

from __future__ import annotations

import asyncio

import pytest

from teragent.events import EventBus


def test_emit_on_once_and_isolation():
    async def main():
        bus = EventBus()
        seen = []

        def bad(**kw):
            raise ValueError("handler bug")

        async def slow(**kw):
            await asyncio.sleep(0)
            seen.append(("async", kw["n"]))

        bus.on("x", bad)
        bus.on("x", lambda **kw: seen.append(("sync", kw["n"])))
        bus.once("x", lambda **kw: seen.append(("once", kw["n"])))
        bus.on("x", slow)
        await bus.emit("x", n=1)
        await bus.emit("x", n=2)
        await bus.drain()
        assert ("once", 1) in seen and ("once", 2) not in seen
        assert ("sync", 2) in seen and ("async", 1) in seen and ("async", 2) in seen
        assert [type(e).__name__ for _, e in bus.errors] == ["ValueError", "ValueError"]
        assert [e.kwargs["n"] for e in bus.get_event_history(name="x")] == [1, 2]

    asyncio.run(main())


def test_emit_and_wait_waits_for_async_handlers():
    async def main():
        bus = EventBus()
        done = []

        async def handler(**kw):
            await asyncio.sleep(0.01)
            done.append(kw["v"])

        bus.on("e", handler)
        await bus.emit_and_wait("e", v=1)
        assert done == [1]

    asyncio.run(main())


def test_wait_for_and_timeout():
    async def main():
        bus = EventBus()
        waiter = asyncio.ensure_future(bus.wait_for("ready", timeout=5))
        await asyncio.sleep(0)
        await bus.emit("ready", 1, a=2)
        assert await waiter == ((1,), {"a": 2})
        with pytest.raises(asyncio.TimeoutError):
            await bus.wait_for("never", timeout=0.01)
        assert bus.get_event_names() == []

    asyncio.run(main())


def test_wildcard_and_structured_messages():
    async def main():
        bus = EventBus(history_size=2)
        names = []
        bus.on("*", lambda name, *a, **kw: names.append(name))
        for n in ("a", "b", "c"):
            await bus.emit(n)
        msg = await bus.emit_message("status", "working", step=1)
        assert names == ["a", "b", "c", "message"]
        assert [e.name for e in bus.get_event_history()] == ["c", "message"]
        assert bus.get_message_history()[0] is msg and msg.metadata == {"step": 1}

    asyncio.run(main())

"""ResultCache: TTL and LRU against a reference model (hypothesis), deterministic keys,
statistics, read-only tools only, and a cached tool inside a guarded agent run."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.core.types import ToolSafety
from teragent.errors import UserError
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.testing.hosts import isolated_host
from teragent.tools import ToolResult, tool
from teragent_cache import ResultCache, cache_key, cached


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)


def _shuffled(value):
    if isinstance(value, dict):
        items = [(k, _shuffled(v)) for k, v in value.items()]
        random.Random(len(items)).shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [_shuffled(v) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_key_ignores_key_order_and_survives_a_json_round_trip(args):
    key = cache_key("t", args)
    assert key == cache_key("t", _shuffled(args))
    assert key == cache_key("t", json.loads(json.dumps(args)))
    assert key != cache_key("u", args)


def test_keys_tell_values_apart():
    assert cache_key("t", {"a": 1}) != cache_key("t", {"a": "1"})
    assert cache_key("t", {"a": [1, 2]}) != cache_key("t", {"a": [2, 1]})
    assert cache_key("t", {"a": 1}) == cache_key("t", {"a": 1})
    with pytest.raises(TypeError, match="canonical JSON"):
        cache_key("t", {"a": object()})


ops = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 4)),
    st.tuples(st.just("get"), st.integers(0, 4)),
    st.tuples(st.just("tick"), st.floats(0, 6)),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops, st.integers(1, 5), st.sampled_from([None, 1.0, 5.0]))
def test_behaves_like_a_reference_ttl_lru(script, size, ttl):
    clock = Clock()
    cache = ResultCache(ttl=ttl, max_entries=size, clock=clock)
    model: dict[int, tuple[float, int]] = {}  # arg -> (expires, value), insertion = LRU order
    hits = misses = evictions = expirations = 0
    version = 0
    for op, x in script:
        if op == "tick":
            clock.now += x
        elif op == "put":
            version += 1
            cache.put("t", {"x": x}, ToolResult(data=version))
            model.pop(x, None)
            model[x] = (float("inf") if ttl is None else clock.now + ttl, version)
            while len(model) > size:
                del model[next(iter(model))]
                evictions += 1
        else:
            got = cache.get("t", {"x": x})
            entry = model.get(x)
            if entry is not None and entry[0] <= clock.now:
                del model[x]
                expirations += 1
                entry = None
            if entry is None:
                misses += 1
                assert got is None
            else:
                hits += 1
                assert got is not None and got.data == entry[1]
                model[x] = model.pop(x)  # most recently used
    s = cache.stats
    assert (s.hits, s.misses, s.evictions, s.expirations, s.size) == \
        (hits, misses, evictions, expirations, len(model))


def test_stats_and_copies():
    clock = Clock()
    cache = ResultCache(ttl=10, max_entries=2, clock=clock)
    cache.put("t", {"a": 1}, ToolResult(data={"v": 1}))
    cache.put("t", {"a": 9}, ToolResult(success=False, error="boom"))  # not stored
    got = cache.get("t", {"a": 1})
    got.data["v"] = 999  # the caller's copy
    assert cache.get("t", {"a": 1}).data == {"v": 1}
    assert cache.get("t", {"a": 9}) is None
    cache.put("t", {"a": 2}, ToolResult(data=2))
    cache.put("t", {"a": 3}, ToolResult(data=3))  # evicts a=1 (least recently used)
    assert cache.get("t", {"a": 1}) is None
    clock.now = 10.0
    assert cache.get("t", {"a": 3}) is None  # expired at exactly ttl
    assert cache.stats.as_dict() == {"hits": 2, "misses": 3, "evictions": 1,
                                     "expirations": 1, "size": 1, "hit_rate": 0.4}


@tool(safety=ToolSafety.SAFE_WRITE)
def write_note(text: str) -> str:
    """Write a note."""
    return "written"


def test_refuses_tools_that_write():
    with pytest.raises(UserError, match="only read-only tools may be cached"):
        cached(write_note)


def test_a_cached_tool_in_an_agent_run():
    calls: list[str] = []

    @tool
    def lookup(city: str) -> str:
        """Look up a city's weather."""
        calls.append(city)
        return f"sunny in {city}"

    cache = ResultCache(ttl=60)
    wrapped = cached(lookup, cache)
    assert wrapped.safety == ToolSafety.READ_ONLY and wrapped.schema() == lookup.schema()
    model = ScriptedModel([call_tool("lookup", {"city": "Oslo"}),
                           call_tool("lookup", {"city": "Oslo"}),
                           call_tool("lookup", {"city": "Rome"}), reply("done")])
    with isolated_host():  # the kernel alone: what is tested is the cache, not plugins
        loop = AgentLoop(model, ToolRegistry([wrapped]), AgentLoopConfig(max_steps=6))
        result = asyncio.run(loop.run("weather?"))
    model.assert_consumed()
    assert result.final_text == "done"
    assert calls == ["Oslo", "Rome"]
    outputs = [o.result.to_text() for o in result.tool_outcomes]
    assert outputs == ["sunny in Oslo"] * 2 + ["sunny in Rome"]
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)

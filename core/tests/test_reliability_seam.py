"""The kernel's reliability seam: ``teragent_build_reliability`` and the one cost record.

The kernel ships no breakers, retries or rate limiters (teragent-reliability does).
Alone it builds agents with none, uses whatever a plugin answers, and refuses an
``agent.toml`` that configures protection no plugin provides.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import teragent
from teragent import hookimpl
from teragent.core.tap import CostTracker, TAPCostRecord, price_call
from teragent.errors import MissingPluginError
from teragent.testing import ScriptedModel


def build(tmp_path: Any, config: dict[str, Any]) -> Any:
    return teragent.build_agent(config, workspace=tmp_path, tools=[],
                                provider=ScriptedModel([]))


def test_without_an_implementer_an_agent_has_no_breakers_and_no_recovery(tmp_path):
    agent = build(tmp_path, {})
    assert agent.runtime.breakers == [] and agent.recovery_manager is None
    assert agent.runtime.rate_limiter is None


def test_what_the_plugin_answers_is_what_the_agent_gets(tmp_path, _kernel_only_host):
    breaker, recovery = object(), object()
    seen: list[dict[str, Any]] = []

    class Plugin:
        @hookimpl
        def teragent_build_reliability(self, config: dict[str, Any], loop_config: Any,
                                       bus: Any) -> Any:
            seen.append(config)
            return SimpleNamespace(breakers=[breaker], recovery=recovery, rate_limiter=None)

    _kernel_only_host.add_plugin(Plugin(), name="fake-reliability")
    agent = build(tmp_path, {"circuit_breaker": {"max_consecutive_failures": 1}})
    assert agent.runtime.breakers == [breaker] and agent.recovery_manager is recovery
    assert seen[0]["circuit_breaker"] == {"max_consecutive_failures": 1}


@pytest.mark.parametrize("table", ["circuit_breaker", "recovery", "rate_limit"])
def test_configured_protection_without_a_plugin_is_refused(tmp_path, table):
    with pytest.raises(MissingPluginError, match="pip install teragent-reliability") as info:
        build(tmp_path, {table: {"anything": 1}})
    assert f"[{table}]" in str(info.value)


def test_one_cost_record_two_spellings():
    record = TAPCostRecord(driver_name="a.b", cost_cny=0.5, cost_saved_cny=0.1,
                           timestamp=0.0)
    assert (record.provider, record.cost, record.cost_saved) == ("a.b", 0.5, 0.1)
    assert (record.driver_name, record.cost_cny, record.cost_saved_cny) == ("a.b", 0.5, 0.1)
    assert TAPCostRecord.from_dict(record.to_dict()) == record
    old = {"driver_name": "a.b", "cost_cny": 0.5, "timestamp": 0.0, "unknown": 1}
    assert TAPCostRecord.from_dict(old).cost == 0.5
    assert len(record.date_str) == 10 and record.month_str == record.date_str[:7]


def test_pricing_has_one_rule():
    price = {"input": 4.0, "output": 16.0, "cache_hit": 1.0}
    cost, saved = price_call(price, 5000, 2000, 3000)
    assert cost == pytest.approx((2000 * 4 + 3000 * 1 + 2000 * 16) / 1e6)
    assert saved == pytest.approx(3000 * 3 / 1e6)
    assert price_call(price, 10, 0, 50) == price_call(price, 10, 0, 10)  # cache <= prompt
    assert price_call(None, 10, 10) == (0.0, 0.0)
    # The tracker prices a record that carries no cost, by driver name or model name.
    tracker = CostTracker({"drv": price, "model-x": {"input": 1.0}})
    by_driver = tracker.add(TAPCostRecord(provider="drv", model="m", prompt_tokens=5000,
                                          completion_tokens=2000, cache_hit_tokens=3000))
    assert (by_driver.cost, by_driver.cost_saved) == (cost, saved)
    by_model = tracker.add(TAPCostRecord(provider="p", model="model-x", prompt_tokens=10**6))
    assert by_model.cost == 1.0
    given = tracker.add(TAPCostRecord(provider="drv", prompt_tokens=10**6, cost=7.0))
    assert given.cost == 7.0
    assert tracker.summary()["total_calls"] == 3

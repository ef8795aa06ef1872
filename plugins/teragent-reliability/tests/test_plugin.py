"""The plugin's hookimpls, its documented namespace and its cheap discovery.

What the kernel's composition root asks through ``teragent_build_reliability``: an
agent built with this plugin gets the four breakers, a recovery manager and (with
``[rate_limit]``) a rate limiter; the kernel alone builds the same agent with none.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
from typing import Any

import pytest

import teragent
import teragent_reliability
from teragent.errors import CircuitOpenError, MissingPluginError, ModelAPIError
from teragent.testing import ScriptedModel, Step, reply
from teragent.testing.hosts import isolated_host

from teragent_reliability import (
    AdaptiveRateLimiter, CircuitBreakerManager, RecoveryManager, RecoveryType,
)


def build(tmp_path: Any, config: dict[str, Any], model: Any = None, **options: Any) -> Any:
    return teragent.build_agent(config, workspace=tmp_path, tools=[],
                                provider=model or ScriptedModel([]), **options)


def test_an_agent_built_with_the_plugin_gets_breakers_and_recovery(tmp_path) -> None:
    with isolated_host(teragent_reliability):
        agent = build(tmp_path, {"circuit_breaker": {"max_consecutive_failures": 2},
                                 "recovery": {"max_retries": 4}})
    [manager] = agent.runtime.breakers
    assert isinstance(manager, CircuitBreakerManager)
    assert sorted(manager.breakers) == ["consecutive_failure", "cost_budget", "latency",
                                        "progress"]
    assert manager.config.max_consecutive_failures == 2
    assert isinstance(agent.recovery_manager, RecoveryManager)
    assert agent.recovery_manager.max_retries == 4
    assert agent.runtime.rate_limiter is None  # no [rate_limit] table


def test_the_kernel_alone_builds_the_same_agent_with_none(tmp_path) -> None:
    with isolated_host():
        agent = build(tmp_path, {})
    assert agent.runtime.breakers == [] and agent.recovery_manager is None
    assert agent.runtime.rate_limiter is None


def test_configured_protection_without_the_plugin_names_the_install(tmp_path) -> None:
    for table in ("circuit_breaker", "recovery", "rate_limit"):
        with isolated_host(), pytest.raises(MissingPluginError,
                                            match="pip install teragent-reliability"):
            build(tmp_path, {table: {"max_tokens": 5} if table == "rate_limit" else
                             {"max_retries": 1}})
    with isolated_host():  # a breaker given by argument replaces the table
        agent = build(tmp_path, {"circuit_breaker": {"max_consecutive_failures": 1}},
                      circuit_breaker=False)
    assert agent.runtime.breakers == []


def test_rate_limit_table_puts_a_limiter_on_the_provider(tmp_path) -> None:
    model = ScriptedModel([])
    model.rate_limiter = None
    with isolated_host(teragent_reliability):
        agent = build(tmp_path, {"rate_limit": {"strategy": "adaptive", "max_tokens": 5}},
                      model=model)
    assert isinstance(agent.runtime.rate_limiter, AdaptiveRateLimiter)
    assert model.rate_limiter is agent.runtime.rate_limiter


def test_the_breakers_and_the_recovery_act_in_a_run(tmp_path) -> None:
    """Transient failures are retried by the plugin's recovery; consecutive failures
    open the breaker, and an open breaker stops the next model call."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    model = ScriptedModel([Step(error=ModelAPIError("down", status=503, retryable=True)),
                           reply("recovered")])
    with isolated_host(teragent_reliability):
        agent = build(tmp_path, {"agent": {"stream": False}}, model=model,
                      recovery_manager=RecoveryManager(sleep=sleep, jitter=False))
        result = asyncio.run(agent.run("hello"))
    assert result.final_text == "recovered" and len(sleeps) == 1
    assert agent.recovery_manager.counts[RecoveryType.TRANSIENT_RETRY] == 1

    failing = ScriptedModel([Step(error=ModelAPIError("down", status=500))])
    with isolated_host(teragent_reliability):
        agent = build(tmp_path, {"agent": {"stream": False},
                                 "circuit_breaker": {"max_consecutive_failures": 1}},
                      model=failing, recovery_manager=False)
        with pytest.raises(ModelAPIError):
            asyncio.run(agent.run("hello"))
        with pytest.raises(CircuitOpenError):
            asyncio.run(agent.run("again"))


def test_the_entry_point_is_the_package() -> None:
    [ep] = [ep for ep in importlib.metadata.entry_points(group="teragent")
            if ep.name == "reliability"]
    assert ep.value == "teragent_reliability" and ep.load() is teragent_reliability


def test_documented_names() -> None:
    import teragent.reliability as documented
    from teragent.config.circuit_breaker_config import CircuitBreakerConfig
    from teragent.reliability import StepBudget
    from teragent.reliability.budget import CostRecord, StepBudget as BudgetStepBudget

    assert documented is teragent_reliability
    assert StepBudget is BudgetStepBudget is teragent.StepBudget  # the kernel's class
    assert CircuitBreakerConfig is teragent_reliability.CircuitBreakerConfig
    assert set(documented.__all__) >= {"CircuitBreakerManager", "RecoveryManager",
                                       "RateLimitHandler", "CrossModelCostTracker"}
    # CostRecord is the kernel's TAPCostRecord, under the documented spelling.
    record = CostRecord(driver_name="openai_compatible.deepseek_v4_pro",
                        compiler="deepseek_v4", model="deepseek-v4-pro", intent="design",
                        prompt_tokens=5000, completion_tokens=2000, cache_hit_tokens=3000,
                        cost_cny=0.052, cost_saved_cny=0.012, success=True,
                        latency_ms=3500.0)
    assert CostRecord is teragent.TAPCostRecord
    assert (record.driver_name, record.cost_cny, record.cost_saved_cny) == (
        "openai_compatible.deepseek_v4_pro", 0.052, 0.012)
    assert record.total_tokens == 7000 and len(record.date_str) == 10
    with pytest.raises(AttributeError):
        documented.not_a_name  # noqa: B018


def test_discovery_imports_no_submodule() -> None:
    code = ("import sys, teragent_reliability\n"
            "print(sorted(m for m in sys.modules if m.startswith('teragent_reliability.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_config_tables_are_registered_and_validate(tmp_path) -> None:
    from teragent.config.loader import load_full_config
    from teragent.errors import ConfigError

    from teragent_reliability.wiring import build_reliability

    with isolated_host(teragent_reliability) as host:
        assert {"circuit_breaker", "recovery", "rate_limit"} <= set(
            host.registry("config_tables").names())
        path = tmp_path / "agent.toml"
        path.write_text("[recovery]\nmax_retrys = 1\n")
        with pytest.raises(ConfigError, match="did you mean"):
            load_full_config(path)
    kit = build_reliability({"recovery": {"max_retries": 7}}, None, None)
    assert kit.recovery.max_retries == 7
    with pytest.raises(Exception, match="max_retrys"):
        build_reliability({"recovery": {"max_retrys": 7}}, None, None)


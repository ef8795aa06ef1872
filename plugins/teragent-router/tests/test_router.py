"""ModelRouter: each of the six steps, profile switching, traces, and the data files."""

from __future__ import annotations

import pytest

import teragent
from teragent import LongHorizonConfig, MultimodalContent, TAPRequest
from teragent.errors import ConfigError
from teragent_reliability.budget import CrossModelCostTracker, MonthlyBudgetConfig
from teragent_reliability.circuit_breaker import ModelBreakerConfig, ModelCircuitBreakerManager

from teragent_router import (
    ModelRouter, PipelineManager, PipelineProfile, RoutingReason, RoutingTable,
)

# A table with made-up names: the router must not depend on any vendor's name.
TABLE = {
    "default_driver": "a.big",
    "intent_routing": {"design": "a.big", "chat": "a.small", "plan": "b.long"},
    "multimodal_driver": "c.eyes", "desktop_driver": "c.eyes", "video_driver": "c.video",
    "long_horizon_driver": "b.marathon",
    "long_context_threshold": 100_000,
    "long_context_candidates": ["b.long", "c.eyes"],
    "cost_fallback_order": ["a.small", "b.marathon", "b.long", "a.big"],
    "degradation_map": {"a.big": "b.marathon", "b.marathon": "a.small"},
    "max_context_per_model": {"a.big": 100_000, "a.small": 100_000, "b.long": 1_000_000,
                              "b.marathon": 200_000, "c.eyes": 500_000, "c.video": 50_000},
    "model_pricing": {"a.big": {"input": 10, "output": 40}, "a.small": {"input": 1, "output": 2},
                      "b.long": {"input": 5, "output": 20}, "b.marathon": {"input": 3, "output": 9},
                      "c.eyes": {"input": 4, "output": 8}, "c.video": {"input": 6, "output": 6}},
    "compiler_map": {"a.big": "ca", "a.small": "ca", "b.long": "cb", "b.marathon": "cb",
                     "c.eyes": "cc", "c.video": "cc"},
    "multimodal_capable": ["c.eyes", "c.video"], "video_capable": ["c.video"],
}


def table() -> RoutingTable:
    return RoutingTable.from_dict(TABLE, merge=False)


def req(intent: str = "design", tokens: int = 1000, **kwargs) -> TAPRequest:
    return TAPRequest(instruction="task", meta={"intent": intent, "context_tokens": tokens},
                      **kwargs)


def steps(decision) -> list[str]:
    return [step for step, _, _ in decision.trace]


def test_step4_intent_with_full_trace():
    d = ModelRouter(routing_table=table()).route(req("chat"))
    assert (d.selected_driver, d.reason, d.selected_compiler) == (
        "a.small", RoutingReason.INTENT, "ca")
    assert steps(d) == ["multimodal", "context_length", "long_horizon", "intent", "cost",
                        "degradation"]
    assert ("intent", "a.small", "accepted: intent 'chat'") in d.trace
    assert d.estimated_cost == pytest.approx((1000 * 1 + 0 * 2) / 1e6, abs=1e-3) or \
        d.estimated_cost > 0


def test_unknown_intent_uses_default_driver():
    assert ModelRouter(routing_table=table()).route(req("other")).selected_driver == "a.big"


@pytest.mark.parametrize("kind,driver,reason", [
    ("image_url", "c.eyes", RoutingReason.MULTIMODAL_OVERRIDE),
    ("video_url", "c.video", RoutingReason.VIDEO_OVERRIDE),
])
def test_step1_multimodal(kind, driver, reason):
    d = ModelRouter(routing_table=table()).route(
        req("chat", multimodal_context=[MultimodalContent(type=kind, url="http://x")]))
    assert (d.selected_driver, d.reason) == (driver, reason)
    assert d.trace[0] == ("multimodal", driver, f"accepted: {reason.value}")
    assert ("intent", "a.small", f"skipped: {reason.value} decided already") in d.trace


def test_step1_desktop():
    d = ModelRouter(routing_table=table()).route(
        TAPRequest(instruction="click", meta={"intent": "chat", "desktop": True}))
    assert (d.selected_driver, d.reason) == ("c.eyes", RoutingReason.DESKTOP_OVERRIDE)


def test_step2_context_length_excludes_small_models():
    d = ModelRouter(routing_table=table()).route(req("chat", tokens=300_000))
    assert (d.selected_driver, d.reason) == ("b.long", RoutingReason.CONTEXT_LENGTH_OVERRIDE)
    assert ("context_length", "b.long", "accepted: fits 300000 tokens") in d.trace


def test_step2_multimodal_too_big_moves_to_a_capable_long_context_model():
    d = ModelRouter(routing_table=table()).route(
        req("chat", tokens=300_000,
            multimodal_context=[MultimodalContent(type="video_url", url="http://v")]))
    # c.video (50K) is too small and no long-context model takes video: the largest
    # model that fits gets the text.
    assert ("context_length", "c.video", "rejected: 300000 tokens > 50000") in d.trace
    assert d.selected_driver == "b.long"
    assert ("context_length", "b.long", "accepted: fits 300000 tokens (text only)") in d.trace
    d = ModelRouter(routing_table=table()).route(
        req("chat", tokens=300_000,
            multimodal_context=[MultimodalContent(type="image_url", url="http://v")]))
    assert d.selected_driver == "c.eyes"  # image-capable and big enough


def test_step3_long_horizon():
    d = ModelRouter(routing_table=table()).route(req("chat", long_horizon=LongHorizonConfig()))
    assert (d.selected_driver, d.reason) == ("b.marathon", RoutingReason.LONG_HORIZON_OVERRIDE)


def test_step3_long_horizon_too_big_for_its_driver():
    d = ModelRouter(routing_table=table()).route(
        req("chat", tokens=600_000, long_horizon=LongHorizonConfig()))
    assert d.selected_driver == "b.long"
    assert ("long_horizon", "b.marathon",
            "skipped: context_length_override decided already") in d.trace


def test_step5_cost_downgrade_when_budget_is_critical():
    tracker = CrossModelCostTracker(pricing=TABLE["model_pricing"],
                                    budget=MonthlyBudgetConfig(limit_cny=1.0))
    router = ModelRouter(routing_table=table(), cost_tracker=tracker)
    assert router.route(req("design")).selected_driver == "a.big"
    tracker.record_from_tap_response("a.big", prompt_tokens=85_000, completion_tokens=3_000)
    assert tracker.check_budget()["level"] == "critical"
    d = router.route(req("design"))
    assert (d.selected_driver, d.reason) == ("a.small", RoutingReason.COST_OPTIMIZATION)
    assert any(s == "cost" and v.startswith("rejected: budget critical") for s, _, v in d.trace)


def test_step5_uses_the_configured_downgrade_driver_and_keeps_constraints():
    tracker = CrossModelCostTracker(pricing=TABLE["model_pricing"], budget=MonthlyBudgetConfig(
        limit_cny=0.01, auto_downgrade_driver="b.marathon"))
    tracker.record_from_tap_response("a.big", prompt_tokens=10_000)
    router = ModelRouter(routing_table=table(), cost_tracker=tracker)
    assert router.route(req("design")).selected_driver == "b.marathon"
    # A 300K prompt: only long-context models qualify, the cheapest of them is chosen.
    d = router.route(req("design", tokens=300_000))
    assert d.selected_driver in ("b.long", "c.eyes")


def test_router_set_monthly_budget_and_record_usage():
    router = ModelRouter(routing_table=table())
    router.set_monthly_budget(limit_cny=0.5, warning_threshold=0.5)
    decision = router.route(req("design"))
    response = teragent.TAPResponse(raw_text="x", usage={"prompt_tokens": 40_000,
                                                         "completion_tokens": 5_000})
    status = router.record_usage(decision, response)
    assert status["level"] == "exhausted"  # 0.4 + 0.2 = 0.6 CNY of 0.5
    assert router.route(req("design")).reason is RoutingReason.COST_OPTIMIZATION


def test_step6_degradation_for_open_breaker_and_missing_provider():
    breakers = ModelCircuitBreakerManager(default_config=ModelBreakerConfig(
        max_consecutive_failures=1))
    breakers.record_failure("a.big", "down")
    router = ModelRouter(routing_table=table(), breaker_manager=breakers)
    d = router.route(req("design"))
    assert (d.selected_driver, d.reason, d.fallback_from) == (
        "b.marathon", RoutingReason.DEGRADATION, "a.big")
    assert ("degradation", "a.big", "rejected: circuit breaker open") in d.trace

    only_small = ModelRouter({"a.small": object()}, routing_table=table())
    d = only_small.route(req("design"))
    assert d.selected_driver == "a.small"
    assert ("degradation", "b.marathon", "rejected: no provider configured") in d.trace
    assert only_small.get_provider("a.small") is not None


def test_no_available_fallback_is_reported():
    d = ModelRouter({"nothing": object()}, routing_table=table()).route(req("design"))
    assert d.available is False
    assert d.trace[-1] == ("degradation", "a.big", "no available fallback")


def test_explicit_driver():
    d = ModelRouter(routing_table=table()).route(req("chat"), explicit_driver="b.long")
    assert (d.selected_driver, d.reason) == ("b.long", RoutingReason.EXPLICIT)


def test_profiles_and_switching_at_run_time():
    pm = PipelineManager(profiles={}, active="")
    pm.register_profile(PipelineProfile("prod", design_driver="a.big", plan_driver="b.long",
                                        execute_driver="b.long", review_driver="a.big"))
    pm.register_profile(PipelineProfile("cheap", design_driver="a.small",
                                        plan_driver="a.small", execute_driver="a.small",
                                        review_driver="a.small", thinking_mode="quick"))
    router = ModelRouter(routing_table=table(), pipeline_manager=pm)
    d = router.route_for_stage("plan", req())
    assert (d.selected_driver, d.reason) == ("b.long", RoutingReason.PIPELINE_PROFILE)
    assert d.trace[0] == ("pipeline_profile", "b.long", "accepted: profile 'prod'")
    assert pm.set_active_profile("cheap") and not pm.set_active_profile("missing")
    d = router.route_for_stage("plan", req())
    assert (d.selected_driver, d.thinking_mode) == ("a.small", "quick")
    # The profile's driver is still checked: images go to a capable model.
    d = router.route_for_stage("execute", req(multimodal_context=[
        MultimodalContent(type="image_url", url="http://x")]))
    assert d.selected_driver == "c.eyes"
    assert ("multimodal", "a.small", "rejected: cannot take this content") in d.trace
    assert pm.switches == [("prod", "cheap")]
    assert [x.reason for x in router.get_decision_log()] == [
        RoutingReason.PIPELINE_PROFILE, RoutingReason.PIPELINE_PROFILE,
        RoutingReason.MULTIMODAL_OVERRIDE]


def test_shipped_profiles():
    pm = PipelineManager()
    assert pm.list_profiles() == ["budget", "deep_thinking", "default", "multimodal"]
    assert pm.active_profile_name == "default"
    assert pm.get_profile("deep_thinking").thinking_mode == "max"
    assert len({pm.get_profile("budget").get_driver_for_stage(s)
                for s in ("design", "plan", "execute", "review")}) == 1


def test_routing_table_from_agent_toml(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text("""
[routing]
multimodal_driver = "x.vision"
long_context_threshold = 5000

[routing.intent_routing]
chat = "x.cheap"

[routing.model_pricing."x.cheap"]
input = 0.5
output = 1.0

[execution.pipeline]
design_driver = "x.thinker"
active_profile = "default"

[pipeline.profiles.night]
design_driver = "x.cheap"
plan_driver = "x.cheap"
execute_driver = "x.cheap"
review_driver = "x.cheap"
""")
    config = teragent.load_full_config(path)
    t = RoutingTable.from_config(config)
    assert t.multimodal_driver == "x.vision" and t.long_context_threshold == 5000
    assert t.get_intent_driver("chat") == "x.cheap"
    assert t.get_intent_driver("design") == RoutingTable().get_intent_driver("design")
    assert t.get_pricing("x.cheap") == {"input": 0.5, "output": 1.0}
    pm = PipelineManager.from_config(config)
    assert pm.get_driver("design") == "x.thinker"
    assert "night" in pm.list_profiles()
    with pytest.raises(ConfigError, match="unknown key"):
        RoutingTable.from_dict({"multimodal_drivr": "x"})


def test_defaults_are_data_not_code():
    import inspect

    import teragent_router.profiles as profiles
    import teragent_router.router as router_mod
    import teragent_router.table as table_mod

    for module in (router_mod, table_mod, profiles):
        source = inspect.getsource(module)
        for vendor in ("deepseek", "glm", "minimax", "openai_compatible."):
            assert vendor not in source.lower(), (module.__name__, vendor)
    assert RoutingTable().intent_routing  # loaded from defaults.toml


def test_documented_paths_are_this_package():
    import teragent.intent
    import teragent.router
    import teragent.router.table
    import teragent_router
    import teragent_router.intent

    assert teragent.router is teragent_router and teragent.intent is teragent_router.intent
    assert teragent.router.table.RoutingTable is RoutingTable


def test_the_router_registers_its_tables_and_discovery_stays_cheap(router_host):
    import subprocess
    import sys

    assert {"routing", "execution", "pipeline"} <= set(
        router_host.registry("config_tables").names())
    code = ("import sys, teragent_router\n"
            "print(sorted(m for m in sys.modules if m.startswith('teragent_r')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "['teragent_router']", out.stdout


def test_reliability_does_not_import_the_router():
    """The old router <-> reliability cycle: the router uses the reliability plugin's
    budget; reliability (its degradation chains included) needs nothing from here."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from teragent_reliability.recovery import DegradationChain\n"
            "from teragent_reliability.circuit_breaker import ModelCircuitBreakerManager\n"
            "import teragent_reliability.budget, teragent_reliability.wiring\n"
            "assert DegradationChain().get_full_chain('heavy')\n"
            "ModelCircuitBreakerManager().record_failure('x')\n"
            "print(sorted(m for m in sys.modules if 'router' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout

"""``ModelRouter``: picks a driver for each request in six steps, and says why.

1. **multimodal**: video → ``video_driver``, images → ``multimodal_driver``, desktop
   context → ``desktop_driver``;
2. **context length**: the candidate must fit the prompt; above
   ``long_context_threshold`` only ``long_context_candidates`` that fit are used;
3. **long-horizon**: ``request.long_horizon`` → ``long_horizon_driver`` (if it fits);
4. **intent**: ``intent_routing[request.intent]`` when nothing above decided;
5. **cost**: when the monthly budget says so, the ``auto_downgrade_driver`` or the
   cheapest driver that satisfies the constraints;
6. **degradation**: a driver without a provider, or whose per-model breaker is open,
   is replaced along ``degradation_map`` (then ``cost_fallback_order``).

Every step appends ``(step, candidate, verdict)`` to :attr:`RoutingDecision.trace`, and
every decision is kept in a bounded log (:meth:`ModelRouter.get_decision_log`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from teragent_router.profiles import PipelineManager
from teragent_router.table import RoutingTable

__all__ = ["RoutingReason", "RoutingDecision", "ModelRouter"]


class RoutingReason(str, Enum):
    INTENT = "intent"
    MULTIMODAL_OVERRIDE = "multimodal_override"
    DESKTOP_OVERRIDE = "desktop_override"
    VIDEO_OVERRIDE = "video_override"
    CONTEXT_LENGTH_OVERRIDE = "context_length_override"
    LONG_HORIZON_OVERRIDE = "long_horizon_override"
    COST_OPTIMIZATION = "cost_optimization"
    DEGRADATION = "degradation"
    PIPELINE_PROFILE = "pipeline_profile"
    EXPLICIT = "explicit"


@dataclass
class RoutingDecision:
    """One routing choice and how it was reached."""

    selected_driver: str
    selected_compiler: str = ""
    reason: RoutingReason = RoutingReason.INTENT
    intent: str = ""
    trace: list[tuple[str, str, str]] = field(default_factory=list)
    timestamp: float = field(default_factory=time.time)
    estimated_cost: float = 0.0
    context_tokens: int = 0
    fallback_from: str | None = None
    thinking_mode: str | None = None
    available: bool = True

    def add_trace(self, reason: str, candidate: str, result: str) -> None:
        self.trace.append((reason, candidate, result))

    def explain(self) -> str:
        lines = [f"{self.selected_driver} ({self.reason.value}, compiler "
                 f"{self.selected_compiler or '?'}, ~{self.context_tokens} tokens, "
                 f"~{self.estimated_cost:.4f} CNY)"]
        lines += [f"  {step:<15} {cand:<40} {verdict}" for step, cand, verdict in self.trace]
        return "\n".join(lines)


def _has(request: Any, kinds: tuple[str, ...]) -> bool:
    items = getattr(request, "multimodal_context", None) or []
    return any(getattr(item, "type", None) in kinds for item in items)


class ModelRouter:
    """Routes TAP requests to drivers.

    Args:
        available_providers: ``{driver_name: ModelProvider}``; when given, a driver
            without a provider is unavailable (step 6).
        routing_table: The rules (default: the shipped defaults).
        pipeline_manager: For :meth:`route_for_stage` (default: the shipped profiles).
        breaker_manager: A :class:`~teragent.reliability.circuit_breaker.
            ModelCircuitBreakerManager` keyed by driver name, or ``None``.
        cost_tracker: A :class:`~teragent.reliability.budget.CrossModelCostTracker`
            whose monthly budget drives step 5, or ``None``.
        log_size: How many decisions :meth:`get_decision_log` keeps.
    """

    def __init__(self, available_providers: dict[str, Any] | None = None,
                 routing_table: RoutingTable | None = None, *,
                 pipeline_manager: PipelineManager | None = None,
                 breaker_manager: Any = None, cost_tracker: Any = None,
                 log_size: int = 1000) -> None:
        self.providers = dict(available_providers or {})
        self.table = routing_table or RoutingTable()
        self.pipeline_manager = pipeline_manager or PipelineManager()
        self.breaker_manager = breaker_manager
        self.cost_tracker = cost_tracker
        self._log: deque[RoutingDecision] = deque(maxlen=log_size)

    # --- configuration ------------------------------------------------------------------

    def set_monthly_budget(self, limit_cny: float, warning_threshold: float = 0.8,
                           auto_downgrade: bool = True, **kwargs: Any) -> None:
        from teragent_reliability.budget import CrossModelCostTracker, MonthlyBudgetConfig

        defaults = dict(self.table.monthly_budget)
        defaults.update(kwargs)
        defaults.update(limit_cny=limit_cny, warning_threshold=warning_threshold,
                        auto_downgrade=auto_downgrade)
        config = MonthlyBudgetConfig.from_dict(defaults)
        if self.cost_tracker is None:
            self.cost_tracker = CrossModelCostTracker(pricing=self.table.model_pricing,
                                                      budget=config)
        else:
            self.cost_tracker.set_monthly_budget(config)

    def get_provider(self, driver_name: str) -> Any:
        return self.providers.get(driver_name)

    def get_decision_log(self) -> list[RoutingDecision]:
        return list(self._log)

    def record_usage(self, decision: RoutingDecision, response: Any,
                     latency_ms: float = 0.0, success: bool = True) -> dict[str, Any] | None:
        """Feed a finished call's usage to the cost tracker (monthly budget)."""
        if self.cost_tracker is None:
            return None
        return self.cost_tracker.record_from_tap_response(  # type: ignore[no-any-return]
            driver_name=decision.selected_driver, compiler=decision.selected_compiler,
            model=getattr(response, "model", "") or "", intent=decision.intent,
            prompt_tokens=getattr(response, "prompt_tokens", 0),
            completion_tokens=getattr(response, "completion_tokens", 0),
            cache_hit_tokens=getattr(response, "cache_hit_tokens", 0) or 0,
            latency_ms=latency_ms, success=success)

    # --- helpers --------------------------------------------------------------------------

    def _available(self, driver: str) -> tuple[bool, str]:
        if self.providers and driver not in self.providers:
            return False, "no provider configured"
        bm = self.breaker_manager
        if bm is not None:
            check = getattr(bm, "is_available", None) or bm.can_call
            if not check(driver):
                return False, "circuit breaker open"
        return True, ""

    def _first_fitting(self, drivers: list[str], tokens: int, *,
                       capable: list[str] | None = None) -> str | None:
        for d in drivers:
            if self.table.fits(d, tokens) and (capable is None or d in capable):
                return d
        return None

    # --- routing --------------------------------------------------------------------------

    def route(self, request: Any, *, explicit_driver: str | None = None) -> RoutingDecision:
        """Route ``request`` through the six steps (an explicit driver skips 1-5)."""
        explicit = explicit_driver or (getattr(request, "meta", {}) or {}).get("driver")
        return self._route(request, preset=(explicit, RoutingReason.EXPLICIT)
                           if explicit else None)

    def route_for_stage(self, stage: str, request: Any) -> RoutingDecision:
        """Route with the active pipeline profile's driver for ``stage`` as the
        candidate; multimodal, context, cost and degradation checks still apply."""
        profile = self.pipeline_manager.active_profile
        driver = profile.get_driver_for_stage(stage)
        decision = self._route(request, preset=(driver, RoutingReason.PIPELINE_PROFILE),
                               profile=profile.name)
        decision.thinking_mode = profile.thinking_mode
        return decision

    def _route(self, request: Any, *, preset: tuple[str, RoutingReason] | None = None,
               profile: str | None = None) -> RoutingDecision:
        t = self.table
        meta = getattr(request, "meta", {}) or {}
        intent = str(meta.get("intent", getattr(request, "intent", "execute")))
        tokens = int(meta.get("context_tokens") or request.estimate_prompt_tokens())
        d = RoutingDecision(selected_driver="", intent=intent, context_tokens=tokens)
        candidate: str | None = None
        reason = RoutingReason.INTENT
        if preset is not None:
            candidate, reason = preset
            d.add_trace(reason.value, candidate, "accepted: " + (
                f"profile {profile!r}" if profile else "requested explicitly"))
        explicit = reason is RoutingReason.EXPLICIT and candidate is not None

        # 1. multimodal
        video = _has(request, ("video_url", "video_base64"))
        image = _has(request, ("image_url", "image_base64"))
        desktop = bool(meta.get("desktop") or (getattr(request, "context", {}) or {})
                       .get("desktop"))
        capable: list[str] | None = None
        if explicit:
            d.add_trace("multimodal", candidate or "", "skipped: explicit driver")
        elif video or image or desktop:
            if video:
                target, why, capable = t.video_driver, RoutingReason.VIDEO_OVERRIDE, \
                    t.video_capable
            elif image:
                target, why, capable = t.multimodal_driver, \
                    RoutingReason.MULTIMODAL_OVERRIDE, t.multimodal_capable
            else:
                target, why, capable = t.desktop_driver, RoutingReason.DESKTOP_OVERRIDE, None
            if candidate is not None and (capable is None and candidate == target or
                                          capable is not None and candidate in capable):
                d.add_trace("multimodal", candidate, "accepted: already capable")
            else:
                if candidate is not None:
                    d.add_trace("multimodal", candidate, "rejected: cannot take this content")
                candidate, reason = target, why
                d.add_trace("multimodal", target, f"accepted: {why.value}")
        else:
            d.add_trace("multimodal", "-", "skipped: no images, video or desktop context")

        # 2. context length
        long_ctx = tokens > t.long_context_threshold
        if explicit:
            d.add_trace("context_length", candidate or "", "skipped: explicit driver")
        elif candidate is not None and t.fits(candidate, tokens):
            d.add_trace("context_length", candidate,
                        f"accepted: {tokens} tokens fit {t.get_max_context(candidate)}")
        elif candidate is not None or long_ctx:
            if candidate is not None:
                d.add_trace("context_length", candidate,
                            f"rejected: {tokens} tokens > {t.get_max_context(candidate)}")
            pool = t.long_context_candidates
            choice = self._first_fitting(pool, tokens, capable=capable)
            note = ""
            if choice is None and capable is not None:
                choice, note = self._first_fitting(pool, tokens), " (text only)"
            for c in pool:
                if c == choice:
                    break
                d.add_trace("context_length", c, "rejected: too small" if not t.fits(
                    c, tokens) else "rejected: cannot take this content")
            if choice is not None:
                candidate, reason = choice, RoutingReason.CONTEXT_LENGTH_OVERRIDE
                d.add_trace("context_length", choice, f"accepted: fits {tokens} tokens{note}")
            else:
                d.add_trace("context_length", "-", f"rejected: no model fits {tokens} tokens")
        else:
            d.add_trace("context_length", "-",
                        f"skipped: {tokens} tokens <= {t.long_context_threshold}")

        # 3. long-horizon
        if getattr(request, "long_horizon", None) is not None:
            lh = t.long_horizon_driver
            if candidate is not None:
                d.add_trace("long_horizon", lh, f"skipped: {reason.value} decided already")
            elif t.fits(lh, tokens):
                candidate, reason = lh, RoutingReason.LONG_HORIZON_OVERRIDE
                d.add_trace("long_horizon", lh, "accepted: long-horizon task")
            else:
                d.add_trace("long_horizon", lh, f"rejected: {tokens} tokens do not fit")
        else:
            d.add_trace("long_horizon", "-", "skipped: not a long-horizon task")

        # 4. intent
        wanted = t.get_intent_driver(intent)
        if candidate is not None:
            d.add_trace("intent", wanted, f"skipped: {reason.value} decided already")
        elif t.fits(wanted, tokens):
            candidate, reason = wanted, RoutingReason.INTENT
            d.add_trace("intent", wanted, f"accepted: intent {intent!r}")
        else:
            d.add_trace("intent", wanted, f"rejected: {tokens} tokens do not fit")
            candidate = self._first_fitting(t.long_context_candidates, tokens) or wanted
            reason = RoutingReason.CONTEXT_LENGTH_OVERRIDE
            d.add_trace("intent", candidate, "accepted: largest-context fallback")
        assert candidate is not None

        # 5. cost
        status = self.cost_tracker.check_budget() if self.cost_tracker is not None else None
        if explicit:
            d.add_trace("cost", candidate, "skipped: explicit driver")
        elif status is None:
            d.add_trace("cost", candidate, "accepted: no monthly budget")
        elif not status.get("auto_downgrade"):
            d.add_trace("cost", candidate, f"accepted: budget level {status['level']}")
        else:
            order = [status.get("downgrade_driver")] if status.get("downgrade_driver") else []
            order += t.cost_fallback_order
            here = t.estimate_cost(candidate, tokens)
            cheaper = None
            for c in order:
                if c and t.fits(c, tokens) and (capable is None or c in capable) and \
                        t.estimate_cost(c, tokens) < here:
                    cheaper = c
                    break
            if cheaper is None:
                d.add_trace("cost", candidate, f"accepted: budget {status['level']}, "
                            "no cheaper model fits")
            else:
                d.add_trace("cost", candidate, f"rejected: budget {status['level']} "
                            f"({status['utilization']:.0%} used)")
                candidate, reason = cheaper, RoutingReason.COST_OPTIMIZATION
                d.add_trace("cost", cheaper, "accepted: cheaper model")

        # 6. degradation
        ok, unavailable = self._available(candidate)
        if ok:
            d.add_trace("degradation", candidate, "accepted: available")
        else:
            d.add_trace("degradation", candidate, f"rejected: {unavailable}")
            original, seen = candidate, {candidate}
            replacement = None
            nxt = t.degradation_map.get(candidate)
            chain = []
            while nxt and nxt not in seen:
                chain.append(nxt)
                seen.add(nxt)
                nxt = t.degradation_map.get(nxt)
            chain += [c for c in t.cost_fallback_order if c not in seen]
            for c in chain:
                if not t.fits(c, tokens):
                    d.add_trace("degradation", c, "rejected: too small for the prompt")
                    continue
                c_ok, c_why = self._available(c)
                if c_ok:
                    replacement = c
                    note = " (text only)" if capable is not None and c not in capable else ""
                    d.add_trace("degradation", c, f"accepted: fallback{note}")
                    break
                d.add_trace("degradation", c, f"rejected: {c_why}")
            if replacement is None:
                d.available = False
                d.add_trace("degradation", original, "no available fallback")
            else:
                candidate, reason = replacement, RoutingReason.DEGRADATION
                d.fallback_from = original

        d.selected_driver = candidate
        d.selected_compiler = t.resolve_compiler(candidate)
        d.reason = reason
        d.estimated_cost = t.estimate_cost(candidate, tokens)
        self._log.append(d)
        return d

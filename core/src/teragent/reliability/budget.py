"""Budgets: ``StepBudget`` (agent-loop steps) and ``CrossModelCostTracker`` (money
across models, by month).

:class:`CrossModelCostTracker` prices every call from a pricing table (cache hits at
the cache price), keeps the records in a JSON-lines file so a restart does not reset
the month, and rates the month's spending against a :class:`MonthlyBudgetConfig`:

=========  ====================================================
level      when
=========  ====================================================
ok         below ``warning_threshold`` of ``limit_cny``
warning    from ``warning_threshold``
critical   from ``critical_threshold`` (the router downgrades)
exhausted  from 100% (with ``hard_stop``, calls are refused)
=========  ====================================================
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, cast

__all__ = ["StepBudget", "CostRecord", "MonthlyBudgetConfig", "CrossModelCostTracker",
           "BUDGET_LEVELS"]

#: Monthly budget levels, in order.
BUDGET_LEVELS = ("ok", "warning", "critical", "exhausted")


class StepBudget:
    """Counts steps against ``max_steps``.

    Example::

        budget = StepBudget(max_steps=50)
        if budget.consume():
            ...
        budget.resume(extra_steps=10)
    """

    def __init__(self, max_steps: int = 50) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.max_steps = max_steps
        self.current_steps = 0

    def consume(self, n: int = 1) -> bool:
        """Take ``n`` steps; ``False`` (and nothing taken) if that would overrun."""
        if self.current_steps + n > self.max_steps:
            return False
        self.current_steps += n
        return True

    @property
    def remaining(self) -> int:
        return self.max_steps - self.current_steps

    @property
    def exhausted(self) -> bool:
        return self.current_steps >= self.max_steps

    def resume(self, extra_steps: int = 10) -> None:
        """Grant ``extra_steps`` more (e.g. after the user confirms continuing)."""
        if extra_steps < 1:
            raise ValueError(f"extra_steps must be at least 1, got {extra_steps}")
        self.max_steps = max(self.max_steps, self.current_steps) + extra_steps

    def reset(self) -> None:
        self.current_steps = 0

    def __repr__(self) -> str:
        return f"StepBudget({self.current_steps}/{self.max_steps})"


@dataclass
class CostRecord:
    """One model call's cost (CNY)."""

    driver_name: str
    compiler: str = ""
    model: str = ""
    intent: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    cost_cny: float = 0.0
    cost_saved_cny: float = 0.0
    success: bool = True
    latency_ms: float = 0.0
    timestamp: float = field(default_factory=time.time)

    @property
    def date_str(self) -> str:
        return _dt.datetime.fromtimestamp(self.timestamp).strftime("%Y-%m-%d")

    @property
    def month_str(self) -> str:
        return self.date_str[:7]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CostRecord":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class MonthlyBudgetConfig:
    """The month's spending limit (``[routing.monthly_budget]`` in ``agent.toml``).

    Attributes:
        limit_cny: The cap; 0 means no limit.
        warning_threshold: Share of the cap that is a warning.
        critical_threshold: Share of the cap from which the router downgrades.
        auto_downgrade: Whether the router may switch to a cheaper model.
        auto_downgrade_driver: The model to switch to (else the cheapest that fits).
        notify_on_warning: Emit ``budget_level`` events on the bus.
        hard_stop: Refuse model calls once the month's budget is exhausted.
    """

    limit_cny: float = 0.0
    warning_threshold: float = 0.8
    critical_threshold: float = 0.95
    auto_downgrade: bool = True
    auto_downgrade_driver: str = ""
    notify_on_warning: bool = True
    hard_stop: bool = False

    def __post_init__(self) -> None:
        if self.limit_cny < 0:
            raise ValueError("limit_cny cannot be negative (0 means no limit)")
        if not 0 < self.warning_threshold < self.critical_threshold <= 1:
            raise ValueError("need 0 < warning_threshold < critical_threshold <= 1, "
                             "e.g. 0.8 and 0.95")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MonthlyBudgetConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class CrossModelCostTracker:
    """Costs of every model call, a monthly budget, and reports.

    Args:
        pricing: ``{driver_name: {"input", "output", "cache_hit"}}`` in CNY per million
            tokens (a :class:`~teragent.router.RoutingTable`'s ``model_pricing``).
        budget: The monthly budget (none: unlimited).
        storage_path: A JSON-lines file the records are appended to and loaded from.
        bus: An :class:`~teragent.EventBus` for ``budget_level`` events.
        clock: Epoch seconds (the month is the clock's local month).
    """

    def __init__(self, pricing: dict[str, dict[str, float]] | None = None,
                 budget: MonthlyBudgetConfig | None = None, *,
                 storage_path: str | os.PathLike[str] | None = None, bus: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.pricing = dict(pricing or {})
        self.budget = budget or MonthlyBudgetConfig()
        self.storage_path = Path(storage_path) if storage_path else None
        self.bus = bus
        self.clock = clock
        self.records: list[CostRecord] = []
        self._by_month: dict[str, float] = {}  # so a budget check is O(1), not O(records)
        self._lock = threading.Lock()
        self._last_level = "ok"
        if self.storage_path is not None and self.storage_path.is_file():
            self._load()
        self._last_level = self.check_budget()["level"]

    # --- persistence --------------------------------------------------------------------

    def _load(self) -> None:
        assert self.storage_path is not None
        with self.storage_path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = CostRecord.from_dict(json.loads(line))
                except (ValueError, TypeError):
                    continue  # a torn last line after a crash: skip it
                self.records.append(record)
                self._by_month[record.month_str] = \
                    self._by_month.get(record.month_str, 0.0) + record.cost_cny

    def _append(self, record: CostRecord) -> None:
        if self.storage_path is None:
            return
        self.storage_path.parent.mkdir(parents=True, exist_ok=True)
        with self.storage_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record.to_dict()) + "\n")

    # --- recording ----------------------------------------------------------------------

    def set_monthly_budget(self, config: MonthlyBudgetConfig) -> None:
        self.budget = config
        self._last_level = self.check_budget()["level"]

    def price(self, driver_name: str, prompt_tokens: int, completion_tokens: int,
              cache_hit_tokens: int = 0) -> tuple[float, float]:
        """``(cost_cny, saved_cny)`` for these tokens; cache hits at the cache price."""
        p = self.pricing.get(driver_name) or {}
        inp = float(p.get("input", 0.0))
        cache = float(p.get("cache_hit", inp))
        out = float(p.get("output", 0.0))
        cached = max(0, min(cache_hit_tokens, prompt_tokens))
        cost = ((prompt_tokens - cached) * inp + cached * cache + completion_tokens * out) / 1e6
        return cost, cached * (inp - cache) / 1e6

    def record(self, record: CostRecord) -> dict[str, Any]:
        """Keep ``record`` (and persist it); returns :meth:`check_budget`."""
        with self._lock:
            self.records.append(record)
            self._by_month[record.month_str] = \
                self._by_month.get(record.month_str, 0.0) + record.cost_cny
            self._append(record)
        status = self.check_budget()
        if status["level"] != self._last_level:
            self._last_level = status["level"]
            if self.bus is not None and self.budget.notify_on_warning:
                try:
                    self.bus.emit_nowait("budget_level", **status)
                except RuntimeError:
                    pass
        return status

    def record_from_tap_response(self, driver_name: str, compiler: str = "", model: str = "",
                                 intent: str = "", prompt_tokens: int = 0,
                                 completion_tokens: int = 0, cache_hit_tokens: int = 0,
                                 latency_ms: float = 0.0, success: bool = True) -> dict[str, Any]:
        cost, saved = self.price(driver_name, prompt_tokens, completion_tokens, cache_hit_tokens)
        return self.record(CostRecord(
            driver_name=driver_name, compiler=compiler, model=model, intent=intent,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cache_hit_tokens=cache_hit_tokens, cost_cny=cost, cost_saved_cny=saved,
            success=success, latency_ms=latency_ms, timestamp=self.clock()))

    # --- the month -----------------------------------------------------------------------

    def _month(self) -> str:
        return _dt.datetime.fromtimestamp(self.clock()).strftime("%Y-%m")

    def month_spent(self) -> float:
        return self._by_month.get(self._month(), 0.0)

    def check_budget(self) -> dict[str, Any]:
        spent = self.month_spent()
        limit = self.budget.limit_cny
        util = spent / limit if limit > 0 else 0.0
        if limit <= 0 or util < self.budget.warning_threshold:
            level = "ok"
        elif util < self.budget.critical_threshold:
            level = "warning"
        elif util < 1.0:
            level = "critical"
        else:
            level = "exhausted"
        return {"level": level, "utilization": util, "spent_cny": spent,
                "limit_cny": limit, "remaining_cny": max(0.0, limit - spent) if limit else None,
                "month": self._month(),
                "auto_downgrade": self.budget.auto_downgrade and level in ("critical",
                                                                           "exhausted"),
                "downgrade_driver": self.budget.auto_downgrade_driver or None}

    @property
    def is_budget_warning(self) -> bool:
        return cast(str, self.check_budget()["level"]) != "ok"

    @property
    def is_budget_exhausted(self) -> bool:
        return cast(str, self.check_budget()["level"]) == "exhausted"

    @property
    def should_auto_downgrade(self) -> bool:
        return bool(self.check_budget()["auto_downgrade"])

    @property
    def total_records(self) -> int:
        return len(self.records)

    def check_before_call(self, estimated_prompt_tokens: int = 0) -> Any:
        """A breaker verdict: refused once the month is exhausted with ``hard_stop``."""
        from teragent.errors import BudgetExceeded
        from teragent.reliability.breakers import BreakerVerdict

        status = self.check_budget()
        if self.budget.hard_stop and status["level"] == "exhausted":
            return BreakerVerdict(False, f"monthly budget exhausted ({status['spent_cny']:.2f}"
                                  f" of {status['limit_cny']:.2f} CNY in {status['month']})",
                                  "monthly_budget", BudgetExceeded)
        return BreakerVerdict(True)

    # --- reports -------------------------------------------------------------------------

    @staticmethod
    def _blank() -> dict[str, Any]:
        return {"calls": 0, "failures": 0, "prompt_tokens": 0, "completion_tokens": 0,
                "cache_hit_tokens": 0, "cost_cny": 0.0, "cost_saved_cny": 0.0,
                "latency_ms": 0.0}

    @staticmethod
    def _add(stats: dict[str, Any], r: CostRecord) -> None:
        stats["calls"] += 1
        stats["failures"] += 0 if r.success else 1
        stats["prompt_tokens"] += r.prompt_tokens
        stats["completion_tokens"] += r.completion_tokens
        stats["cache_hit_tokens"] += r.cache_hit_tokens
        stats["cost_cny"] += r.cost_cny
        stats["cost_saved_cny"] += r.cost_saved_cny
        stats["latency_ms"] += r.latency_ms

    def generate_report(self, group_by: str = "model", start_date: str | None = None,
                        end_date: str | None = None) -> dict[str, Any]:
        """Totals grouped by ``"model"`` (driver), ``"intent"``, ``"date"`` or
        ``"compiler"``, for records between ``start_date`` and ``end_date``
        (``YYYY-MM-DD``, inclusive)."""
        keys: dict[str, Callable[[CostRecord], str]] = {
            "model": lambda r: r.driver_name, "driver": lambda r: r.driver_name,
            "intent": lambda r: r.intent or "(none)", "date": lambda r: r.date_str,
            "compiler": lambda r: r.compiler or "(none)",
        }
        if group_by not in keys:
            raise ValueError(f"group_by must be one of {sorted(keys)}, got {group_by!r}")
        groups: dict[str, dict[str, Any]] = {}
        total = self._blank()
        for r in self.records:
            if (start_date and r.date_str < start_date) or (end_date and r.date_str > end_date):
                continue
            self._add(groups.setdefault(keys[group_by](r), self._blank()), r)
            self._add(total, r)
        return {"group_by": group_by, "start_date": start_date, "end_date": end_date,
                "groups": dict(sorted(groups.items())), "total": total}

    def get_model_stats(self, driver_name: str) -> dict[str, Any]:
        stats = self._blank()
        for r in self.records:
            if r.driver_name == driver_name:
                self._add(stats, r)
        return stats

    def get_all_model_stats(self) -> dict[str, dict[str, Any]]:
        return cast("dict[str, dict[str, Any]]", self.generate_report("model")["groups"])

    def get_cache_savings(self) -> dict[str, Any]:
        by_model: dict[str, float] = {}
        prompt = cached = 0
        for r in self.records:
            by_model[r.driver_name] = by_model.get(r.driver_name, 0.0) + r.cost_saved_cny
            prompt += r.prompt_tokens
            cached += r.cache_hit_tokens
        return {"total_saved_cny": sum(by_model.values()), "cache_hit_tokens": cached,
                "cache_hit_rate": cached / prompt if prompt else 0.0, "by_model": by_model}

"""The monthly money budget across models: ``CrossModelCostTracker``.

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

Two names here are the kernel's, re-exported where they were documented:
``StepBudget`` (:mod:`teragent.budget`) and ``CostRecord``, which *is*
:class:`teragent.TAPCostRecord` (the one cost record; it accepts and reads the
documented ``driver_name``/``cost_cny``/``cost_saved_cny`` spellings). The tracker is a
kernel :class:`~teragent.CostTracker` with a month, a budget, persistence and reports,
and prices calls with the kernel's :func:`~teragent.core.tap.price_call`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, cast

from teragent.budget import StepBudget
from teragent.core.tap import CostTracker, TAPCostRecord, price_call
from teragent.errors import BudgetExceeded

__all__ = ["StepBudget", "CostRecord", "MonthlyBudgetConfig", "CrossModelCostTracker",
           "BUDGET_LEVELS"]

#: Monthly budget levels, in order.
BUDGET_LEVELS = ("ok", "warning", "critical", "exhausted")

#: One model call's cost (CNY): the kernel's record, under its documented name here.
CostRecord = TAPCostRecord


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


class CrossModelCostTracker(CostTracker):
    """Costs of every model call, a monthly budget, and reports.

    Args:
        pricing: ``{driver_name: {"input", "output", "cache_hit"}}`` in CNY per million
            tokens (e.g. a ``teragent.router.RoutingTable``'s ``model_pricing``).
        budget: The monthly budget (none: unlimited).
        storage_path: A JSON-lines file the records are appended to and loaded from.
        bus: An :class:`~teragent.EventBus` for ``budget_level`` events.
        clock: Epoch seconds (the month is the clock's local month).
    """

    def __init__(self, pricing: Mapping[str, Mapping[str, float]] | None = None,
                 budget: MonthlyBudgetConfig | None = None, *,
                 storage_path: str | os.PathLike[str] | None = None, bus: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(pricing)
        self.budget = budget or MonthlyBudgetConfig()
        self.storage_path = Path(storage_path) if storage_path else None
        self.bus = bus
        self.clock = clock
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
        return price_call(self.pricing.get(driver_name), prompt_tokens, completion_tokens,
                          cache_hit_tokens)

    def record(self, record: CostRecord) -> dict[str, Any]:
        """Keep ``record`` (priced from the table if it has no cost yet) and persist it;
        returns :meth:`check_budget`."""
        with self._lock:
            self.add(record)
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
        from teragent_reliability.breakers import BreakerVerdict

        status = self.check_budget()
        if self.budget.hard_stop and status["level"] == "exhausted":
            return BreakerVerdict(False, f"monthly budget exhausted ({status['spent_cny']:.2f}"
                                  f" of {status['limit_cny']:.2f} CNY in {status['month']})",
                                  "monthly_budget", BudgetExceeded)
        return BreakerVerdict(True)

    # --- reports -------------------------------------------------------------------------

    def _stats(self, records: Iterable[CostRecord]) -> dict[str, Any]:
        stats = self.totals(records)  # the kernel's sums, in this report's CNY names
        stats["cost_cny"] = stats.pop("cost")
        stats["cost_saved_cny"] = stats.pop("cost_saved")
        return stats

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
        picked = [r for r in self.records
                  if not (start_date and r.date_str < start_date)
                  and not (end_date and r.date_str > end_date)]
        groups: dict[str, list[CostRecord]] = {}
        for r in picked:
            groups.setdefault(keys[group_by](r), []).append(r)
        return {"group_by": group_by, "start_date": start_date, "end_date": end_date,
                "groups": {k: self._stats(rs) for k, rs in sorted(groups.items())},
                "total": self._stats(picked)}

    def get_model_stats(self, driver_name: str) -> dict[str, Any]:
        return self._stats(r for r in self.records if r.driver_name == driver_name)

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

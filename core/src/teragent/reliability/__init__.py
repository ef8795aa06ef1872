"""Reliability: step budgets (circuit breakers and recovery arrive with their plugins)."""

from teragent.reliability.budget import StepBudget

__all__ = ["StepBudget"]

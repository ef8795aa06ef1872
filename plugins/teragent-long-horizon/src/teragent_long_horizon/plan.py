"""Reading a decomposition from the model's reply and ordering it (a DAG)."""

from __future__ import annotations

from typing import Any

from teragent_long_horizon.models import SubGoal, extract_json

__all__ = ["parse_sub_goals", "dependency_order"]


def parse_sub_goals(raw: str) -> list[SubGoal]:
    """Sub-goals from a reply holding ``{"sub_goals": [...]}`` or a bare list.

    Raises:
        ValueError: naming what is wrong (no JSON, a missing field, a duplicate id, an
            unknown dependency, a cycle).
    """
    data = extract_json(raw)
    items: Any = data.get("sub_goals") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError('expected {"sub_goals": [...]} with at least one sub-goal')
    goals: list[SubGoal] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValueError(f"sub-goal #{n} is not an object")
        sid = str(item.get("id") or "").strip()
        description = str(item.get("description") or "").strip()
        if not sid or not description:
            raise ValueError(f"sub-goal #{n} needs a non-empty 'id' and 'description'")
        deps = item.get("dependencies") or []
        if isinstance(deps, str):
            deps = [deps]
        if not isinstance(deps, list):
            raise ValueError(f"sub-goal {sid!r}: 'dependencies' must be a list of ids")
        try:
            steps = max(1, int(item.get("estimated_steps") or 10))
        except (TypeError, ValueError):
            raise ValueError(f"sub-goal {sid!r}: 'estimated_steps' must be a number") from None
        goals.append(SubGoal(id=sid, description=description,
                             completion_criteria=str(item.get("completion_criteria") or ""),
                             estimated_steps=steps, dependencies=[str(d) for d in deps]))
    return dependency_order(goals)


def dependency_order(goals: list[SubGoal]) -> list[SubGoal]:
    """``goals`` in an order where every sub-goal follows its dependencies (stable:
    among ready ones, the given order wins).

    Raises:
        ValueError: duplicate ids, an unknown dependency or a cycle.
    """
    by_id: dict[str, SubGoal] = {}
    for goal in goals:
        if goal.id in by_id:
            raise ValueError(f"sub-goal id {goal.id!r} is used twice")
        by_id[goal.id] = goal
    for goal in goals:
        unknown = [d for d in goal.dependencies if d not in by_id]
        if unknown:
            raise ValueError(f"sub-goal {goal.id!r} depends on unknown id(s) "
                             f"{', '.join(map(repr, unknown))}; known: {', '.join(by_id)}")
        if goal.id in goal.dependencies:
            raise ValueError(f"sub-goal {goal.id!r} depends on itself")
    ordered: list[SubGoal] = []
    placed: set[str] = set()
    pending = list(goals)
    while pending:
        ready = [g for g in pending if all(d in placed for d in g.dependencies)]
        if not ready:
            cycle = ", ".join(g.id for g in pending)
            raise ValueError(f"the dependencies form a cycle among: {cycle}")
        for goal in ready:
            ordered.append(goal)
            placed.add(goal.id)
        pending = [g for g in pending if g.id not in placed]
    return ordered

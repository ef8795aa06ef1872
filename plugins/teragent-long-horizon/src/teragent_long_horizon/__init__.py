"""TerAgent plugin: long-horizon autonomous tasks, served as the documented
``teragent.long_horizon``.

Example::

    from teragent.long_horizon import LongHorizonTaskManager
    from teragent.core.tap import LongHorizonConfig

    manager = LongHorizonTaskManager(goal="Implement a user management system",
                                     model_provider=provider,
                                     config=LongHorizonConfig(max_duration_hours=4))
    result = await manager.execute_long_task()

Every phase runs an agent built by the kernel's composition root
(:func:`teragent.compose.build_agent`), so guards, breakers, traces and the audit log
apply inside a long task as in any other run. Hookimpls: the ``[long_horizon]`` table
(:mod:`teragent_long_horizon.config`) and, while a task runs, a status recorder for the
agents it builds (``TAPResponse.long_horizon_status``, :mod:`teragent_long_horizon.status`).
Its names load on first use.
"""

from __future__ import annotations

import sys
from typing import Any

from teragent import hookimpl
from teragent.lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["SubGoal", "PhaseResult", "LongHorizonResult", "LongHorizonTaskManager",
           "LongHorizonError", "SelfEvaluator", "SelfEvaluationResult", "StrategySwitcher",
           "StrategySwitchRecord", "BUILTIN_STRATEGIES", "Checkpoint", "CheckpointStore",
           "ProgressTracker", "ProgressReport"]

_WHERE = {
    **dict.fromkeys(["SubGoal", "PhaseResult", "LongHorizonResult", "LongHorizonError"],
                    "teragent_long_horizon.models"),
    "LongHorizonTaskManager": "teragent_long_horizon.manager",
    **dict.fromkeys(["SelfEvaluator", "SelfEvaluationResult"],
                    "teragent_long_horizon.evaluator"),
    **dict.fromkeys(["StrategySwitcher", "StrategySwitchRecord", "BUILTIN_STRATEGIES"],
                    "teragent_long_horizon.strategy"),
    **dict.fromkeys(["Checkpoint", "CheckpointStore"], "teragent_long_horizon.checkpoint"),
    **dict.fromkeys(["ProgressTracker", "ProgressReport"], "teragent_long_horizon.progress"),
}



@hookimpl
def teragent_register_config_tables(register: Any) -> None:
    register("long_horizon", "teragent_long_horizon.config:LongHorizonSettings",
             description="Long-horizon tasks: time limit, checkpoints, self-evaluation, "
                         "strategy switches")


@hookimpl
def teragent_observe_agent(config: dict[str, Any], workspace: str, bus: Any) -> Any:
    # No task can be running before the status module is imported (the manager imports
    # it): an ordinary build pays one dict lookup.
    status = sys.modules.get("teragent_long_horizon.status")
    manager = status.current_manager() if status is not None else None
    return status.StatusRecorder(manager) if manager is not None else None


__getattr__ = lazy_exports(__name__, _WHERE, globals())

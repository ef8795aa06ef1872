"""TerAgent plugin: the five standard orchestration patterns.

Only the hookimpl lives here; the pattern classes are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register

_MODULE = "teragent_patterns.patterns"


@hookimpl
def teragent_register_patterns(register: Register) -> None:
    register("sequential", f"{_MODULE}:SequentialPattern",
             description="A → B → C; each agent sees the previous output")
    register("swarm", f"{_MODULE}:SwarmPattern",
             description="Control moves through transfer_to_<agent> tool calls")
    register("parallel", f"{_MODULE}:ParallelPattern",
             description="Fan-out to every agent at once, fan-in through a merge step")
    register("conditional", f"{_MODULE}:ConditionalPattern",
             description="A router agent picks the agent that handles the task")
    register("loop", f"{_MODULE}:LoopPattern",
             description="Generator-critic rounds until an exit condition or a bound")

"""Multi-model routing: :class:`ModelRouter`, :class:`RoutingTable`, pipeline profiles.

The routing data (drivers per intent, context sizes, prices, fallbacks, profiles)
ships as ``teragent/router/defaults.toml`` and is overridden by ``[routing]`` in
``agent.toml``; the router's code names no vendor.
"""

from teragent.router.profiles import STAGES, PipelineManager, PipelineProfile
from teragent.router.router import ModelRouter, RoutingDecision, RoutingReason
from teragent.router.table import RoutingTable

__all__ = ["ModelRouter", "RoutingDecision", "RoutingReason", "RoutingTable",
           "PipelineManager", "PipelineProfile", "STAGES"]

"""Import shim: the ``minimax_native`` adapter ships in the ``teragent-minimax`` plugin.

``from teragent.core.adapters.minimax_native import MiniMaxNativeAdapter`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_minimax.adapter import MiniMaxNativeAdapter, MiniMaxRateLimitInfo
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'minimax_native' adapter", "teragent-minimax") from exc

__all__ = ["MiniMaxNativeAdapter", "MiniMaxRateLimitInfo"]

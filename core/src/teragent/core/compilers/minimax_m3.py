"""Import shim: the ``minimax_m3`` compiler ships in the ``teragent-minimax`` plugin.

``from teragent.core.compilers.minimax_m3 import MiniMaxM3Compiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_minimax.compiler import MiniMaxM3Compiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'minimax_m3' compiler", "teragent-minimax") from exc

__all__ = ["MiniMaxM3Compiler"]

"""Import shim: the ``deepseek_v4`` compiler ships in the ``teragent-deepseek`` plugin.

``from teragent.core.compilers.deepseek_v4 import DeepSeekV4Compiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_deepseek.compilers import DeepSeekV4Compiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'deepseek_v4' compiler", "teragent-deepseek") from exc

__all__ = ["DeepSeekV4Compiler"]

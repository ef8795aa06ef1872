"""Import shim: the ``deepseek`` compiler ships in the ``teragent-deepseek`` plugin.

``from teragent.core.compilers.deepseek import DeepSeekCompiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_deepseek.compilers import DeepSeekCompiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'deepseek' compiler", "teragent-deepseek") from exc

__all__ = ["DeepSeekCompiler"]

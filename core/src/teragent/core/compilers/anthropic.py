"""Import shim: the ``anthropic`` compiler ships in the ``teragent-anthropic`` plugin.

``from teragent.core.compilers.anthropic import AnthropicCompiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_anthropic.compiler import AnthropicCompiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'anthropic' compiler", "teragent-anthropic") from exc

__all__ = ["AnthropicCompiler"]

"""Import shim: the ``anthropic_native`` adapter ships in the ``teragent-anthropic`` plugin.

``from teragent.core.adapters.anthropic_native import AnthropicNativeAdapter`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_anthropic.adapter import AnthropicNativeAdapter
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'anthropic_native' adapter", "teragent-anthropic") from exc

__all__ = ["AnthropicNativeAdapter"]

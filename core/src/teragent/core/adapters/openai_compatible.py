"""Import shim: the ``openai_compatible`` adapter ships in the ``teragent-openai`` plugin.

``from teragent.core.adapters.openai_compatible import OpenAICompatibleAdapter`` keeps
working when the plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_openai.adapter import OpenAICompatibleAdapter
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'openai_compatible' adapter", "teragent-openai") from exc

__all__ = ["OpenAICompatibleAdapter"]

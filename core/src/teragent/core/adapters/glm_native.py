"""Import shim: the ``glm_native`` adapter ships in the ``teragent-glm`` plugin.

``from teragent.core.adapters.glm_native import GLMNativeAdapter`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_glm.adapter import GLMNativeAdapter
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'glm_native' adapter", "teragent-glm") from exc

__all__ = ["GLMNativeAdapter"]

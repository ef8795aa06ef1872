"""Import shim: the ``glm_52`` compiler ships in the ``teragent-glm`` plugin.

``from teragent.core.compilers.glm_52 import GLM52Compiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_glm.compilers import GLM52Compiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'glm_52' compiler", "teragent-glm") from exc

__all__ = ["GLM52Compiler"]

"""Import shim: the ``glm`` compiler ships in the ``teragent-glm`` plugin.

``from teragent.core.compilers.glm import GLMCompiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_glm.compilers import GLMCompiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'glm' compiler", "teragent-glm") from exc

__all__ = ["GLMCompiler"]

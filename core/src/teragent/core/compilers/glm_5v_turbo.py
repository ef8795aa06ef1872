"""Import shim: the ``glm_5v_turbo`` compiler ships in the ``teragent-glm`` plugin.

``from teragent.core.compilers.glm_5v_turbo import GLM5VTurboCompiler`` keeps working when the
plugin is installed, and names the install command when it is not.
"""

from teragent.errors import MissingPluginError

try:
    from teragent_glm.compilers import GLM5VTurboCompiler
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingPluginError("The 'glm_5v_turbo' compiler", "teragent-glm") from exc

__all__ = ["GLM5VTurboCompiler"]

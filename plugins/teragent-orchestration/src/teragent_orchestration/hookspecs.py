"""The hooks this plugin adds to TerAgent (pytest's ``pytest_addhooks`` pattern).

The kernel knows nothing of patterns or guardrails: the plugin hands this module to
the plugin host through ``teragent_add_hookspecs``, and each ``teragent_register_<kind>``
spec here opens the registry ``<kind>`` (``get_host().registry("patterns")``). A plugin
that contributes a pattern or a guardrail implements these hooks as it would a kernel
one; it may load before or after this plugin.
"""

from __future__ import annotations

from teragent.hookspecs import Register, hookspec

__all__ = ["teragent_register_guardrails", "teragent_register_patterns"]


@hookspec
def teragent_register_patterns(register: Register) -> None:
    """Registration: contribute multi-agent orchestration patterns.

    Args:
        register: ``register(name, pattern, *, description="")``; ``pattern`` is a
            :class:`~teragent.orchestration.Pattern` subclass or an import string;
            ``name`` is the value users pass as the orchestration mode.

    Returns:
        Nothing; the return value is ignored.

    Called once per plugin host, when patterns are first looked up. Must not import
    heavy modules here: register import strings.
    """


@hookspec
def teragent_register_guardrails(register: Register) -> None:
    """Registration: contribute input/output guardrails agents can name.

    Args:
        register: ``register(name, guardrail)``; a
            :class:`~teragent.orchestration.Guardrail` (instance or class) or an import
            string. ``Agent(guardrails=["name"])`` looks it up.

    Returns:
        Nothing; the return value is ignored.

    Called once per plugin host. Guardrails raise
    :class:`~teragent.errors.GuardrailTripped`; they must not have side effects.
    """

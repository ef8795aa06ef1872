"""Small test doubles shipped with the kernel (like httpx's ``MockTransport``).

- :class:`ScriptedModel` (:mod:`teragent.testing.scripted`): a model that plays scripted
  steps and fails on unexpected or unconsumed ones;
- :func:`isolated_host` (:mod:`teragent.testing.hosts`): a plugin host that loads only
  what a test asks for.

Fake vendor servers, contract suites and the pytest fixtures are in the
``teragent-testing`` distribution (:mod:`teragent_testing`). Importing this package is
cheap; each double is imported on first use.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_EXPORTS = {
    "ScriptedModel": "teragent.testing.scripted",
    "ScriptedAdapter": "teragent.testing.scripted",
    "ScriptError": "teragent.testing.scripted",
    "Step": "teragent.testing.scripted",
    "reply": "teragent.testing.scripted",
    "call_tool": "teragent.testing.scripted",
    "call_tools": "teragent.testing.scripted",
    "isolated_host": "teragent.testing.hosts",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


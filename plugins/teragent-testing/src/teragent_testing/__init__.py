"""TerAgent's test kit: fake vendor servers, contract suites and pytest fixtures.

The kernel keeps only the small doubles (:mod:`teragent.testing`: ``ScriptedModel``
and ``isolated_host``); what needs uvicorn, starlette, hypothesis or pytest lives here:

- fake servers speaking each vendor's wire protocol: :mod:`.fake_openai`,
  :mod:`.fake_anthropic`, :mod:`.fake_deepseek`, :mod:`.fake_glm`, :mod:`.fake_minimax`,
  and :mod:`.fault_server` (network faults in front of a fake);
- contract suites, each a one-class opt-in: :class:`~.contract.AdapterContract`,
  :class:`~.compiler_contract.CompilerContract`, :mod:`.escape` (sandboxes);
- :mod:`.agent_harness` (an agent loop against a family's fake), :mod:`.security`,
  :mod:`.golden`;
- the ``plugin_host`` and ``scripted_model`` fixtures (:mod:`.pytest_plugin`, loaded
  through the ``pytest11`` entry point).

Importing this package is cheap; import the module you need.
"""

"""Wire-protocol codecs shared by adapters that live in separately installed plugins.

- :mod:`teragent.core.wire.openai_chat`: OpenAI ``/chat/completions`` (and dialects).
- :mod:`teragent.core.wire.anthropic_messages`: Anthropic ``/v1/messages``.

Nothing is imported here; import the module you need.
"""

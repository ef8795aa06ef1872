"""Streaming tool execution: start safe tools while the model is still streaming.

Example::

    from teragent.streaming import StreamingToolExecutor

    executor = StreamingToolExecutor(tool_registry=registry)
    outcomes, response, stats = await executor.execute_streaming(
        stream=model.stream_chat(messages, registry.get_schemas()),
        on_text_delta=lambda text: print(text, end=""))
"""

from teragent.streaming.executor import StreamingStats, StreamingToolExecutor

__all__ = ["StreamingToolExecutor", "StreamingStats"]

"""TerAgent plugin: streaming tool execution (start safe tools while the model is still
streaming), served as the documented ``teragent.streaming``.

Example::

    from teragent.streaming import StreamingToolExecutor

    executor = StreamingToolExecutor(tool_registry=registry)
    outcomes, response, stats = await executor.execute_streaming(
        stream=model.stream_chat(messages, registry.get_schemas()),
        on_text_delta=lambda text: print(text, end=""))

The kernel's agent loop takes an executor through its ``streaming_executor`` argument
(a seam it calls by duck typing); the orchestration runtime passes one to every agent it
runs. This package registers no hooks: it is a library, listed by ``teragent plugins``.
Its names load on first use, so discovering it stays cheap.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["StreamingToolExecutor", "StreamingStats"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "teragent_streaming.executor"),
                           globals())

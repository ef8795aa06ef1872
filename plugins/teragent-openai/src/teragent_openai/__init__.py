"""TerAgent plugin: the ``openai_compatible`` adapter (OpenAI chat-completions protocol).

Only hookimpls live here; the adapter module is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("openai_compatible", "teragent_openai.adapter:OpenAICompatibleAdapter",
             description="OpenAI /chat/completions protocol with SSE streaming")

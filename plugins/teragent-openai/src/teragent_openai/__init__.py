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


@hookimpl
def teragent_register_models(register: Register) -> None:
    register("openai", "openai_compatible", base_url="https://api.openai.com/v1",
             base_url_env=("OPENAI_BASE_URL",), key_env=("OPENAI_API_KEY",),
             models={m: None for m in ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini",
                                       "gpt-4.1-nano", "o3-mini", "o4-mini")},
             description="OpenAI, or any OpenAI-compatible server at OPENAI_BASE_URL")
    register("ollama", "openai_compatible", base_url="http://localhost:11434/v1",
             base_url_env=("OLLAMA_HOST",), base_url_path="/v1",  # OLLAMA_HOST=host:port
             models={m: None for m in ("llama3.2", "llama3.1", "qwen2.5", "qwen2.5-coder",
                                       "mistral", "gemma3")},
             description="A local Ollama server (OpenAI-compatible API; no key)")

"""TerAgent plugin: the ``anthropic`` compiler and the ``anthropic_native`` adapter.

Only hookimpls live here; the components are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterPrompt


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    register("anthropic", "teragent_anthropic.compiler:AnthropicCompiler",
             description="Claude: XML tags + system/user separation (mode B)")


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("anthropic_native", "teragent_anthropic.adapter:AnthropicNativeAdapter",
             description="Anthropic /v1/messages protocol with its SSE events")


@hookimpl
def teragent_register_models(register: Register) -> None:
    register("anthropic", "anthropic_native", compiler="anthropic",
             base_url="https://api.anthropic.com/v1", base_url_env=("ANTHROPIC_BASE_URL",),
             base_url_path="/v1",  # the SDK's ANTHROPIC_BASE_URL has no version
             key_env=("ANTHROPIC_API_KEY",),
             models={m: None for m in ("claude-sonnet-4-20250514", "claude-opus-4-20250514",
                                       "claude-sonnet-4-5", "claude-haiku-4-5",
                                       "claude-3-5-haiku-latest")},
             description="Anthropic Claude (Messages API)")


@hookimpl
def teragent_register_prompts(register: RegisterPrompt) -> None:
    from teragent_anthropic.prompts import PROMPTS

    for intent, prompt in PROMPTS.items():
        register(intent, "anthropic", prompt)

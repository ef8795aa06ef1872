"""TerAgent plugin: DeepSeek compilers (``deepseek``, ``deepseek_v4``).

DeepSeek speaks the OpenAI protocol, so these compilers pair with the
``openai_compatible`` adapter (``teragent-openai``). Only hookimpls live here.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterPrompt


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    register("deepseek", "teragent_deepseek.compilers:DeepSeekCompiler",
             description="DeepSeek V3: minimalist prompts")
    register("deepseek_v4", "teragent_deepseek.compilers:DeepSeekV4Compiler",
             description="DeepSeek V4 Flash/Pro: cache-aware layout + thinking modes")


@hookimpl
def teragent_register_models(register: Register) -> None:
    register("deepseek", "openai_compatible", compiler="deepseek_v4",
             base_url="https://api.deepseek.com", base_url_env=("DEEPSEEK_BASE_URL",),
             key_env=("DEEPSEEK_API_KEY",),
             models={"deepseek-v4-flash": "deepseek_v4", "deepseek-v4-pro": "deepseek_v4",
                     "deepseek-chat": "deepseek", "deepseek-reasoner": "deepseek"},
             description="DeepSeek (OpenAI protocol, teragent-openai's adapter)")


@hookimpl
def teragent_register_prompts(register: RegisterPrompt) -> None:
    from teragent_deepseek.prompts import PROMPTS

    for compiler_type, prompts in PROMPTS.items():
        for intent, prompt in prompts.items():
            register(intent, compiler_type, prompt)

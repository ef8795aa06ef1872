"""TerAgent plugin: the ``minimax_m3`` compiler and the ``minimax_native`` adapter.

Only hookimpls live here; the components are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterPrompt


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    register("minimax_m3", "teragent_minimax.compiler:MiniMaxM3Compiler",
             description="MiniMax M3: MSA full-text injection, images/video, desktop")


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("minimax_native", "teragent_minimax.adapter:MiniMaxNativeAdapter",
             description="MiniMax M3: OpenAI + Anthropic-compatible interfaces, video, "
                         "desktop, rate-limit tracking")


@hookimpl
def teragent_register_models(register: Register) -> None:
    register("minimax", "minimax_native", compiler="minimax_m3",
             base_url="https://api.minimaxi.com/v1", base_url_env=("MINIMAX_BASE_URL",),
             key_env=("MINIMAX_API_KEY",), models={"MiniMax-M3": "minimax_m3"},
             description="MiniMax M3 (OpenAI interface)")


@hookimpl
def teragent_register_prompts(register: RegisterPrompt) -> None:
    from teragent_minimax.prompts import PROMPTS

    for compiler_type, prompts in PROMPTS.items():
        for intent, prompt in prompts.items():
            register(intent, compiler_type, prompt)

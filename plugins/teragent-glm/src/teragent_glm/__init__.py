"""TerAgent plugin: GLM compilers (``glm``, ``glm_5``, ``glm_52``, ``glm_5v_turbo``) and
the ``glm_native`` adapter.

Only hookimpls live here; the components are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterPrompt

_COMPILERS = {
    "glm": ("GLMCompiler", "GLM: recency effect, key instruction last"),
    "glm_5": ("GLM5Compiler", "GLM-5: long-horizon self-evaluation + 200K compression"),
    "glm_52": ("GLM52Compiler", "GLM-5.2: 1M context, High/Max thinking, PreservedThinking"),
    "glm_5v_turbo": ("GLM5VTurboCompiler", "GLM-5V-Turbo: images and video"),
}


@hookimpl
def teragent_register_compilers(register: Register) -> None:
    for name, (cls, description) in _COMPILERS.items():
        register(name, f"teragent_glm.compilers:{cls}", description=description)


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("glm_native", "teragent_glm.adapter:GLMNativeAdapter",
             description="Zhipu GLM chat/completions dialect: thinking, reasoning_content, "
                         "cached tokens, async chat")


@hookimpl
def teragent_register_models(register: Register) -> None:
    # GLM_API_KEY is the variable this plugin documents; ZHIPUAI_API_KEY is Zhipu's SDK's
    register("glm", "glm_native", compiler="glm_5",
             base_url="https://open.bigmodel.cn/api/paas/v4", base_url_env=("GLM_BASE_URL",),
             key_env=("GLM_API_KEY", "ZHIPUAI_API_KEY"),
             models={"glm-5": "glm_5", "glm-5.2": "glm_52", "glm-5v-turbo": "glm_5v_turbo",
                     "glm-4.6": "glm", "glm-4.5": "glm"},
             description="Zhipu GLM (native chat/completions dialect)")


@hookimpl
def teragent_register_prompts(register: RegisterPrompt) -> None:
    from teragent_glm.prompts import PROMPTS

    for compiler_type, prompts in PROMPTS.items():
        for intent, prompt in prompts.items():
            register(intent, compiler_type, prompt)

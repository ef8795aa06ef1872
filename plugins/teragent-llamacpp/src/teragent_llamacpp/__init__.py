"""TerAgent plugin ``llamacpp``: a GGUF model run in-process by llama.cpp.

Hookimpls only; the adapter lives in :mod:`teragent_llamacpp.adapter` and is imported on
first use, so discovering this plugin never imports ``llama_cpp``.
"""

from __future__ import annotations

from typing import Any

from teragent.hookspecs import Register, hookimpl

DEFAULT_ALIAS = "smollm2-135m-instruct"


@hookimpl
def teragent_register_adapters(register: Register) -> None:
    register("llamacpp", "teragent_llamacpp.adapter:LlamaCppAdapter",
             description="A GGUF model run in-process by llama.cpp (no network)")


@hookimpl
def teragent_register_models(register: Register) -> None:
    from teragent_llamacpp.models import ALIASES  # a table of names; no llama_cpp import

    register("llamacpp", "llamacpp", models={name: None for name in ALIASES},
             description="A GGUF file run in-process (llamacpp:ALIAS or a .gguf path)")


@hookimpl
def teragent_default_driver(config: dict[str, Any]) -> dict[str, Any] | None:
    """Offer the embedded SmolLM2 model when its file is installed (metadata lookup only)."""
    from teragent_llamacpp.models import find_alias

    if find_alias(DEFAULT_ALIAS) is None:
        return None
    return {"adapter": "llamacpp", "compiler": "default", "model": DEFAULT_ALIAS,
            "name": "llamacpp.smollm2"}

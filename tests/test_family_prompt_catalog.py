"""With the four family plugins loaded, the catalog is 9 intents × 9 compiler types.

The host holds exactly the kernel's built-in plugin and the four family plugins (each
registering its column through ``teragent_register_prompts``), whatever else is
installed in the environment.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from teragent.core.prompts import get_system_prompt_for_intent, list_compiler_types, list_intents
from teragent.testing.hosts import isolated_host

FAMILIES = [pytest.importorskip(m) for m in
            ("teragent_anthropic", "teragent_glm", "teragent_deepseek", "teragent_minimax")]


@pytest.fixture(autouse=True)
def _families_host() -> Iterator[None]:
    with isolated_host(*FAMILIES):
        yield

INTENTS = ["chat", "chat_friendly", "code_generation", "design", "execute", "plan", "replan",
           "review", "sub_agent"]
TYPES = ["anthropic", "deepseek", "deepseek_v4", "default", "glm", "glm_5", "glm_52",
         "glm_5v_turbo", "minimax_m3"]


def test_catalog_is_complete() -> None:
    assert list_intents() == INTENTS
    assert list_compiler_types() == TYPES
    for compiler_type in TYPES:
        prompts = {i: get_system_prompt_for_intent(i, compiler_type) for i in INTENTS}
        assert prompts["code_generation"] == prompts["execute"]
        own = {i: p for i, p in prompts.items() if i != "code_generation"}
        assert len(set(own.values())) == len(own), f"{compiler_type}: duplicate prompts"
        if compiler_type != "default":
            default = get_system_prompt_for_intent("execute", "default")
            assert prompts["execute"] != default, f"{compiler_type} falls back to default"

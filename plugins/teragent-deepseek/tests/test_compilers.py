"""DeepSeek compilers: contract properties, goldens, and the cache-aware prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teragent.core.tap import MultimodalContent, TAPRequest
from teragent.errors import IncompatiblePromptError, UserError
from teragent_testing.compiler_contract import CompilerContract
from teragent_testing.golden import assert_golden
from teragent_deepseek.compilers import DeepSeekCompiler, DeepSeekV4Compiler

GOLDEN = Path(__file__).parent / "golden"
TOOLS = [
    {"type": "function", "function": {"name": "write_file", "description": "Write",
                                      "parameters": {"type": "object", "required": ["path"],
                                                     "properties": {"path": {}}}}},
    {"type": "function", "function": {"name": "read_file", "description": "Read",
                                      "parameters": {"type": "object"}}},
]
CASES: dict[str, TAPRequest] = {
    "basic": TAPRequest(meta={"intent": "code_generation"},
                        context={"design": "A login module.", "memory": ["used bcrypt"]},
                        instruction="Implement user login module",
                        constraints=["Python 3.10+"], output_format_hint="one file",
                        tools=TOOLS),
    "design_deep": TAPRequest(meta={"intent": "design"}, instruction="Design a cache",
                              thinking_mode="deep"),
    "chat_quick_no_cache": TAPRequest(meta={"intent": "chat"}, instruction="hi",
                                      thinking_mode="quick", cache_preference="none",
                                      tools=TOOLS),
}
FACTORIES = {"deepseek": DeepSeekCompiler,
             "deepseek_v4_flash": lambda: DeepSeekV4Compiler(variant="flash"),
             "deepseek_v4_pro": lambda: DeepSeekV4Compiler(variant="pro")}


class TestContract(CompilerContract):
    compilers = dict(FACTORIES)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_golden(name: str) -> None:
    compiler = FACTORIES[name]()
    out: dict[str, Any] = {case: compiler.compile(r).model_dump() for case, r in CASES.items()}
    assert_golden(GOLDEN / f"{name}.json", out)


def _prefix(request: TAPRequest, **options: Any) -> bytes:
    compiled = DeepSeekV4Compiler(**options).compile(request)
    assert compiled.messages and compiled.messages[-1]["role"] == "user", "user turn last"
    return json.dumps({"messages": compiled.messages[:-1], "tools": compiled.tools},
                      ensure_ascii=False).encode()


_text = st.text(min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(first=_text, second=_text, constraints=st.lists(_text, max_size=3),
       other_constraints=st.lists(_text, max_size=3), fmt=st.one_of(st.none(), _text),
       thinking=st.sampled_from([None, "auto", "deep", "quick"]),
       tool_order=st.permutations(TOOLS), variant=st.sampled_from(["flash", "pro"]))
def test_v4_prefix_is_byte_identical_when_only_the_user_turn_differs(
        first: str, second: str, constraints: list[str], other_constraints: list[str],
        fmt: str | None, thinking: str | None, tool_order: list[dict[str, Any]],
        variant: str) -> None:
    shared = {"meta": {"intent": "execute"}, "context": {"design": "D", "plan": {"b": 1, "a": 2}}}
    a = TAPRequest(**shared, instruction=first, constraints=constraints, tools=TOOLS)
    b = TAPRequest(**shared, instruction=second, constraints=other_constraints,
                   output_format_hint=fmt, thinking_mode=thinking, tools=tool_order)
    assert _prefix(a, variant=variant) == _prefix(b, variant=variant)


def test_v4_extra_keys_and_variants() -> None:
    flash = DeepSeekV4Compiler().compile(CASES["basic"])
    assert flash.extra == {"cache_aware": True, "variant": "flash", "thinking_mode": "auto",
                           "thinking": {"type": "disabled"}}
    pro = DeepSeekV4Compiler(variant="pro").compile(CASES["basic"])
    assert pro.extra["variant"] == "pro" and pro.extra["thinking"] == {"type": "enabled"}
    assert DeepSeekV4Compiler().compile(CASES["design_deep"]).extra["thinking"] == {
        "type": "enabled"}
    no_cache = DeepSeekV4Compiler().compile(CASES["chat_quick_no_cache"])
    assert no_cache.extra["cache_aware"] is False and no_cache.tools == TOOLS
    assert [t["function"]["name"] for t in flash.tools or []] == ["read_file", "write_file"]
    with pytest.raises(UserError, match="variant"):
        DeepSeekV4Compiler(variant="ultra")


def test_text_only() -> None:
    request = TAPRequest(instruction="x", multimodal_context=[
        MultimodalContent(type="image_url", url="https://example.test/a.png")])
    for factory in FACTORIES.values():
        with pytest.raises(IncompatiblePromptError, match="text-only"):
            factory().compile(request)


def test_driver_config_variant_reaches_the_compiler() -> None:
    from teragent.config.driver_config import DriverConfig

    kwargs = DriverConfig(compiler="deepseek_v4", compiler_variant="pro", model="m",
                          adapter="mock").to_create_provider_kwargs()
    from teragent.core.provider import create_provider

    provider = create_provider(**kwargs)
    assert isinstance(provider.compiler, DeepSeekV4Compiler)
    assert provider.compiler.variant == "pro"

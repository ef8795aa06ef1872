"""GLM compilers: contract properties, golden outputs, and each family feature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teragent_openai.multimodal import MultimodalContentError
from teragent.core.tap import LongHorizonConfig, MultimodalContent, TAPRequest
from teragent.errors import IncompatiblePromptError
from teragent_testing.compiler_contract import CompilerContract, prompt_texts
from teragent_testing.golden import assert_golden
from teragent_glm.compilers import (
    GLM5Compiler, GLM5VTurboCompiler, GLM52Compiler, GLMCompiler, compress_context,
)

GOLDEN = Path(__file__).parent / "golden"
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                           "parameters": {"type": "object"}}}]
IMAGE = MultimodalContent(type="image_url", url="https://example.test/ui.png", detail="high")

CASES: dict[str, TAPRequest] = {
    "basic": TAPRequest(meta={"intent": "code_generation", "task_id": "1.1"},
                        context={"design": "A login module.", "plan": {"step": 1}},
                        instruction="Implement user login module",
                        constraints=["Python 3.10+", "No new dependencies"],
                        output_format_hint="<file path='...'>complete code</file>",
                        tools=TOOLS),
    "review": TAPRequest(meta={"intent": "review"}, instruction="Review auth.py"),
    "long_horizon": TAPRequest(meta={"intent": "execute"}, instruction="Migrate the DB",
                               long_horizon=LongHorizonConfig(max_duration_hours=8)),
    "max_thinking_preserved": TAPRequest(
        meta={"intent": "execute", "preserved_thinking": ["Earlier: chose SQLite."]},
        instruction="Add the index", thinking_mode="max"),
    "vision": TAPRequest(meta={"intent": "execute"}, instruction="Build this UI",
                         multimodal_context=[IMAGE]),
}
FACTORIES = {"glm": GLMCompiler, "glm_5": GLM5Compiler, "glm_52": GLM52Compiler,
             "glm_5v_turbo": GLM5VTurboCompiler}


class TestContract(CompilerContract):
    compilers = dict(FACTORIES)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_golden(name: str) -> None:
    compiler = FACTORIES[name]()
    out: dict[str, Any] = {}
    for case, request in CASES.items():
        try:
            out[case] = compiler.compile(request).model_dump()
        except IncompatiblePromptError as exc:
            out[case] = {"error": type(exc).__name__}
    assert_golden(GOLDEN / f"{name}.json", out)


def test_recency_key_instruction_last() -> None:
    compiled = GLMCompiler().compile(CASES["basic"])
    user = compiled.messages[-1]["content"]  # type: ignore[index]
    assert user.rstrip().endswith("Implement user login module")
    assert user.index("# Constraints") < user.index("# Output format") < user.index("# Task")


def test_glm5_injects_self_evaluation_only_for_long_horizon() -> None:
    plain = GLM5Compiler().compile(CASES["basic"])
    long = GLM5Compiler().compile(CASES["long_horizon"])
    assert "self-evaluate" not in prompt_texts(plain)
    assert "self-evaluate" in long.messages[0]["content"]  # type: ignore[index]
    assert long.extra["self_evaluation"] is True
    assert long.extra["long_horizon"]["max_duration_hours"] == 8


def test_glm5_compresses_long_context_to_200k_but_never_the_task() -> None:
    big = "x" * 1_200_000  # ~300K tokens
    request = TAPRequest(context={"log": big, "note": "keep me"}, instruction="Fix it",
                         constraints=["c1"], output_format_hint="diff")
    compiled = GLM5Compiler().compile(request)
    text = prompt_texts(compiled)
    assert compiled.extra["context_compressed"] is True
    assert len(text) < 200_000 * 4 and "characters omitted" in text
    assert "keep me" in text and "Fix it" in text and "c1" in text and "diff" in text
    # GLM-5.2 has 1M: the same request fits whole, until it is degraded to 200K
    assert "context_compressed" not in GLM52Compiler().compile(request).extra
    assert GLM52Compiler(degraded=True).compile(request).extra["context_compressed"] is True


def test_compress_context_keeps_small_values_whole() -> None:
    out, cut = compress_context({"a": "short", "b": "y" * 40_000}, budget_tokens=2_000)
    assert cut and out["a"] == "short" and len(out["b"]) < 40_000
    assert out["b"].startswith("y") and out["b"].endswith("y")


@pytest.mark.parametrize("mode, expected", [(None, "high"), ("high", "high"), ("max", "max"),
                                            ("deep", "max"), ("quick", "quick")])
def test_glm52_dual_thinking(mode: str | None, expected: str) -> None:
    compiled = GLM52Compiler().compile(TAPRequest(instruction="x", thinking_mode=mode))
    assert compiled.extra["thinking_mode"] == expected
    assert ("Thinking mode: MAX" in prompt_texts(compiled)) == (expected == "max")
    if expected == "quick":
        assert compiled.extra["thinking"] == {"type": "disabled"}
        assert "reasoning_effort" not in compiled.extra
    else:  # High and Max differ on the wire: the documented reasoning_effort
        assert compiled.extra["thinking"] == {"type": "enabled"}
        assert compiled.extra["reasoning_effort"] == expected


def test_glm52_preserved_thinking_and_vision_coordination() -> None:
    compiled = GLM52Compiler().compile(CASES["max_thinking_preserved"])
    assert compiled.extra["preserved_thinking"] is True
    assert "Earlier: chose SQLite." in prompt_texts(compiled)
    off = GLM52Compiler(preserved_thinking=False).compile(CASES["max_thinking_preserved"])
    assert off.extra["preserved_thinking"] is False
    assert "Earlier: chose SQLite." not in prompt_texts(off)
    vision = GLM52Compiler().compile(CASES["vision"])
    assert vision.extra["vision_coordination"] is True
    assert vision.extra["vision_model"] == "glm-5v-turbo"
    assert vision.messages[-1]["content"][0]["image_url"]["url"] == IMAGE.url  # type: ignore[index]


def test_5v_turbo_carries_images_and_video() -> None:
    video = MultimodalContent(type="video_base64", data="AAAA", mime_type="video/mp4")
    compiled = GLM5VTurboCompiler().compile(TAPRequest(instruction="what is shown",
                                                       multimodal_context=[IMAGE, video]))
    parts = compiled.messages[-1]["content"]  # type: ignore[index]
    assert [p["type"] for p in parts] == ["image_url", "video_url", "text"]
    assert parts[1]["video_url"]["url"] == "data:video/mp4;base64,AAAA"
    with pytest.raises(MultimodalContentError, match="mime_type"):
        GLM5VTurboCompiler().compile(TAPRequest(instruction="x", multimodal_context=[
            MultimodalContent(type="image_base64", data="AAAA")]))

"""The ``anthropic`` compiler: contract properties, goldens, XML structure, mode B."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teragent.core.tap import MultimodalContent, TAPRequest
from teragent.errors import IncompatiblePromptError
from teragent_testing.compiler_contract import CompilerContract
from teragent_testing.golden import assert_golden
from teragent_anthropic.compiler import AnthropicCompiler, xml_escape_tag

GOLDEN = Path(__file__).parent / "golden"
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                           "parameters": {"type": "object"}}}]
IMAGE = MultimodalContent(type="image_base64", data="iVBORw0KGgo=", mime_type="image/png")
CASES: dict[str, TAPRequest] = {
    "basic": TAPRequest(meta={"intent": "code_generation"},
                        context={"design": "A login module.", "design doc": {"v": 2}},
                        instruction="Implement user login module",
                        constraints=["Python 3.10+", "No new dependencies"],
                        output_format_hint="<file path='...'>complete code</file>",
                        tools=TOOLS),
    "review_deep_no_cache": TAPRequest(meta={"intent": "review"}, instruction="Review it",
                                       thinking_mode="deep", cache_preference="none"),
    "image": TAPRequest(meta={"intent": "chat"}, instruction="What is in the picture?",
                        multimodal_context=[IMAGE]),
}


class TestContract(CompilerContract):
    compilers = {"anthropic": AnthropicCompiler}


def test_golden() -> None:
    out: dict[str, Any] = {k: AnthropicCompiler(max_tokens=2048).compile(r).model_dump()
                           for k, r in CASES.items()}
    assert_golden(GOLDEN / "anthropic.json", out)


def test_mode_b_with_xml_sections() -> None:
    compiled = AnthropicCompiler().compile(CASES["basic"])
    assert compiled.mode == "system_user"
    user = compiled.user_message or ""
    assert "<context>\n<design>\nA login module.\n</design>" in user
    assert "<design_doc>" in user
    assert "<instructions>\nImplement user login module\n</instructions>" in user
    assert "<constraint>Python 3.10+</constraint>" in user
    assert user.endswith("</output_format>")
    assert compiled.extra == {"prompt_caching": True}
    assert compiled.tools == TOOLS


def test_images_make_mode_a_with_parts_and_video_is_refused() -> None:
    compiled = AnthropicCompiler().compile(CASES["image"])
    assert compiled.mode == "messages"
    parts = compiled.messages[-1]["content"]  # type: ignore[index]
    assert parts[0] == {"type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    assert "<instructions>" in parts[-1]["text"]
    with pytest.raises(IncompatiblePromptError, match="video"):
        AnthropicCompiler().compile(TAPRequest(instruction="x", multimodal_context=[
            MultimodalContent(type="video_url", url="https://example.test/v.mp4")]))


def test_tag_names_are_safe() -> None:
    assert xml_escape_tag("design doc") == "design_doc"
    assert xml_escape_tag("1st") == "_1st"
    assert xml_escape_tag("<x>") == "_x_"

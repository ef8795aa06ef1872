"""The ``minimax_m3`` compiler: contract properties, goldens, MSA, media, desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teragent_openai.multimodal import MultimodalContentError
from teragent.core.tap import MultimodalContent, TAPRequest
from teragent.errors import UserError
from teragent_testing.compiler_contract import CompilerContract, prompt_texts
from teragent_testing.golden import assert_golden
from teragent_minimax.compiler import DESKTOP_ACTIONS, MiniMaxM3Compiler

GOLDEN = Path(__file__).parent / "golden"
VIDEO = MultimodalContent(type="video_url", url="https://example.test/demo.mp4")
IMAGE = MultimodalContent(type="image_url", url="https://example.test/shot.png")
DESKTOP = {"screenshot": "data:image/png;base64,iVBORw0KGgo=", "active_window": "Terminal",
           "interactive_elements": [{"id": 3, "role": "button", "label": "Run"}],
           "screen_size": "1920x1080"}
CASES: dict[str, TAPRequest] = {
    "basic": TAPRequest(meta={"intent": "code_generation"},
                        context={"design": "A login module.", "spec": {"auth": "jwt"}},
                        instruction="Implement user login module",
                        constraints=["Python 3.10+"], output_format_hint="one file",
                        tools=[{"type": "function", "function": {"name": "ls"}}]),
    "video_summarize": TAPRequest(meta={"intent": "chat", "video_mode": "summarize"},
                                  instruction="Summarise the demo",
                                  multimodal_context=[IMAGE, VIDEO]),
    "desktop": TAPRequest(meta={"intent": "execute"}, instruction="Run the tests",
                          context={"desktop": DESKTOP}),
}


class TestContract(CompilerContract):
    compilers = {"minimax_m3": MiniMaxM3Compiler}


def test_golden() -> None:
    out: dict[str, Any] = {k: MiniMaxM3Compiler().compile(r).model_dump()
                           for k, r in CASES.items()}
    assert_golden(GOLDEN / "minimax_m3.json", out)


def test_msa_full_text_injection_never_cuts_context() -> None:
    big = "z" * 2_000_000
    compiled = MiniMaxM3Compiler().compile(TAPRequest(context={"log": big},
                                                      instruction="find the error"))
    assert big in prompt_texts(compiled) and compiled.extra["msa_full_text"] is True
    assert '<document title="log">' in prompt_texts(compiled)


def test_video_hints() -> None:
    compiled = MiniMaxM3Compiler().compile(CASES["video_summarize"])
    assert compiled.extra["minimax_video_mode"] == "summarize"
    assert compiled.extra["minimax_frame_sampling"] == "auto"
    parts = compiled.messages[-1]["content"]  # type: ignore[index]
    assert [p["type"] for p in parts] == ["image_url", "video_url", "text"]
    no_video = MiniMaxM3Compiler().compile(CASES["basic"])
    assert "minimax_video_mode" not in no_video.extra
    with pytest.raises(UserError, match="frame_sampling"):
        MiniMaxM3Compiler(frame_sampling="sometimes").compile(CASES["video_summarize"])


def test_desktop_context_becomes_instructions_and_a_screenshot() -> None:
    compiled = MiniMaxM3Compiler().compile(CASES["desktop"])
    parts = compiled.messages[-1]["content"]  # type: ignore[index]
    assert parts[0]["image_url"]["url"] == DESKTOP["screenshot"]
    text = parts[-1]["text"]
    for action in DESKTOP_ACTIONS:
        assert f"- {action}:" in text
    assert "Active window: Terminal" in text and '"label": "Run"' in text
    assert compiled.extra["desktop"] is True
    assert "<document" not in text  # the desktop dict is not dumped as a document


def test_bad_media_is_refused_with_a_clear_error() -> None:
    with pytest.raises(MultimodalContentError, match=r"multimodal_context\[0\].*url"):
        MiniMaxM3Compiler().compile(TAPRequest(instruction="x", multimodal_context=[
            MultimodalContent(type="image_url")]))

"""teragent_openai.multimodal: limits and clear errors, and the two block shapes."""

from __future__ import annotations

import base64

import pytest

from teragent_openai import multimodal
from teragent_openai.multimodal import (
    MultimodalContentError, to_anthropic_block, to_openai_part, validate_multimodal,
)
from teragent.core.tap import MultimodalContent
from teragent.errors import IncompatiblePromptError, UserError

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def test_valid_items_pass_and_convert() -> None:
    items = validate_multimodal([
        {"type": "image_url", "url": "https://example.test/a.png", "detail": "low"},
        MultimodalContent(type="image_base64", data=PNG, mime_type="image/png"),
        {"type": "video_url", "url": "https://example.test/v.mp4"},
        {"type": "image_url", "url": f"data:image/png;base64,{PNG}"},
    ])
    assert [to_openai_part(i)["type"] for i in items] == ["image_url", "image_url",
                                                          "video_url", "image_url"]
    assert to_openai_part(items[0])["image_url"] == {"url": "https://example.test/a.png",
                                                     "detail": "low"}
    assert to_anthropic_block(items[1]) == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": PNG}}
    assert to_anthropic_block(items[3])["source"]["type"] == "base64"
    assert to_anthropic_block(items[0])["source"] == {"type": "url",
                                                      "url": "https://example.test/a.png"}


@pytest.mark.parametrize("item, message", [
    ({"type": "audio_url", "url": "https://x.test/a.mp3"}, "unknown type 'audio_url'"),
    ({"type": "image_url"}, "needs 'url'"),
    ({"type": "image_base64", "mime_type": "image/png"}, "needs 'data'"),
    ({"type": "image_base64", "data": PNG}, "needs 'mime_type'"),
    ({"type": "image_base64", "data": PNG, "mime_type": "image/tiff"}, "not a supported image"),
    ({"type": "image_base64", "data": "not base64!!", "mime_type": "image/png"},
     "not valid base64"),
    ({"type": "image_url", "url": "ftp://x.test/a.png"}, "must be http"),
    ({"type": "image_url", "url": "data:image/png,abc"}, "data: URL must look like"),
    ({"type": "video_base64", "data": PNG, "mime_type": "image/png"}, "not a supported video"),
    ("a string", "expected a MultimodalContent"),
])
def test_bad_items_name_the_problem_and_the_index(item: object, message: str) -> None:
    with pytest.raises(MultimodalContentError, match="multimodal_context\\[1\\]") as info:
        validate_multimodal([{"type": "image_url", "url": "https://ok.test/a.png"}, item])
    assert message in str(info.value)
    assert isinstance(info.value, IncompatiblePromptError) and isinstance(info.value, UserError)


def test_size_limit_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multimodal, "MAX_IMAGE_BYTES", 1000)
    big = base64.b64encode(b"\0" * 2000).decode()
    with pytest.raises(MultimodalContentError, match="over the 1,000-byte limit"):
        validate_multimodal([{"type": "image_base64", "data": big, "mime_type": "image/png"}])
    with pytest.raises(MultimodalContentError, match="over the 1,000-byte limit"):
        validate_multimodal([{"type": "image_url", "url": f"data:image/png;base64,{big}"}])
    ok = base64.b64encode(b"\0" * 900).decode()
    validate_multimodal([{"type": "image_base64", "data": ok, "mime_type": "image/png"}])


def test_video_refused_where_not_carried() -> None:
    with pytest.raises(MultimodalContentError, match="cannot carry video"):
        validate_multimodal([{"type": "video_url", "url": "https://x.test/v.mp4"}],
                            allow_video=False, target="X")
    with pytest.raises(MultimodalContentError, match="video"):
        to_anthropic_block(MultimodalContent(type="video_url", url="https://x.test/v.mp4"))


def test_item_count_limit() -> None:
    items = [{"type": "image_url", "url": "https://x.test/a.png"}] * (multimodal.MAX_ITEMS + 1)
    with pytest.raises(MultimodalContentError, match="more than"):
        validate_multimodal(items)

"""Checking and converting multimodal content (images, video) for vision compilers.

:class:`~teragent.core.tap.MultimodalContent` says *what* a request carries; this module
says whether it can be sent, with limits that fail early and name the fix, and turns
items into the two content-block shapes vendors use:

- OpenAI chat content parts (``{"type": "image_url", "image_url": {"url": ...}}``, and
  ``video_url`` for vendors that take video: GLM-5V, MiniMax);
- Anthropic Messages blocks (``{"type": "image", "source": {...}}``; no video).

Every problem raises :class:`MultimodalContentError` (an
:class:`~teragent.errors.IncompatiblePromptError`, so a :class:`~teragent.errors.UserError`)
naming the item's position and what to change.

It lives in the OpenAI codec plugin (it was ``teragent.core.multimodal``; no documented
path names it): the TAP conversation carries OpenAI-shaped content parts,
which every vision compiler (GLM, MiniMax, Anthropic) checks and converts from.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterable

from pydantic import ValidationError

from teragent.core.tap import MultimodalContent
from teragent.errors import IncompatiblePromptError

__all__ = [
    "MultimodalContentError",
    "MAX_IMAGE_BYTES",
    "MAX_VIDEO_BYTES",
    "MAX_URL_CHARS",
    "MAX_ITEMS",
    "IMAGE_MIME_TYPES",
    "VIDEO_MIME_TYPES",
    "validate_multimodal",
    "is_video",
    "item_url",
    "to_openai_part",
    "to_anthropic_block",
]

#: Largest decoded inline image (Anthropic and OpenAI both reject larger ones).
MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: Largest decoded inline video; bigger videos must be passed by URL.
MAX_VIDEO_BYTES = 100 * 1024 * 1024
#: Longest non-data URL accepted.
MAX_URL_CHARS = 8192
#: Most items in one request.
MAX_ITEMS = 100

IMAGE_MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
VIDEO_MIME_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/mpeg",
                              "video/x-msvideo"})
_KNOWN_TYPES = ("image_url", "video_url", "image_base64", "video_base64")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,"
                       r"(?P<data>.*)$", re.DOTALL)


class MultimodalContentError(IncompatiblePromptError):
    """A multimodal item is malformed, too large, or of a kind the target cannot carry."""


def _fail(index: int, message: str) -> MultimodalContentError:
    return MultimodalContentError(f"multimodal_context[{index}]: {message}")


def is_video(item: MultimodalContent) -> bool:
    return item.type.startswith("video")


def _decoded_size(index: int, data: str, limit: int, what: str) -> int:
    compact = "".join(data.split())
    # Check the size before decoding, so a huge payload is refused without copying it.
    estimate = len(compact) * 3 // 4
    if estimate > limit + 3:
        raise _fail(index, f"inline {what} data is about {estimate:,} bytes, over the "
                           f"{limit:,}-byte limit. Pass a URL instead (type "
                           f"'{what}_url'), or shrink the {what}.")
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(index, f"'data' is not valid base64. Encode the {what} bytes with "
                           "base64 (no data: prefix in 'data'), or use 'url'.") from None
    if not raw:
        raise _fail(index, f"'data' decodes to an empty {what}.")
    return len(raw)


def _check_one(index: int, raw: Any) -> MultimodalContent:
    if isinstance(raw, MultimodalContent):
        item = raw
    elif isinstance(raw, dict):
        kind = raw.get("type")
        if kind not in _KNOWN_TYPES:
            raise _fail(index, f"unknown type {kind!r}; use one of "
                               f"{', '.join(repr(t) for t in _KNOWN_TYPES)}.")
        try:
            item = MultimodalContent(**raw)
        except ValidationError as exc:
            raise _fail(index, f"invalid item: {exc.errors()[0].get('msg')}.") from None
    else:
        raise _fail(index, f"expected a MultimodalContent or a dict, got "
                           f"{type(raw).__name__}.")
    what = "video" if is_video(item) else "image"
    limit = MAX_VIDEO_BYTES if what == "video" else MAX_IMAGE_BYTES
    allowed = VIDEO_MIME_TYPES if what == "video" else IMAGE_MIME_TYPES
    if item.type.endswith("_base64"):
        if not item.data:
            raise _fail(index, f"type {item.type!r} needs 'data' (base64 of the {what}).")
        if not item.mime_type:
            raise _fail(index, f"type {item.type!r} needs 'mime_type' (one of "
                               f"{', '.join(sorted(allowed))}).")
        if item.mime_type not in allowed:
            raise _fail(index, f"mime_type {item.mime_type!r} is not a supported {what} "
                               f"type; use one of {', '.join(sorted(allowed))}.")
        _decoded_size(index, item.data, limit, what)
        return item
    # *_url items: a URL, or inline data given in 'data' with a mime type
    if not item.url and not item.data:
        raise _fail(index, f"type {item.type!r} needs 'url' (http(s) or data: URL) or "
                           "'data' with 'mime_type'.")
    if item.url:
        match = _DATA_URL.match(item.url)
        if item.url.startswith("data:"):
            if not match:
                raise _fail(index, "a data: URL must look like "
                                   "'data:<mime>;base64,<data>'.")
            mime = match.group("mime") or ""
            if mime not in allowed:
                raise _fail(index, f"data: URL mime type {mime!r} is not a supported "
                                   f"{what} type; use one of {', '.join(sorted(allowed))}.")
            _decoded_size(index, match.group("data"), limit, what)
        elif not item.url.startswith(("http://", "https://")):
            raise _fail(index, f"url {item.url[:60]!r} must be http(s):// or a data: URL.")
        elif len(item.url) > MAX_URL_CHARS:
            raise _fail(index, f"url is {len(item.url):,} characters, over the "
                               f"{MAX_URL_CHARS:,} limit.")
        return item
    if not item.mime_type or item.mime_type not in allowed:
        raise _fail(index, f"inline 'data' needs a 'mime_type' among "
                           f"{', '.join(sorted(allowed))}.")
    _decoded_size(index, item.data or "", limit, what)
    return item


def validate_multimodal(items: Iterable[Any] | None, *, allow_video: bool = True,
                        target: str = "this compiler") -> list[MultimodalContent]:
    """Check every item; return them as :class:`MultimodalContent` objects.

    Args:
        items: ``MultimodalContent`` objects or their dicts (``None`` means none).
        allow_video: ``False`` refuses video items (for targets without video input).
        target: Named in the error when video is refused.

    Raises:
        MultimodalContentError: naming the first bad item and the fix.
    """
    checked: list[MultimodalContent] = []
    for index, raw in enumerate(items or []):
        if index >= MAX_ITEMS:
            raise MultimodalContentError(
                f"multimodal_context has more than {MAX_ITEMS} items; split the request.")
        item = _check_one(index, raw)
        if is_video(item) and not allow_video:
            raise _fail(index, f"{target} cannot carry video. Use a video-capable "
                               "compiler ('minimax_m3' or 'glm_5v_turbo'), or remove it.")
        checked.append(item)
    return checked


def item_url(item: MultimodalContent) -> str:
    """The item as one URL (inline data becomes a ``data:`` URL)."""
    if item.url:
        return item.url
    return f"data:{item.mime_type};base64,{''.join((item.data or '').split())}"


def to_openai_part(item: MultimodalContent) -> dict[str, Any]:
    """An OpenAI chat content part (``image_url`` or ``video_url``)."""
    if is_video(item):
        return {"type": "video_url", "video_url": {"url": item_url(item)}}
    image: dict[str, Any] = {"url": item_url(item)}
    if item.detail:
        image["detail"] = item.detail
    return {"type": "image_url", "image_url": image}


def to_anthropic_block(item: MultimodalContent, index: int = 0) -> dict[str, Any]:
    """An Anthropic Messages ``image`` block; video raises (Anthropic takes none)."""
    if is_video(item):
        raise _fail(index, "Anthropic's Messages API cannot carry video; remove it or use "
                           "'minimax_m3' / 'glm_5v_turbo'.")
    url = item_url(item)
    match = _DATA_URL.match(url)
    if match:
        return {"type": "image", "source": {"type": "base64",
                                            "media_type": match.group("mime"),
                                            "data": "".join(match.group("data").split())}}
    return {"type": "image", "source": {"type": "url", "url": url}}

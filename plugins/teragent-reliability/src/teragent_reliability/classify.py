"""What kind of failure an exception is, across vendors' wordings and codes.

Adapters already raise :class:`~teragent.errors.ContextOverflowError` and
:class:`~teragent.errors.RateLimitError` when they recognise the HTTP status and the
common English wording. Several vendors do not make it that easy: GLM (Zhipu) answers
HTTP 400/429 with numeric business codes and Chinese messages, MiniMax may answer
HTTP 200 with an error in ``base_resp``, Anthropic says ``prompt is too long`` and
uses 529 for overload. :func:`classify_error` looks at the exception type, the status,
and the error body, and :func:`as_typed_error` turns a generic
:class:`~teragent.errors.ModelAPIError` into the specific one.

The wordings and codes below are those the vendors document for their HTTP APIs
(OpenAI ``context_length_exceeded`` / ``rate_limit_exceeded``; Anthropic
``rate_limit_error``, ``overloaded_error``, ``request_too_large``, "prompt is too
long"; GLM codes 1261 (prompt too long), 1302/1303/1305 (concurrency / frequency /
traffic limits); DeepSeek's OpenAI-style "maximum context length" and "Rate Limit
Reached"; MiniMax ``base_resp.status_code`` 1002 (RPM limit), 1039 (TPM limit) and
its "context window" wording). They were not recorded from live traffic here.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any

from teragent.errors import (
    ContextOverflowError, ModelAPIError, ModelTimeoutError, RateLimitError, StreamError,
)

__all__ = ["ErrorClass", "VENDOR_CODES", "classify_error", "as_typed_error", "error_code",
           "vendor_message"]


class ErrorClass(str, Enum):
    CONTEXT_OVERFLOW = "context_overflow"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"      # 5xx, overload, timeouts, resets, broken streams
    AUTH = "auth"
    BAD_REQUEST = "bad_request"  # not worth retrying unchanged
    UNKNOWN = "unknown"


_OVERFLOW_TEXT = re.compile(
    r"context_length_exceeded|maximum context length|context length|context window|"
    r"prompt is too long|input is too long|too many tokens|request_too_large|"
    r"exceeds? the (?:model'?s? )?(?:maximum|max) (?:input|context)|input tokens exceed|"
    r"prompt 超长|超出.*(?:上下文|长度)|上下文.*超|token.{0,20}超过", re.IGNORECASE)
_RATE_TEXT = re.compile(
    r"rate_limit|rate limit|too many requests|requests per min|tpm limit|rpm limit|"
    r"并发数过高|频率过高|请求过多|限流|速率", re.IGNORECASE)
_OVERLOAD_TEXT = re.compile(r"overloaded|server busy|服务繁忙|系统繁忙|temporarily unavailable",
                            re.IGNORECASE)

#: Vendor business codes found in error bodies: ``error.code`` / ``error.type``, and
#: MiniMax's ``base_resp.status_code`` as ``"base_resp:<code>"``.
VENDOR_CODES: dict[str, ErrorClass] = {
    "context_length_exceeded": ErrorClass.CONTEXT_OVERFLOW,   # OpenAI, DeepSeek
    "rate_limit_exceeded": ErrorClass.RATE_LIMIT,             # OpenAI
    "rate_limit_error": ErrorClass.RATE_LIMIT,                # Anthropic (error.type)
    "overloaded_error": ErrorClass.TRANSIENT,                 # Anthropic 529
    "request_too_large": ErrorClass.CONTEXT_OVERFLOW,         # Anthropic 413
    "1261": ErrorClass.CONTEXT_OVERFLOW,                      # GLM: prompt too long
    "1302": ErrorClass.RATE_LIMIT,                            # GLM: concurrency too high
    "1303": ErrorClass.RATE_LIMIT,                            # GLM: frequency too high
    "1305": ErrorClass.RATE_LIMIT,                            # GLM: too many requests
    "base_resp:1002": ErrorClass.RATE_LIMIT,                            # MiniMax: RPM limit
    "base_resp:1039": ErrorClass.RATE_LIMIT,                            # MiniMax: TPM limit
    "base_resp:1001": ErrorClass.TRANSIENT,                             # MiniMax: timeout
    "base_resp:1013": ErrorClass.TRANSIENT,                             # MiniMax: internal error
    "base_resp:1004": ErrorClass.AUTH,                                  # MiniMax: auth failed
}


def error_code(body: str | None) -> str | None:
    """The vendor's error code (or type) from a JSON error body, if it has one."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    base = data.get("base_resp")
    if isinstance(base, dict) and base.get("status_code") not in (None, 0, "0"):
        return f"base_resp:{base['status_code']}"  # MiniMax's error envelope
    err: Any = data.get("error")
    if isinstance(err, dict):
        for key in ("code", "type"):
            value = err.get(key)
            if value not in (None, "") and str(value) in VENDOR_CODES:
                return str(value)
        value = err.get("code") or err.get("type")
        return str(value) if value not in (None, "") else None
    return None


def vendor_message(body: str | None) -> str:
    """The human-readable message in a vendor's JSON error body ("" if none)."""
    try:
        data = json.loads(body or "")
    except (TypeError, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])[:300]
    base = data.get("base_resp")
    if isinstance(base, dict) and base.get("status_msg"):
        return str(base["status_msg"])[:300]
    return str(data.get("message") or "")[:300]


def _text_of(exc: BaseException) -> str:
    body = getattr(exc, "body", None) or ""
    return f"{exc} {body}"


def classify_error(exc: BaseException) -> ErrorClass:
    """Classify a model-call failure for recovery decisions."""
    if isinstance(exc, ContextOverflowError):
        return ErrorClass.CONTEXT_OVERFLOW
    if isinstance(exc, RateLimitError):
        return ErrorClass.RATE_LIMIT
    status = getattr(exc, "status", None)
    if status in (401, 403):
        return ErrorClass.AUTH
    code = error_code(getattr(exc, "body", None))
    if code in VENDOR_CODES:
        return VENDOR_CODES[code]
    text = _text_of(exc)
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status in (400, 413, 422) and _OVERFLOW_TEXT.search(text):
        return ErrorClass.CONTEXT_OVERFLOW
    if isinstance(exc, (StreamError, ModelTimeoutError)):
        return ErrorClass.TRANSIENT
    if status is not None and (status >= 500 or status == 529):
        return ErrorClass.TRANSIENT
    if _RATE_TEXT.search(text):
        return ErrorClass.RATE_LIMIT
    if _OVERFLOW_TEXT.search(text) and (status is None or status < 500):
        return ErrorClass.CONTEXT_OVERFLOW
    if _OVERLOAD_TEXT.search(text):
        return ErrorClass.TRANSIENT
    if isinstance(exc, ModelAPIError):
        if status is not None and 400 <= status < 500:
            return ErrorClass.TRANSIENT if exc.retryable else ErrorClass.BAD_REQUEST
        return ErrorClass.TRANSIENT if exc.retryable else ErrorClass.UNKNOWN
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return ErrorClass.TRANSIENT
    return ErrorClass.UNKNOWN


def as_typed_error(exc: ModelAPIError) -> ModelAPIError:
    """``exc`` as :class:`RateLimitError` / :class:`ContextOverflowError` when its body
    says so (unchanged otherwise); provider, model, status, body and retry-after are
    kept."""
    kind = classify_error(exc)
    target: type[ModelAPIError] | None = None
    if kind is ErrorClass.RATE_LIMIT and not isinstance(exc, RateLimitError):
        target = RateLimitError
    elif kind is ErrorClass.CONTEXT_OVERFLOW and not isinstance(exc, ContextOverflowError):
        target = ContextOverflowError
    if target is None:
        return exc
    detail = vendor_message(exc.body) or str(exc)
    if target is RateLimitError:
        message = f"Rate limited by {exc.provider or 'the API'}: {detail}"
    else:
        message = (f"The prompt exceeds the model's context window: {detail}. Shorten the "
                   "conversation (compact the context) or choose a model with a larger window.")
    if exc.status is not None:
        message += f" (HTTP {exc.status})"
    typed = target(message, provider=exc.provider, model=exc.model, status=None,
                   body=exc.body, retry_after=exc.retry_after,
                   retryable=target is RateLimitError, state=exc.state)
    typed.status = exc.status
    return typed

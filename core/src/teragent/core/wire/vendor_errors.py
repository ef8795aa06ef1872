"""Vendor error shapes → the typed error tree, shared by the wire codecs.

:func:`teragent.core.http.error_from_response` maps HTTP statuses. Vendors say more
than a status: OpenAI answers an exhausted quota with 429 ``insufficient_quota``;
Zhipu puts a business code in ``error.code`` (``1113`` arrears, ``1261`` prompt too
long); MiniMax answers HTTP 200 with a ``base_resp`` status; several vendors word a
context overflow in Chinese. This module refines the generic mapping:

- :func:`error_kind` reads an error object (``code``, ``type``, ``message``) and
  names its kind: ``"quota"``, ``"context"``, ``"rate_limit"``, ``"auth"`` or
  ``None``.
- :func:`refine` turns a :class:`ModelAPIError` from the generic mapping into the
  right subclass for its body (a quota error is never retried; a context error in any
  language is a :class:`ContextOverflowError`).
- :func:`key_variable` names the environment variable an API key came from, for
  401/403 messages, when the adapter was not told.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from teragent.core.http import is_context_overflow
from teragent.errors import (
    ContextOverflowError, ModelAPIError, QuotaExceededError, RateLimitError,
)

__all__ = ["CONTEXT_MARKERS", "QUOTA_MARKERS", "error_kind", "is_context_text",
           "refine", "typed_error", "key_variable"]

#: Context-overflow wording beyond :mod:`teragent.core.http`'s English markers:
#: Zhipu ("Prompt exceeds max length", "Prompt 超长"), DeepSeek, MiniMax, Qwen-style
#: Chinese messages. Matched case-insensitively as substrings.
CONTEXT_MARKERS = (
    "prompt exceeds max length", "exceeds the maximum length", "exceeds max length",
    "context_length", "maximum context", "input length", "too long for the model",
    "超长", "超过最大长度", "超出最大长度", "超过模型最大", "上下文长度", "上下文窗口",
    "最大上下文", "输入过长", "输入长度", "长度超过", "长度超出", "token 数超过",
    "tokens超过", "超出上下文",
)
#: Balance / quota / plan wording; waiting does not fix these.
QUOTA_MARKERS = (
    "insufficient_quota", "insufficient balance", "insufficient_balance",
    "billing_error", "exceeded your current quota", "quota exceeded", "quota exhausted",
    "arrears", "no resource package", "余额不足", "欠费", "资源包", "额度不足",
    "额度已用完", "套餐",
)
_QUOTA_CODES = {"insufficient_quota", "billing_error", "insufficient_balance",
                "insufficient_user_quota", "payment_required"}
_RATE_CODES = {"rate_limit_exceeded", "rate_limit_error", "rate_limit", "too_many_requests"}
_AUTH_CODES = {"invalid_api_key", "authentication_error", "permission_error",
               "unauthorized"}


def is_context_text(text: str) -> bool:
    """Whether ``text`` says the prompt does not fit the context window (any language)."""
    if not text:
        return False
    if is_context_overflow(text):
        return True
    low = text.lower()
    return any(marker in low for marker in CONTEXT_MARKERS)


def _is_quota_text(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in QUOTA_MARKERS)


def _error_object(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return err
        if isinstance(err, str):
            return {"message": err}
        return data
    return {}


def error_kind(data: Any) -> str | None:
    """The kind of an error object or body: ``"quota"``, ``"context"``,
    ``"rate_limit"``, ``"auth"``, or ``None`` when nothing specific is recognised."""
    err = _error_object(data)
    code = str(err.get("code") or "").lower()
    kind = str(err.get("type") or "").lower()
    message = str(err.get("message") or "")
    names = {code, kind}
    if names & _QUOTA_CODES or _is_quota_text(message):
        return "quota"
    if "context_length_exceeded" in names or is_context_text(message):
        return "context"
    if names & _RATE_CODES:
        return "rate_limit"
    if names & _AUTH_CODES:
        return "auth"
    return None


def typed_error(kind: str | None, message: str, **common: Any) -> ModelAPIError:
    """The error class for ``kind`` (see :func:`error_kind`), built with ``common``
    (``provider``, ``model``, ``status``, ``body``, ``retry_after``, ...)."""
    if kind == "quota":
        common.pop("retryable", None)
        return QuotaExceededError(
            f"{message}. The account's balance or quota is exhausted; retrying will not "
            "help. Top up or change the plan, or use another key.", **common)
    if kind == "context":
        common["retryable"] = False
        return ContextOverflowError(
            f"The prompt exceeds the model's context window: {message}. Shorten the "
            "conversation (compact the context) or choose a model with a larger window.",
            **common)
    if kind == "rate_limit":
        common["retryable"] = True
        return RateLimitError(message, **common)
    if kind == "auth":
        common["retryable"] = False
    return ModelAPIError(message, **common)


def refine(error: ModelAPIError, body: str | None = None) -> ModelAPIError:
    """``error`` as the subclass its body calls for, or ``error`` itself.

    A body naming an exhausted quota becomes a non-retryable
    :class:`QuotaExceededError` (OpenAI's 429 ``insufficient_quota``, Anthropic's 402
    ``billing_error``); a context overflow worded in any language becomes a
    :class:`ContextOverflowError`.
    """
    if isinstance(error, (QuotaExceededError, ContextOverflowError)):
        return error
    text = body if body is not None else (error.body or "")
    try:
        data: Any = json.loads(text)
    except (ValueError, TypeError):
        data = {"message": text}
    kind = error_kind(data)
    status = error.status
    if kind == "quota" or (status == 402):
        return _rebuilt(QuotaExceededError, error)
    if kind == "context" and (status is None or status in (200, 400, 413, 422)):
        return _rebuilt(ContextOverflowError, error, retryable=False)
    return error


def _rebuilt(cls: type[ModelAPIError], error: ModelAPIError, **overrides: Any) -> ModelAPIError:
    kwargs: dict[str, Any] = {"provider": error.provider, "model": error.model,
                              "status": None, "body": error.body,
                              "retry_after": error.retry_after, "state": error.state}
    kwargs.update(overrides)
    message = str(error)
    if cls is QuotaExceededError:
        message += (" The account's balance or quota is exhausted; retrying will not "
                    "help. Top up or change the plan, or use another key.")
    new = cls(message, **kwargs)
    new.status = error.status  # keep the status without repeating it in the message
    return new


def key_variable(api_key: str | None, *, explicit: str | None = None,
                 default: str | None = None,
                 environ: Mapping[str, str] | None = None,
                 dotenv: Iterable[Mapping[str, str]] | None = None) -> str | None:
    """The environment variable to name in a 401/403 message.

    ``explicit`` (what the caller configured) wins. Otherwise the variable that holds
    ``api_key`` is looked up, in the environment and then in ``.env`` files
    (:func:`teragent.config.secrets.resolve_api_key` read it from one of them), so the
    message names what the user configured rather than a vendor default; ``default``
    is the last resort. Only names are returned, never values.
    """
    if explicit:
        return explicit
    if api_key:
        env = os.environ if environ is None else environ
        matches = sorted(name for name, value in env.items() if value == api_key)
        if not matches:
            sources = dotenv
            if sources is None:
                try:
                    from teragent.config.secrets import dotenv_paths, read_dotenv

                    sources = [read_dotenv(p) for p in dotenv_paths()]
                except Exception:  # noqa: BLE001 - a hint must never break error mapping
                    sources = []
            for values in sources:
                matches = sorted(n for n, v in values.items() if v == api_key)
                if matches:
                    break
        if matches:
            if default in matches:
                return default
            return matches[0]
    return default

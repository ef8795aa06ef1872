"""The HTTP seam every adapter shares: one pooled client, and error translation.

:func:`make_async_client` builds the single pooled :class:`httpx.AsyncClient` an adapter
keeps for its whole life. The client always speaks httpx's API; what moves the bytes is
the *transport*:

- an :class:`httpx.AsyncBaseTransport` instance (tests pass ``httpx.MockTransport`` or
  ``httpx.ASGITransport``);
- ``"aiohttp"``: aiohttp under httpx's API, through the ``httpx-aiohttp`` package
  (``pip install teragent[aiohttp]``);
- ``"httpx"``: httpx's own connection pool (httpcore);
- ``None``: ``TERAGENT_HTTP_TRANSPORT`` if set, else :data:`DEFAULT_TRANSPORT`
  (aiohttp when installed, see ``docs/decisions/http-transport.md`` for the figures),
  else httpx.

:func:`map_http_error` and :func:`error_from_response` translate httpx exceptions and
error responses into :mod:`teragent.errors` at the adapter seam; bodies are redacted
before they are stored on an error. Vendors say more than a status (OpenAI's 429
``insufficient_quota``, Zhipu's ``error.code`` 1113/1261, MiniMax's HTTP-200
``base_resp``, context overflows worded in Chinese): :func:`error_kind` names the kind
of an error object, :func:`refine` turns a generic error into the right subclass,
:func:`typed_error` builds one, and :func:`key_variable` names the variable a key came
from for 401/403 messages. Every wire codec (in the family plugins) uses these.

:func:`parse_rate_limit_headers` is the one reader of rate-limit headers
(``x-ratelimit-*``, ``anthropic-ratelimit-*``, ``retry-after-ms``, ``Retry-After``),
built on :func:`parse_retry_after`, :func:`parse_duration` and :func:`parse_reset`:
adapters, the reliability plugin's rate limiters and its rate-limit handler call it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # httpx (~90 ms with the CLI it imports) loads at the first request
    import httpx

from teragent.core.headers import (
    RateLimitHeaders, parse_duration, parse_rate_limit_headers, parse_reset,
    parse_retry_after, retry_after_of,
)

from teragent.errors import (
    ContextOverflowError, MissingPluginError, ModelAPIError, ModelTimeoutError,
    QuotaExceededError, RateLimitError, StreamError, UserError, redact,
)

__all__ = ["DEFAULT_TRANSPORT", "TRANSPORT_ENV", "make_async_client", "resolve_transport",
           "parse_retry_after", "parse_duration", "parse_reset", "RateLimitHeaders",
           "parse_rate_limit_headers", "error_from_response", "error_message", "map_http_error",
           "is_context_overflow", "CONTEXT_MARKERS", "QUOTA_MARKERS", "error_kind", "refine",
           "typed_error", "key_variable", "response_json"]

#: The transport used when none is asked for (chosen from bench/bench_http.py figures:
#: aiohttp is ~2-3x faster sequentially and many times faster under concurrency).
DEFAULT_TRANSPORT = "aiohttp"
#: Environment variable that overrides the default transport ("httpx" or "aiohttp").
TRANSPORT_ENV = "TERAGENT_HTTP_TRANSPORT"

_TRANSPORT_NAMES = ("httpx", "aiohttp")


def _limits() -> httpx.Limits:
    # Enough keep-alive connections for a few dozen concurrent agent tasks per provider;
    # httpx's default (20) makes the 21st concurrent request open and drop a socket.
    import httpx

    return httpx.Limits(max_connections=200, max_keepalive_connections=100,
                        keepalive_expiry=30.0)


#: Context-overflow wording, matched case-insensitively as substrings: OpenAI and
#: Anthropic (English), Zhipu ("Prompt exceeds max length", "Prompt 超长"), DeepSeek,
#: MiniMax and Qwen-style Chinese messages. The one list every adapter uses.
CONTEXT_MARKERS = (
    "context_length_exceeded", "maximum context length", "context length",
    "context window", "too many tokens", "prompt is too long", "input is too long",
    "prompt exceeds max length", "exceeds the maximum length", "exceeds max length",
    "context_length", "maximum context", "input length", "too long for the model",
    "超长", "超过最大长度", "超出最大长度", "超过模型最大", "上下文长度", "上下文窗口",
    "最大上下文", "输入过长", "输入长度", "长度超过", "长度超出", "token 数超过",
    "tokens超过", "超出上下文",
)


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:
        raise MissingPluginError("The 'aiohttp' HTTP transport", "teragent[aiohttp]") from exc
    # (annotated: older httpx-aiohttp releases ship no type information)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=_limits())
    return transport


def _aiohttp_available() -> bool:
    # find_spec, not import: importing aiohttp costs ~150 ms, paid at the first request
    return importlib.util.find_spec("httpx_aiohttp") is not None


def resolve_transport(transport: Any = None) -> httpx.AsyncBaseTransport | None:
    """Turn a transport choice into a transport instance (``None`` = httpx's own).

    Raises:
        UserError: for an unknown transport name.
        MissingPluginError: for ``"aiohttp"`` without ``httpx-aiohttp`` installed.
    """
    if transport is not None and not isinstance(transport, str):
        import httpx

        if isinstance(transport, httpx.AsyncBaseTransport):
            return transport
    explicit = transport is not None
    if transport is None:
        env = os.environ.get(TRANSPORT_ENV, "").strip().lower()
        explicit = bool(env)
        transport = env or DEFAULT_TRANSPORT
    if not isinstance(transport, str) or transport.lower() not in _TRANSPORT_NAMES:
        raise UserError(
            f"Unknown HTTP transport {transport!r}. Use 'httpx' or 'aiohttp' (or an "
            f"httpx.AsyncBaseTransport instance), e.g. {TRANSPORT_ENV}=httpx."
        )
    name = transport.lower()
    if name == "httpx":
        return None
    if not explicit and not _aiohttp_available():
        return None  # the default quietly falls back to httpx's own pool
    return _aiohttp_transport()


def make_async_client(
    base_url: str,
    *,
    timeout: float | httpx.Timeout,
    headers: Mapping[str, str] | None = None,
    transport: Any = None,
    follow_redirects: bool = False,
) -> httpx.AsyncClient:
    """Build the one pooled async client an adapter keeps.

    Args:
        base_url: The API root; request paths are relative to it.
        timeout: Seconds for a whole request (or an :class:`httpx.Timeout`).
        headers: Default headers (``Authorization`` etc.).
        transport: See the module docstring.
        follow_redirects: Follow 3xx answers (model adapters: a moved API root, as the
            aiohttp path does; httpx drops ``Authorization`` on another origin). Off
            for tools, which check every hop themselves (web fetches refuse a redirect
            to a private host).
    """
    import httpx

    resolved = resolve_transport(transport)
    if not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout, connect=min(float(timeout), 30.0))
    kwargs: dict[str, Any] = {"base_url": base_url, "timeout": timeout,
                              "headers": dict(headers or {}),
                              "follow_redirects": follow_redirects}
    if resolved is not None:
        kwargs["transport"] = resolved
    else:
        kwargs["limits"] = _limits()
    return httpx.AsyncClient(**kwargs)


# --- errors ------------------------------------------------------------------------


def _said(value: Any) -> str:
    """The words of an error value: a string, an object's ``message``/``msg``/``code``/
    ``type`` (``loc`` prefixed, as in FastAPI's 422 ``detail``), or a list of them."""
    if isinstance(value, list):
        return "; ".join(filter(None, map(_said, value)))
    if isinstance(value, dict):
        loc = value.get("loc")
        where = ".".join(map(str, loc)) + ": " if isinstance(loc, list) and loc else ""
        words = (value.get("message") or value.get("msg") or value.get("code")
                 or value.get("type"))
        return where + _said(words) if words else ""
    return "" if value is None else str(value)


def error_message(body: str) -> str:
    """The vendor's own error message from an error body: ``error`` (an object or a
    string), ``detail`` (FastAPI servers such as vLLM, LiteLLM) or ``message``; else the
    body's text, a proxy's HTML page without its tags, or ``(empty body)``."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        data = None
    for key in ("error", "detail", "message"):
        said = _said(data.get(key)) if isinstance(data, dict) else ""
        if said:
            return said[:300]
    text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", body, flags=re.S | re.I) \
        if "<" in body and data is None else body
    return " ".join(text.split())[:300] or "(empty body)"


def is_context_overflow(body: str) -> bool:
    """Whether an error body says the prompt does not fit the context window (any
    language, see :data:`CONTEXT_MARKERS`)."""
    low = body.lower()
    return any(marker in low for marker in CONTEXT_MARKERS)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    provider: str = "",
    model: str = "",
    api_key_env: str | None = None,
    secrets: Iterable[str] = (),
) -> ModelAPIError:
    """The :mod:`teragent.errors` exception for an HTTP error response.

    429 → :class:`RateLimitError` (``retry_after`` from ``Retry-After``); 5xx →
    retryable :class:`ModelAPIError`; 400/413 about context length →
    :class:`ContextOverflowError`; 401/403 → non-retryable, naming the key variable;
    other 4xx → non-retryable (408 and 409 are retryable).
    """
    secrets = [s for s in secrets if s]
    body = redact(body, secrets) or ""
    detail = redact(error_message(body), secrets) or ""
    common: dict[str, Any] = {"provider": provider, "model": model, "status": status,
                              "body": body}
    where = f" from {provider}" if provider else ""
    if status == 429:
        retry_after = retry_after_of(headers)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return RateLimitError(f"Rate limited{where}{wait}: {detail}", retry_after=retry_after,
                              retryable=True, **common)
    if status in (400, 413, 422) and is_context_overflow(body):
        return ContextOverflowError(
            f"The prompt exceeds the model's context window: {detail}. Shorten the "
            "conversation (compact the context) or choose a model with a larger window.",
            retryable=False, **common)
    if status in (401, 403):
        var = api_key_env or "the API key environment variable"
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return ModelAPIError(
            f"The API{where} {what}: {detail}. Check that {var} holds a valid key for "
            "this base_url and model.", retryable=False, **common)
    if status >= 500:
        return ModelAPIError(f"Server error{where}: {detail}", retryable=True,
                             retry_after=retry_after_of(headers), **common)
    return ModelAPIError(f"Request rejected{where}: {detail}",
                         retryable=status in (408, 409), **common)


def response_json(content: bytes, *, status: int, provider: str = "", model: str = "",
                  what: str = "The API") -> Any:
    """The JSON of a successful response's body; a body that is not JSON (a proxy's
    page, a cut-off body) is a retryable :class:`ModelAPIError` saying ``what`` sent it."""
    try:
        return json.loads(content)
    except ValueError:
        raise ModelAPIError(f"{what} answered with a body that is not JSON: "
                            f"{error_message(content.decode('utf-8', 'replace'))!r}.",
                            provider=provider, model=model, status=status,
                            body=content.decode("utf-8", "replace"), retryable=True) from None


def _cause_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 5:
        names.update(c.__name__ for c in type(cur).__mro__)
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return names


def map_http_error(
    exc: BaseException,
    *,
    provider: str = "",
    model: str = "",
    during_stream: bool = False,
    secrets: Iterable[str] = (),
) -> ModelAPIError:
    """The :mod:`teragent.errors` exception for an httpx or aiohttp (transport) exception.

    Timeouts → :class:`ModelTimeoutError`; connection and protocol errors → retryable
    :class:`ModelAPIError` (a :class:`StreamError` when the body was being read).
    """
    secrets = [s for s in secrets if s]
    text = redact(f"{type(exc).__name__}: {exc}", secrets) or type(exc).__name__
    where = f" to {provider}" if provider else ""
    causes = _cause_names(exc)
    # httpx-aiohttp maps every aiohttp ClientConnectionError (a server closing the
    # socket included) to ConnectTimeout; look through to the real cause.
    disconnected = bool(causes & {"ServerDisconnectedError", "ClientOSError",
                                  "ClientConnectorError", "ClientPayloadError"})
    # asyncio.TimeoutError: aiohttp's timeouts (adapters that speak aiohttp directly).
    import asyncio  # not at module level: building a provider must not load asyncio

    httpx = sys.modules.get("httpx")  # an httpx exception means httpx is loaded
    timeouts = (asyncio.TimeoutError,) if httpx is None else \
        (httpx.TimeoutException, asyncio.TimeoutError)
    if isinstance(exc, timeouts) and not disconnected:
        return ModelTimeoutError(f"The request{where} timed out ({text}).",
                                 provider=provider, model=model, retryable=True)
    if during_stream:
        return StreamError(f"The stream{where} broke off ({text}).",
                           provider=provider, model=model, retryable=True)
    return ModelAPIError(f"Could not reach the API{where} ({text}).",
                         provider=provider, model=model, retryable=True)


# --- vendor error shapes -------------------------------------------------------------

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
    if "context_length_exceeded" in names or is_context_overflow(message):
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

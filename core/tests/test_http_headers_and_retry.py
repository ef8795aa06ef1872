"""The kernel's one reader of rate-limit headers and durations (``teragent.core.http``),
and ``retry_with_backoff`` (``teragent.pipeline.retry``)."""

from __future__ import annotations

import asyncio
import email.utils

import httpx
import pytest

from teragent import retry_with_backoff
from teragent.core.http import (
    RateLimitHeaders, error_from_response, parse_duration, parse_rate_limit_headers,
    parse_reset, parse_retry_after,
)
from teragent.errors import ModelAPIError, RateLimitError
from teragent.pipeline.retry import RetryValidationError


def test_parse_duration():
    assert parse_duration("6m0s") == 360 and parse_duration("20ms") == 0.02
    assert parse_duration("1.5") == 1.5 and parse_duration("1h2m") == 3720
    for junk in ("soon", "5sx", "", None, "m"):
        assert parse_duration(junk) is None


def test_parse_reset_is_a_unix_time_from_every_form_vendors_send():
    assert parse_reset("6m0s", now=100.0) == 460.0
    assert parse_reset("250ms", now=0.0) == 0.25
    assert parse_reset("30", now=100.0) == 130.0  # delta seconds
    assert parse_reset("1700000000") == 1_700_000_000  # epoch seconds
    assert parse_reset("1700000000000") == 1_700_000_000  # epoch milliseconds
    assert parse_reset("2026-01-01T00:00:00Z") == 1_767_225_600  # Anthropic, RFC 3339
    assert parse_reset("nonsense") is None and parse_reset(None) is None


def test_parse_retry_after_seconds_or_http_date():
    assert parse_retry_after("30") == 30 and parse_retry_after(" 0.5 ") == 0.5
    date = email.utils.formatdate(1000.0 + 20, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == 20
    assert parse_retry_after("-3") == 0 and parse_retry_after("later") is None


def test_rate_limit_headers_across_vendors():
    openai = parse_rate_limit_headers(
        {"X-RateLimit-Limit-Requests": "60", "x-ratelimit-remaining-requests": "0",
         "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-remaining-tokens": "1234",
         "retry-after-ms": "250", "retry-after": "9"}, now=1000.0)
    assert openai == RateLimitHeaders(limit=60, remaining=0, remaining_tokens=1234,
                                      reset_at=1360.0, retry_after=0.25)
    minimax = parse_rate_limit_headers({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "3",
                                        "x-ratelimit-reset": "30"}, now=0.0)
    assert (minimax.limit, minimax.remaining, minimax.reset_at) == (10, 3, 30.0)
    anthropic = parse_rate_limit_headers(httpx.Headers({
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-tokens-remaining": "7000",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z", "Retry-After": "4"}))
    assert anthropic == RateLimitHeaders(limit=50, remaining=49, remaining_tokens=7000,
                                         reset_at=1_767_225_600.0, retry_after=4.0)
    assert parse_rate_limit_headers(None) == RateLimitHeaders()
    assert parse_rate_limit_headers({"x-ratelimit-limit": "lots"}).limit is None


def test_error_responses_read_retry_after_the_same_way():
    err = error_from_response(429, httpx.Headers({"Retry-After-Ms": "1500"}), "{}")
    assert isinstance(err, RateLimitError) and err.retry_after == 1.5


def test_retry_with_backoff_validation_and_errors():
    delays: list[float] = []

    async def sleep(d: float) -> None:
        delays.append(d)

    results = iter(["", "", "ok"])

    async def fn() -> str:
        return next(results)

    out = asyncio.run(retry_with_backoff(fn, max_retries=3, validate=lambda r: [] if r else
                                         ["empty response"], base_delay=1, jitter=False,
                                         sleep=sleep))
    assert out == "ok" and delays == [1, 2]

    async def always_empty() -> str:
        return ""

    with pytest.raises(RetryValidationError, match="empty response") as info:
        asyncio.run(retry_with_backoff(always_empty, max_retries=1,
                                       validate=lambda r: ["empty response"], sleep=sleep))
    assert info.value.attempts == 2

    calls = {"n": 0}

    async def limited() -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RateLimitError("slow down", status=429, retry_after=7.0)
        return "fine"

    delays.clear()
    assert asyncio.run(retry_with_backoff(limited, sleep=sleep)) == "fine"
    assert delays == [7.0]

    async def bad_request() -> str:
        calls["n"] += 1
        raise ModelAPIError("nope", status=400)

    calls["n"] = 0
    with pytest.raises(ModelAPIError):
        asyncio.run(retry_with_backoff(bad_request, sleep=sleep))
    assert calls["n"] == 1  # not retryable: raised at once

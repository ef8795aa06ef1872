"""Response headers every vendor sends, read in one place: ``Retry-After`` (and
OpenAI's ``retry-after-ms``), durations such as ``6m0s``, reset times in any of the
spellings vendors use, and the ``x-ratelimit-*`` / ``anthropic-ratelimit-*`` families.
The adapters (errors), the rate limiters and the reliability layer all read them here.
"""

from __future__ import annotations

import re
import time
from typing import Mapping, NamedTuple

__all__ = ["parse_retry_after", "retry_after_of", "parse_duration", "parse_reset",
           "RateLimitHeaders", "parse_rate_limit_headers"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # ~10 ms (socket, urllib, calendar): only for an HTTP date

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_after_of(headers: Mapping[str, str], now: float | None = None) -> float | None:
    # OpenAI also sends retry-after-ms; prefer it when present (finer grained).
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"), now=now)


_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """Seconds from a duration: a bare number (``"1.5"``) or Go-style units
    (``"6m0s"``, ``"250ms"``, ``"1h2m"``), as OpenAI's ``x-ratelimit-reset-*`` send them."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        return _units(text)


def _units(text: str) -> float | None:
    one = _DURATION_PART.fullmatch(text)  # the usual case: "120ms", "0.9s"
    if one is not None:
        return float(one[1]) * _UNIT_SECONDS[one[2]]
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def parse_reset(value: str | None, *, now: float | None = None) -> float | None:
    """When a rate-limit window resets, as a Unix timestamp, from any form vendors send:
    epoch seconds or milliseconds, delta seconds, a duration (``"6m0s"``) or an RFC 3339
    date (Anthropic's ``anthropic-ratelimit-*-reset``)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    now = time.time() if now is None else now
    try:
        number = float(text)
    except ValueError:
        seconds = _units(text)
        if seconds is not None:
            return now + seconds
        from datetime import datetime

        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    if number > 1e12:  # epoch milliseconds
        return number / 1000
    if number > 1e9:  # epoch seconds
        return number
    return now + max(0.0, number)


class RateLimitHeaders(NamedTuple):
    """What a response's rate-limit headers say; ``None`` where a header was not sent.

    Attributes:
        limit: Requests allowed in the window.
        remaining: Requests left in it.
        remaining_tokens: Tokens left in the token window.
        reset_at: Unix time the request window resets.
        retry_after: Seconds the server asks to wait (``retry-after-ms``, else
            ``Retry-After``).
    """

    limit: int | None = None
    remaining: int | None = None
    remaining_tokens: int | None = None
    reset_at: float | None = None
    retry_after: float | None = None


def _first_int(headers: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def parse_rate_limit_headers(headers: Mapping[str, str] | None, *,
                             now: float | None = None) -> RateLimitHeaders:
    """The rate-limit headers of a response, across vendors: OpenAI-style
    ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (and the unsuffixed forms
    MiniMax and others send), Anthropic's ``anthropic-ratelimit-*``, ``retry-after-ms``
    and ``Retry-After``. Names are matched case-insensitively; ``now`` (Unix time)
    anchors relative values. The one reader of these headers: adapters, rate limiters
    and rate-limit handlers all call it."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    reset = (h.get("x-ratelimit-reset-requests") or h.get("x-ratelimit-reset")
             or h.get("anthropic-ratelimit-requests-reset"))
    return RateLimitHeaders(
        limit=_first_int(h, "x-ratelimit-limit-requests", "x-ratelimit-limit",
                         "anthropic-ratelimit-requests-limit"),
        remaining=_first_int(h, "x-ratelimit-remaining-requests", "x-ratelimit-remaining",
                             "anthropic-ratelimit-requests-remaining"),
        remaining_tokens=_first_int(h, "x-ratelimit-remaining-tokens",
                                    "anthropic-ratelimit-tokens-remaining"),
        reset_at=parse_reset(reset, now=now),
        retry_after=retry_after_of(h, now))

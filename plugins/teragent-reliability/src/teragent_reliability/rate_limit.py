"""Client-side rate limiters, shared by every task that uses one provider.

Attach one to a provider and every model call (each retry included) waits for it::

    provider.rate_limiter = create_rate_limiter(RateLimitConfig(strategy="adaptive"))

- :class:`TokenBucketRateLimiter`: bursts up to ``max_tokens``, then ``refill_rate``
  requests a second.
- :class:`SlidingWindowRateLimiter`: at most ``max_tokens`` requests in any
  ``window_seconds``.
- :class:`AdaptiveRateLimiter`: starts as a token bucket (its configured guess, used
  until the first response arrives) and learns the server's limit from
  ``x-ratelimit-limit-*`` / ``x-ratelimit-remaining-*`` / ``x-ratelimit-reset-*`` and
  ``retry-after`` headers (read by the kernel's
  :func:`teragent.core.http.parse_rate_limit_headers`); once it knows the limit it
  keeps a sliding window of ``safety_factor`` × that limit, and on a 429 it stops
  sending until the server's ``retry-after`` has passed and halves what it allows
  itself.

``acquire()`` is the non-blocking test; ``await wait_and_acquire()`` waits its turn
(FIFO under an :class:`asyncio.Lock`). Every limiter takes a ``clock`` for tests.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping, Union

from teragent.core.headers import parse_rate_limit_headers

__all__ = [
    "RateLimitStrategy",
    "RateLimitConfig",
    "RateLimitStatus",
    "TokenBucketRateLimiter",
    "SlidingWindowRateLimiter",
    "AdaptiveRateLimiter",
    "RateLimiter",
    "create_rate_limiter",
]

Clock = Callable[[], float]


class RateLimitStrategy(str, Enum):
    TOKEN_BUCKET = "token_bucket"
    SLIDING_WINDOW = "sliding_window"
    ADAPTIVE = "adaptive"


@dataclass
class RateLimitConfig:
    """Settings for every strategy.

    Attributes:
        strategy: Which limiter :func:`create_rate_limiter` builds.
        max_tokens: Bucket capacity (token bucket, adaptive start) or requests per
            window (sliding window).
        refill_rate: Tokens per second added to the bucket.
        window_seconds: The sliding window's length (and the adaptive limiter's guess
            of the server's window until headers tell it).
        safety_factor: The share of a learned server limit the adaptive limiter uses.
        backoff_factor: What the adaptive limiter multiplies its allowance by on a 429.
        max_wait: ``wait_and_acquire`` gives up (returns ``False``) past this many
            seconds; ``None`` waits as long as needed.
    """

    strategy: RateLimitStrategy | str = RateLimitStrategy.TOKEN_BUCKET
    max_tokens: float = 10.0
    refill_rate: float = 1.0
    window_seconds: float = 60.0
    safety_factor: float = 0.9
    backoff_factor: float = 0.5
    max_wait: float | None = None

    def __post_init__(self) -> None:
        self.strategy = RateLimitStrategy(self.strategy)
        if self.max_tokens <= 0 or self.refill_rate <= 0 or self.window_seconds <= 0:
            raise ValueError("max_tokens, refill_rate and window_seconds must be positive")
        if not 0 < self.safety_factor <= 1 or not 0 < self.backoff_factor < 1:
            raise ValueError("safety_factor must be in (0, 1] and backoff_factor in (0, 1)")


@dataclass(frozen=True)
class RateLimitStatus:
    """A limiter's state right now."""

    strategy: RateLimitStrategy
    available: float
    capacity: float
    wait_seconds: float

    @property
    def is_limited(self) -> bool:
        return self.wait_seconds > 0


class _Base:
    strategy: RateLimitStrategy

    def __init__(self, config: RateLimitConfig | None = None, *,
                 clock: Clock = time.monotonic) -> None:
        self.config = config or RateLimitConfig(strategy=self.strategy)
        self.clock = clock
        self._lock: asyncio.Lock | None = None
        self.acquired = 0
        self.waited_seconds = 0.0

    def _wait_time(self, n: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def acquire(self, n: float = 1.0) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    async def wait_and_acquire(self, n: float = 1.0) -> bool:
        """Wait until ``n`` tokens are free and take them; ``False`` past ``max_wait``."""
        if self.acquire(n):
            return True
        if self._lock is None:
            self._lock = asyncio.Lock()
        deadline = None if self.config.max_wait is None else self.clock() + self.config.max_wait
        async with self._lock:  # FIFO: waiters are served in arrival order
            while not self.acquire(n):
                wait = self._wait_time(n)
                if deadline is not None and self.clock() + wait > deadline:
                    return False
                self.waited_seconds += wait
                await asyncio.sleep(wait)
        return True

    def update_from_headers(self, headers: Mapping[str, str], status_code: int | None = None
                            ) -> None:
        """Learn from a response's headers (only the adaptive limiter does)."""

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """The server answered 429 (only the adaptive limiter reacts)."""


class TokenBucketRateLimiter(_Base):
    """Bursts up to ``max_tokens``; refills ``refill_rate`` tokens a second."""

    strategy = RateLimitStrategy.TOKEN_BUCKET

    def __init__(self, config: RateLimitConfig | None = None, *,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock=clock)
        self.capacity = float(self.config.max_tokens)
        self.rate = float(self.config.refill_rate)
        self.tokens = self.capacity
        self._last = clock()

    def _refill(self) -> None:
        now = self.clock()
        elapsed = now - self._last
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self._last = now

    def acquire(self, n: float = 1.0) -> bool:
        self._refill()
        if self.tokens >= n:
            self.tokens -= n
            self.acquired += 1
            return True
        return False

    def _wait_time(self, n: float) -> float:
        self._refill()
        return max(0.0, (min(n, self.capacity) - self.tokens) / self.rate) + 1e-4

    def status(self) -> RateLimitStatus:
        self._refill()
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        return RateLimitStatus(self.strategy, self.tokens, self.capacity, wait)


class SlidingWindowRateLimiter(_Base):
    """At most ``max_tokens`` requests in any ``window_seconds``."""

    strategy = RateLimitStrategy.SLIDING_WINDOW

    def __init__(self, config: RateLimitConfig | None = None, *,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock=clock)
        self.limit = int(self.config.max_tokens)
        self.window = float(self.config.window_seconds)
        self.sent: deque[float] = deque()

    def _prune(self, now: float) -> None:
        cutoff = now - self.window
        while self.sent and self.sent[0] <= cutoff:
            self.sent.popleft()

    def acquire(self, n: float = 1.0) -> bool:
        now = self.clock()
        self._prune(now)
        k = max(1, math.ceil(n))
        if len(self.sent) + k <= self.limit:
            self.sent.extend([now] * k)
            self.acquired += 1
            return True
        return False

    def _wait_time(self, n: float) -> float:
        now = self.clock()
        self._prune(now)
        k = max(1, math.ceil(n))
        over = len(self.sent) + k - self.limit
        if over <= 0:
            return 0.0
        return max(0.0, self.sent[over - 1] + self.window - now) + 1e-4

    def status(self) -> RateLimitStatus:
        wait = self._wait_time(1)
        return RateLimitStatus(self.strategy, float(self.limit - len(self.sent)),
                               float(self.limit), wait)


class AdaptiveRateLimiter(_Base):
    """A token bucket until the server says its limit; then a sliding window of
    ``safety_factor`` × that limit; pauses for ``retry-after`` and backs off on 429."""

    strategy = RateLimitStrategy.ADAPTIVE

    def __init__(self, config: RateLimitConfig | None = None, *,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(config, clock=clock)
        self.bucket = TokenBucketRateLimiter(self.config, clock=clock)
        self.sent: deque[float] = deque()
        self.server_limit: int | None = None
        self.server_window: float | None = None
        self.allowance: int | None = None  # requests per server_window we allow ourselves
        self.blocked_until = 0.0
        self.rate_limited = 0

    # --- learning ------------------------------------------------------------------

    def update_from_headers(self, headers: Mapping[str, str], status_code: int | None = None
                            ) -> None:
        wall = time.time()
        h = parse_rate_limit_headers(headers, now=wall)
        reset = None if h.reset_at is None else max(0.0, h.reset_at - wall)
        now = self.clock()
        if h.limit is not None and h.limit > 0 and h.limit != self.server_limit:
            self.server_limit = h.limit
            self.allowance = max(1, int(h.limit * self.config.safety_factor))
        if reset:
            # The longest reset seen estimates the server's window from below (it is
            # measured from the oldest request counted, a little after it was sent);
            # widening it by the safety factor errs on the slow side.
            self.server_window = max(self.server_window or 0.0,
                                     reset / self.config.safety_factor)
        if h.remaining is not None and h.remaining <= 0 and reset:
            self.blocked_until = max(self.blocked_until, now + reset)
        if status_code == 429:
            self.on_rate_limited(h.retry_after)

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        self.rate_limited += 1
        now = self.clock()
        wait = retry_after if retry_after is not None else self._window() / max(
            1, self.allowance or int(self.config.max_tokens))
        self.blocked_until = max(self.blocked_until, now + wait)
        if self.allowance is not None:
            self.allowance = max(1, int(self.allowance * self.config.backoff_factor))
        else:
            self.bucket.rate = max(1e-3, self.bucket.rate * self.config.backoff_factor)
            self.bucket.capacity = max(1.0, self.bucket.capacity * self.config.backoff_factor)
            self.bucket.tokens = min(self.bucket.tokens, self.bucket.capacity)

    # --- limiting --------------------------------------------------------------------

    def _window(self) -> float:
        return self.server_window or self.config.window_seconds

    def _prune(self, now: float) -> None:
        cutoff = now - self._window()
        while self.sent and self.sent[0] <= cutoff:
            self.sent.popleft()

    def acquire(self, n: float = 1.0) -> bool:
        now = self.clock()
        if now < self.blocked_until:
            return False
        self._prune(now)
        if self.allowance is not None:
            if len(self.sent) + 1 > self.allowance:
                return False
        elif not self.bucket.acquire(n):
            return False
        self.sent.append(now)
        self.acquired += 1
        return True

    def _wait_time(self, n: float) -> float:
        now = self.clock()
        if now < self.blocked_until:
            return self.blocked_until - now + 1e-4
        self._prune(now)
        if self.allowance is not None:
            over = len(self.sent) + 1 - self.allowance
            if over <= 0:
                return 0.0
            return max(0.0, self.sent[over - 1] + self._window() - now) + 1e-4
        return self.bucket._wait_time(n)

    def status(self) -> RateLimitStatus:
        wait = self._wait_time(1)
        if self.allowance is not None:
            return RateLimitStatus(self.strategy, float(self.allowance - len(self.sent)),
                                   float(self.allowance), wait)
        return RateLimitStatus(self.strategy, self.bucket.tokens, self.bucket.capacity, wait)

    def describe(self) -> dict[str, Any]:
        return {"server_limit": self.server_limit, "server_window": self.server_window,
                "allowance": self.allowance, "rate_limited": self.rate_limited,
                "blocked_for": max(0.0, self.blocked_until - self.clock())}


RateLimiter = Union[TokenBucketRateLimiter, SlidingWindowRateLimiter, AdaptiveRateLimiter]


def create_rate_limiter(config: RateLimitConfig | None = None, *,
                        clock: Clock = time.monotonic) -> RateLimiter:
    """The limiter ``config.strategy`` names (default: a token bucket)."""
    config = config or RateLimitConfig()
    classes: dict[RateLimitStrategy, type[TokenBucketRateLimiter]
                  | type[SlidingWindowRateLimiter] | type[AdaptiveRateLimiter]] = {
        RateLimitStrategy.TOKEN_BUCKET: TokenBucketRateLimiter,
        RateLimitStrategy.SLIDING_WINDOW: SlidingWindowRateLimiter,
        RateLimitStrategy.ADAPTIVE: AdaptiveRateLimiter}
    cls = classes[RateLimitStrategy(config.strategy)]
    return cls(config, clock=clock)

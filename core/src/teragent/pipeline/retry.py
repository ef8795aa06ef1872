"""``retry_with_backoff``: call an async function until its result is valid.

::

    result = await retry_with_backoff(
        fn=lambda: provider.chat(messages),
        max_retries=3,
        validate=lambda r: [] if r.get("content") else ["empty response"],
    )

A call is repeated when it raises a retryable error (a :class:`~teragent.errors.
ModelAPIError` with ``retryable``, or an exception that is not a TerAgent error) or
when ``validate`` returns problems. Errors that say repeating cannot help (a
non-retryable API error, a :class:`~teragent.errors.UserError`, an open breaker, a
budget) are raised at once. The server's ``retry_after`` wins over the backoff.
"""

from __future__ import annotations

import random
from typing import Any, Awaitable, Callable, TypeVar

from teragent.errors import ModelAPIError, RunError, TerAgentError

__all__ = ["retry_with_backoff", "RetryValidationError", "backoff_delay"]

T = TypeVar("T")


class RetryValidationError(RunError):
    """Every attempt's result failed validation; ``problems`` are the last ones."""

    def __init__(self, message: str, *, problems: list[str], attempts: int,
                 last_result: Any = None) -> None:
        super().__init__(message, state={"attempts": attempts, "problems": list(problems)})
        self.problems = list(problems)
        self.attempts = attempts
        self.last_result = last_result


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ModelAPIError):
        return exc.retryable
    return not isinstance(exc, TerAgentError)


async def retry_with_backoff(
    fn: Callable[[], Awaitable[T]],
    max_retries: int = 3,
    validate: Callable[[T], list[str] | None] | None = None,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    jitter: bool = True,
    *,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[int, BaseException | list[str], float], Any] | None = None,
) -> T:
    """Call ``fn()`` up to ``1 + max_retries`` times.

    Args:
        fn: A no-argument function returning an awaitable.
        max_retries: Retries after the first attempt.
        validate: ``validate(result)`` returns a list of problems (empty or ``None``:
            the result is good).
        base_delay: The first retry's delay; doubled each retry.
        max_delay: The longest delay.
        jitter: Use a random 50-100% of each delay (spreads concurrent retries).
        on_retry: Called as ``on_retry(attempt, error_or_problems, delay)``.
        sleep: Waits between attempts (default :func:`asyncio.sleep`; tests pass a
            recorder).

    Raises:
        The last error, when every attempt raised; :class:`RetryValidationError` when
        the last attempt's result failed ``validate``.
    """
    if max_retries < 0:
        raise ValueError("max_retries cannot be negative")
    if sleep is None:
        import asyncio  # here, not at import: the recovery layer imports this at build

        sleep = asyncio.sleep
    attempt = 0
    while True:
        try:
            result = await fn()
        except Exception as exc:
            if not _retryable(exc) or attempt >= max_retries:
                raise
            delay = _delay(attempt, base_delay, max_delay, jitter, rng,
                           getattr(exc, "retry_after", None))
            failure: BaseException | list[str] = exc
        else:
            problems = list(validate(result) or []) if validate is not None else []
            if not problems:
                return result
            if attempt >= max_retries:
                raise RetryValidationError(
                    f"the result was still invalid after {attempt + 1} attempt(s): "
                    + "; ".join(problems), problems=problems, attempts=attempt + 1,
                    last_result=result)
            delay = _delay(attempt, base_delay, max_delay, jitter, rng, None)
            failure = problems
        if on_retry is not None:
            on_retry(attempt + 1, failure, delay)
        await sleep(delay)
        attempt += 1


def backoff_delay(attempt: int, *, base_delay: float, max_delay: float, jitter: bool = True,
                  rng: Callable[[], float] = random.random,
                  retry_after: float | None = None) -> float:
    """The one backoff rule of TerAgent: the server's ``Retry-After`` when it sent one
    (it wins over our cap), else ``base_delay * 2**attempt`` capped at ``max_delay``;
    with ``jitter`` a uniformly random share between 50% and 100% of it."""
    if retry_after is not None:
        return max(0.0, float(retry_after))
    delay: float = min(max_delay, base_delay * (2 ** max(0, attempt)))
    return delay * (0.5 + rng() / 2) if jitter else delay


def _delay(attempt: int, base: float, cap: float, jitter: bool,
           rng: Callable[[], float], retry_after: float | None) -> float:
    return backoff_delay(attempt, base_delay=base, max_delay=cap, jitter=jitter, rng=rng,
                         retry_after=retry_after)

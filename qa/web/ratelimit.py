"""An in-memory token bucket per client, and one for all clients together.

The client key (its address) lives only in this process's memory, never on disk, and
only while its bucket is not full again: a bucket that has refilled is forgotten.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then one every ``1 / per_second`` seconds."""

    burst: int
    per_second: float


class RateLimiter:
    """``wait(key)`` is 0.0 when a request of ``key`` may go ahead now (and takes a token
    from its bucket and from the shared one), else the seconds until it may."""

    MAX_KEYS = 10_000

    def __init__(self, each: Rate, everyone: Rate,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.each, self.everyone, self.clock = each, everyone, clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, when)
        self._shared = (float(everyone.burst), clock())

    @staticmethod
    def _refill(state: tuple[float, float], rate: Rate, now: float) -> float:
        tokens, when = state
        return min(float(rate.burst), tokens + (now - when) * rate.per_second)

    def wait(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            mine = self._refill(self._buckets.get(key, (self.each.burst, now)), self.each, now)
            shared = self._refill(self._shared, self.everyone, now)
            if mine < 1 or shared < 1:
                lack = max((1 - mine) / self.each.per_second if mine < 1 else 0.0,
                           (1 - shared) / self.everyone.per_second if shared < 1 else 0.0)
                return max(lack, 0.001)
            self._buckets[key] = (mine - 1, now)
            self._shared = (shared - 1, now)
            if len(self._buckets) > self.MAX_KEYS:
                self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (their clients are as if never seen); if a
        flood of distinct keys leaves none full, drop the oldest half."""
        full = [k for k, s in self._buckets.items()
                if self._refill(s, self.each, now) >= self.each.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.MAX_KEYS:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]


def retry_after(seconds: float) -> str:
    """The Retry-After header's value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))

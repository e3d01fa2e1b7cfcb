"""Opower's per-utility request limits as fixed-window counters.

Every /apis/ request counts, the token endpoint included. A request that would exceed the
count of the current UTC second or UTC day is refused with the number of seconds until
that window ends (1 for the second window, the time to midnight UTC for the day window);
refused requests do not count.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DAY_S = 86_400


@dataclass(frozen=True)
class Limits:
    """Allowed requests per UTC second and per UTC day."""

    per_second: int
    per_day: int

    def __post_init__(self) -> None:
        for name in ("per_second", "per_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1")


class RateLimiter:
    """Thread-safe fixed-window counters; the clock is injectable for tests."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._limits = limits
        self._second = (-1, 0)  # (window, count)
        self._day = (-1, 0)

    @property
    def limits(self) -> Limits:
        """The limits in force."""
        with self._lock:
            return self._limits

    def configure(self, limits: Limits) -> None:
        """New limits; the current windows keep their counts."""
        with self._lock:
            self._limits = limits

    def reset(self, limits: Limits) -> None:
        """New limits and empty windows."""
        with self._lock:
            self._limits = limits
            self._second = (-1, 0)
            self._day = (-1, 0)

    def acquire(self) -> int | None:
        """Count one request: None when allowed, else the Retry-After seconds."""
        now = self._clock()
        second, day = math.floor(now), math.floor(now) // DAY_S
        with self._lock:
            second_count = self._second[1] if self._second[0] == second else 0
            day_count = self._day[1] if self._day[0] == day else 0
            if day_count >= self._limits.per_day:
                return max(1, math.ceil((day + 1) * DAY_S - now))
            if second_count >= self._limits.per_second:
                return 1
            self._second = (second, second_count + 1)
            self._day = (day, day_count + 1)
            return None

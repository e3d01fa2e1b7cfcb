"""Single flight: identical requests in one container at once share one call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from gateway.clock import Clock

T = TypeVar("T")


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
        self.followers = 0


class SingleFlight:
    """Identical requests in one container at once: the first calls, the others wait for
    its outcome (bounded by their own deadline) and share it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: Hashable, call: Callable[[], T], *, deadline: float) -> tuple[T, bool]:
        """``call()``'s outcome and whether it was another request's (collapsed)."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.followers += 1
        if not leader:
            if not flight.done.wait(min(900.0, max(0.0, deadline - self._clock.now()))):
                from gateway.errors import UpstreamTimeoutError

                raise UpstreamTimeoutError("an identical request in flight did not finish in time")
            if flight.error is not None:
                raise flight.error
            return flight.result, True  # type: ignore[return-value]
        try:
            result = call()
            flight.result = result
            return result, False
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

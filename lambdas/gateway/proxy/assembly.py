"""Daily and raw usage answered from a customer's settled days: Opower asked only for the rest.

The proxy's use of gateway.cache.days (which decides, from the days held, what to ask and
whether the assembled answer is provably Opower's). Per customer, fuel and resolution,
the settled days seen in Opower's answers are kept as one entry of the response cache
(route ``usage_days``, kept ``settled_fresh_s``, trimmed to ``max_days`` and to the
cache's entry size), so the customer's next window, say the last 30 days tomorrow, costs
one Opower call for its last, unsettled days instead of 30 days' worth, and a window of
settled days seen before costs none. Whenever the module cannot show the answer is
Opower's, the whole window is asked as before.

The customer scope is the cache key's partition: days are only ever served back to the
customer whose answers they came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.cache import days as usage_days
from gateway.cache.answers import ResponseCache
from gateway.cache.keys import CacheKey, cache_key
from gateway.opower_client import UpstreamResponse

if TYPE_CHECKING:
    from gateway.proxy.entry import Forward
    from gateway.proxy.validation import Upstream

ROUTE = "usage_days"  # the cache name of the days entry (never a route of its own)


@dataclasses.dataclass(frozen=True)
class Assembled:
    """A whole window's answer, the Opower status of the call it took (None: no call) and
    when its oldest part was given by Opower."""

    body: str
    forward_status: int | None
    given_at: float


class UsageAssembly:
    def __init__(
        self,
        cache: ResponseCache,
        *,
        settled_after_s: float,
        settled_fresh_s: float,
        max_days: int,
        max_entry_bytes: int,
        now: Callable[[], float],
    ) -> None:
        self._cache = cache
        self._settled_after_s = settled_after_s
        self._settled_fresh_s = settled_fresh_s
        self._max_days = max_days
        self._max_entry_bytes = max_entry_bytes
        self._now = now

    @staticmethod
    def applies(upstream: Upstream) -> bool:
        return (
            upstream.route.name == "usage"
            and upstream.path_values.get("resolution") in usage_days.RESOLUTIONS
        )

    def answer(
        self, call: Forward, send: Callable[[Forward], UpstreamResponse]
    ) -> Assembled | None:
        """The window from the held days and one call for the rest (or none), or None
        when it is to be asked whole (nothing held, nothing to gain, not provable)."""
        upstream = call.upstream
        found = self._held(call)
        window = _window(upstream)
        if found is None or window is None:
            return None
        held, held_since = found
        resolution = upstream.path_values["resolution"]
        plan = usage_days.plan(resolution, *window, held)
        if plan.kind == "whole":
            return None
        if plan.kind == "none":
            body = usage_days.assemble(plan, held, *window, None)
            return Assembled(body, None, held_since) if body is not None else None
        assert plan.start_date is not None
        asked_at = self._now()
        rest = dataclasses.replace(call, upstream=_starting(upstream, plan.start_date))
        result = send(rest)
        if result.status != 200:
            return None  # asked whole: Opower's own answer (or failure) to the window
        try:
            fresh = result.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        body = usage_days.assemble(plan, held, *window, fresh)
        if body is not None:
            self.keep(rest, fresh, asked_at=asked_at, held=held)
        return Assembled(body, 200, asked_at) if body is not None else None

    def keep(
        self,
        call: Forward,
        body: str,
        *,
        asked_at: float,
        held: usage_days.Days | None = None,
    ) -> None:
        """Add the settled days of an answer Opower gave to a request sent at
        ``asked_at`` to the customer's held days. The entry counts from then: were Opower
        to refuse the customer meanwhile, days it gave before are no days
        (gateway.cache.answers: the markers)."""
        now = self._now()
        settled_before = datetime.fromtimestamp(now - self._settled_after_s, UTC)
        seen = usage_days.harvest(
            call.upstream.path_values["resolution"],
            body,
            settled_before=settled_before,
            seen_at=asked_at,
        )
        if seen is None or not seen.days:
            return
        if held is None:
            found = self._held(call)
            held = found[0] if found is not None else None
        days = held.merge(seen) if held is not None else seen
        text = self._fitted(days)
        if text is not None:
            self._cache.store(
                self._key(call), text, fresh_s=self._settled_fresh_s, asked_at=asked_at
            )

    def _held(self, call: Forward) -> tuple[usage_days.Days, float] | None:
        """The customer's held days still trusted (given by Opower within
        ``settled_fresh_s``: a correction Opower makes reaches the customer within it),
        and when the oldest of them was given."""
        found = self._cache.lookup(self._key(call))
        if not found.fresh or found.entry is None:
            return None
        days = usage_days.Days.from_json(found.entry.body)
        if days is None:
            return None
        days = days.trusted(self._now() - self._settled_fresh_s)
        return (days, days.oldest_seen) if days.days else None

    def _fitted(self, days: usage_days.Days) -> str | None:
        """The held days as kept: the newest ``max_days``, fewer while too large."""
        days = days.trim(self._max_days)
        while days.days:
            text = days.to_json()
            if len(text.encode("utf-8")) <= self._max_entry_bytes:
                return text
            days = days.trim(len(days.days) * 3 // 4)
        return None

    @staticmethod
    def _key(call: Forward) -> CacheKey:
        values = call.upstream.path_values
        return cache_key(
            call.scope,
            ROUTE,
            f"{values['resolution']}/{values['fuel']}",
            generation=call.generation,
        )


def _window(upstream: Upstream) -> tuple[str, str] | None:
    query = dict(upstream.query)
    start, end = query.get("start"), query.get("end")
    if start is None or end is None or len(query) != 2:
        return None  # another parameter would make the parts differ from the whole
    return start, end


def _starting(upstream: Upstream, start_date: str) -> Upstream:
    query = tuple((n, start_date if n == "start" else v) for n, v in upstream.query)
    return dataclasses.replace(upstream, query=query)

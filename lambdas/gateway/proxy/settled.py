"""How long an answer may be kept when it describes a past that cannot change.

A route's lifetime (gateway.routes ``Caching``) is how long its answers stay true in
general: an hour for daily usage, since reads arrive through the day. But usage of a
window that ended before the meter-read settlement window (``cache_settled_after_s``: reads
arrive within hours to a day or two) has all its reads; a neighbor comparison history or
a bill's breakdown of periods that ended then is closed. Such an answer is kept for
``cache_settled_fresh_s`` instead (a bound, within the cache table's TTL and the memory
tier's LRU), unless it says otherwise: an interval read as ESTIMATED, or counted with
estimated reads, is replaced by an actual read later, so an answer holding one keeps its
route's lifetime.

Only the request's own end decides (the rule's parameter, after validation): a window
without an end (Opower's default, "the latest") is never settled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway.proxy.validation import Upstream, parse_datetime

# The query parameter whose value ends the answer's period, per settling rule.
ENDS = {"window_end": "end", "bill_end": "billEndDate"}


def kept_for(
    upstream: Upstream,
    body: str,
    *,
    fresh_s: float,
    now: float,
    settled_after_s: float,
    settled_fresh_s: float,
) -> float:
    """Seconds to keep ``body``: ``settled_fresh_s`` when it describes a settled past,
    else ``fresh_s``."""
    get = upstream.route.operation("GET")
    rule = get.cache.settles if get is not None and get.cache is not None else ""
    if not rule or settled_fresh_s <= fresh_s:
        return fresh_s
    end = _end(rule, dict(upstream.query))
    if end is None or end.timestamp() > now - settled_after_s:
        return fresh_s
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return fresh_s
    return fresh_s if _estimated(document) else settled_fresh_s


def _end(rule: str, query: Mapping[str, str]) -> datetime | None:
    value = query.get(ENDS[rule])
    if value is None:
        return None
    if rule == "bill_end":  # the bill's last day, whole
        return datetime.combine(date.fromisoformat(value), time(), UTC) + timedelta(days=1)
    return parse_datetime(ENDS[rule], value)


def _estimated(document: Any, depth: int = 0) -> bool:
    """Whether any interval of the answer was read as estimated (usage pages: readType,
    or estimatedReadsCount above 0), looked for at any depth (bounded)."""
    if depth > 12:
        return True  # deeper than any documented answer: not judged settled
    if isinstance(document, dict):
        read = document.get("readType")
        if isinstance(read, str) and read.upper() != "ACTUAL":
            return True
        count = document.get("estimatedReadsCount")
        if isinstance(count, (int, float)) and not isinstance(count, bool) and count > 0:
            return True
        return any(_estimated(v, depth + 1) for v in document.values())
    if isinstance(document, list):
        return any(_estimated(v, depth + 1) for v in document)
    return False

"""The cache's two tiers: the warm container's memory (an LRU bounded in bytes) and the
shared DynamoDB table (one item per entry in the customer's partition, the body
zlib-compressed, and one item of the customer's markers)."""

from __future__ import annotations

import dataclasses
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway import aws_clients
from gateway.cache.keys import MARKERS, CacheKey, route_tag

_ENTRY_OVERHEAD_BYTES = 256  # key, timestamps and bookkeeping of a memory entry


@dataclass(frozen=True)
class Entry:
    body: str
    stored_at: float  # when Opower gave this answer
    fresh_until: float
    stale_until: float

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def usable_stale(self, now: float) -> bool:
        return now < self.stale_until

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8")) + _ENTRY_OVERHEAD_BYTES


class MemoryTier:
    """An LRU of entries bounded by the bytes of their bodies."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: CacheKey, entry: Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self._max:
                return  # larger than the whole tier: not kept (nor the older answer)
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self._max:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def expire_all(self, now: float) -> None:
        with self._lock:
            for key, entry in self._entries.items():
                if entry.fresh_until > now:
                    self._entries[key] = dataclasses.replace(entry, fresh_until=now)

    def discard(self, key: CacheKey) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size

    def drop(self, scope: str, routes: Sequence[str] | None) -> int:
        """Remove the customer's entries of these routes (None: all of them)."""
        with self._lock:
            doomed = [
                k
                for k in self._entries
                if k.scope == scope and (routes is None or k.route in routes)
            ]
            for key in doomed:
                self._bytes -= self._entries.pop(key).size
            return len(doomed)


class CacheStoreError(Exception):
    """The shared tier (DynamoDB) could not be read or written."""


@dataclass(frozen=True)
class Markers:
    """The customer's markers: for each route, the time before which no answer of it is an
    answer (the last write, refusal, or the customer forgotten), whatever a container
    still holds or a request already on its way stores later."""

    routes: Mapping[str, float] = dataclasses.field(default_factory=dict)  # route tag -> t
    everything: float = 0.0  # the customer forgotten

    def since(self, route: str) -> float:
        return max(self.everything, self.routes.get(route_tag(route), 0.0))


NO_MARKERS = Markers()


class DynamoDbCacheStore(aws_clients.DynamoDbTable):
    """The shared tier: one item per entry, in the customer's partition, and one item of
    the customer's markers (sort key ``!``), read consistently with every lookup."""

    def get(self, key: CacheKey) -> tuple[Entry | None, Markers]:
        """The entry and the customer's markers: one consistent BatchGetItem."""
        from botocore.exceptions import BotoCoreError, ClientError

        pk = {"S": f"c#{key.scope}"}
        wanted: list[Any] = [
            {"pk": pk, "sk": {"S": key.sort_key}},
            {"pk": pk, "sk": {"S": MARKERS}},
        ]
        items: list[Mapping[str, Any]] = []
        try:
            for _ in range(_BATCH_ATTEMPTS):
                answer = self._ddb().batch_get_item(
                    RequestItems={self._table: {"Keys": wanted, "ConsistentRead": True}}
                )
                items += answer.get("Responses", {}).get(self._table, [])
                left: Any = answer.get("UnprocessedKeys") or {}
                wanted = list(left.get(self._table, {}).get("Keys", []))
                if not wanted:
                    break
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        if wanted:
            raise CacheStoreError("get: keys left unprocessed")
        entry, markers = None, NO_MARKERS
        for item in items:
            if item["sk"]["S"] == MARKERS:
                markers = _markers(item)
            else:
                entry = _entry(item)
        return entry, markers

    def markers(self, scope: str) -> Markers:
        """The customer's markers alone (a consistent GetItem): what a memory hit asks."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = (
                self._ddb()
                .get_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"c#{scope}"}, "sk": {"S": MARKERS}},
                    ConsistentRead=True,
                )
                .get("Item")
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        return _markers(item) if item else NO_MARKERS

    def put(self, key: CacheKey, entry: Entry, compressed: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb().put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"c#{key.scope}"},
                    "sk": {"S": key.sort_key},
                    "body": {"B": compressed},
                    "at": {"N": f"{entry.stored_at:.3f}"},
                    "fresh": {"N": f"{entry.fresh_until:.3f}"},
                    "stale": {"N": f"{entry.stale_until:.3f}"},
                    # DynamoDB deletes expired items within days, not at once: the reader
                    # checks `stale` itself; TTL only keeps the table from growing.
                    "ttl": {"N": str(int(entry.stale_until) + 60)},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("put") from exc

    def delete(self, key: CacheKey) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{key.scope}"}, "sk": {"S": key.sort_key}},
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("delete") from exc

    def delete_routes(
        self, scope: str, routes: Sequence[str] | None, *, at: float, keep_s: float
    ) -> int:
        """Mark these routes (None: every route, the customer forgotten) at ``at``, then
        remove their entries from the customer's partition. The mark comes first: an
        entry a request on its way stores meanwhile was asked before it, and is no entry."""
        from botocore.exceptions import BotoCoreError, ClientError

        names = {"#ttl": "ttl"}
        if routes is None:
            names["#m"] = "all"
            prefixes = [""]
        else:
            names |= {f"#m{i}": f"m_{route_tag(r)}" for i, r in enumerate(routes)}
            prefixes = [f"{route_tag(r)}#" for r in routes]
        marks = ", ".join(f"{name} = :at" for name in names if name != "#ttl")
        removed = 0
        try:
            self._ddb().update_item(
                TableName=self._table,
                Key={"pk": {"S": f"c#{scope}"}, "sk": {"S": MARKERS}},
                UpdateExpression=f"SET {marks}, #ttl = :ttl",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":at": {"N": f"{at:.3f}"},
                    ":ttl": {"N": str(int(at + keep_s))},
                },
            )
            for prefix in prefixes:
                removed += self._delete_prefixed(scope, prefix)
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("delete") from exc
        return removed

    def _delete_prefixed(self, scope: str, prefix: str) -> int:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": {"S": f"c#{scope}"}} | ({":prefix": {"S": prefix}} if prefix else {})
        pages = (
            self._ddb()
            .get_paginator("query")
            .paginate(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            )
        )
        removed = 0
        for page in pages:
            for item in page.get("Items", []):
                if item["sk"]["S"] == MARKERS:
                    continue
                self._ddb().delete_item(
                    TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}
                )
                removed += 1
        return removed


_BATCH_ATTEMPTS = 3


def _markers(item: Mapping[str, Any]) -> Markers:
    try:
        routes = {
            name[2:]: float(value["N"]) for name, value in item.items() if name.startswith("m_")
        }
        return Markers(routes, float(item["all"]["N"]) if "all" in item else 0.0)
    except (KeyError, TypeError, ValueError):
        # Not markers this code wrote: nothing in the partition can be trusted.
        return Markers({}, float("inf"))


def _entry(item: Mapping[str, Any]) -> Entry | None:
    try:
        return Entry(
            body=zlib.decompress(item["body"]["B"]).decode("utf-8"),
            stored_at=float(item["at"]["N"]),
            fresh_until=float(item["fresh"]["N"]),
            stale_until=float(item["stale"]["N"]),
        )
    except (KeyError, ValueError, zlib.error):
        return None  # not an entry this code wrote: a miss

"""The cache's two tiers: the warm container's memory (an LRU bounded in bytes) and the
shared DynamoDB table (one item per entry in the customer's partition, the body
zlib-compressed, a write marker per route)."""

from __future__ import annotations

import dataclasses
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway import aws_clients
from gateway.cache.keys import CacheKey

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

    def drop(self, scope: str, routes: Sequence[str]) -> int:
        with self._lock:
            doomed = [k for k in self._entries if k.scope == scope and k.route in routes]
            for key in doomed:
                self._bytes -= self._entries.pop(key).size
            return len(doomed)


class CacheStoreError(Exception):
    """The shared tier (DynamoDB) could not be read or written."""


class DynamoDbCacheStore(aws_clients.DynamoDbTable):
    """The shared tier: one item per entry, in the customer's partition."""

    def get(self, key: CacheKey) -> Entry | None:
        """The entry (an eventually consistent read: half the cost; a route that writes
        change is read with ``get_written``)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            item = (
                self._ddb()
                .get_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"c#{key.scope}"}, "sk": {"S": key.sort_key}},
                )
                .get("Item")
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        return _entry(item) if item else None

    def get_written(self, key: CacheKey) -> tuple[Entry | None, float]:
        """The entry and the time of the customer's last write to its route (0: none), in
        one consistent Query of the route's items (its entries and the write marker)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._ddb().query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :route)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"c#{key.scope}"},
                    ":route": {"S": f"{key.route}#"},
                },
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("get") from exc
        entry, written_at = None, 0.0
        for item in answer.get("Items", []):
            sort_key = item["sk"]["S"]
            if sort_key == _marker(key.route):
                written_at = float(item["at"]["N"])
            elif sort_key == key.sort_key:
                entry = _entry(item)
        return entry, written_at

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

    def delete_routes(self, scope: str, routes: Sequence[str], *, at: float, keep_s: float) -> int:
        """Remove every entry of these routes in the customer's partition, and mark each
        route written at ``at`` (the marker outlives any entry asked for before it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        removed = 0
        try:
            for route in routes:
                self._ddb().put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": f"c#{scope}"},
                        "sk": {"S": _marker(route)},
                        "at": {"N": f"{at:.3f}"},
                        "ttl": {"N": str(int(at + keep_s))},
                    },
                )
                pages = (
                    self._ddb()
                    .get_paginator("query")
                    .paginate(
                        TableName=self._table,
                        KeyConditionExpression="pk = :pk AND begins_with(sk, :route)",
                        ExpressionAttributeValues={
                            ":pk": {"S": f"c#{scope}"},
                            ":route": {"S": f"{route}#"},
                        },
                        ProjectionExpression="pk, sk",
                        ConsistentRead=True,
                    )
                )
                for page in pages:
                    for item in page.get("Items", []):
                        if item["sk"]["S"] == _marker(route):
                            continue
                        self._ddb().delete_item(
                            TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}
                        )
                        removed += 1
        except (BotoCoreError, ClientError) as exc:
            raise CacheStoreError("delete") from exc
        return removed


def _marker(route: str) -> str:
    """The sort key of a route's write marker (no request hash ends in "!")."""
    return f"{route}#!"


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

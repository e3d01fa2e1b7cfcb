"""Where a cached answer lives: the customer's scope (a hash of their binding) and the
request within it (a hash of the normalized upstream GET)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from gateway import customer_keys


@dataclass(frozen=True)
class CacheKey:
    """Where an answer lives: the customer's scope and the request within it."""

    scope: str  # hash of the customer's binding: utility code and Opower ids
    route: str
    request: str  # hash of the normalized upstream request

    @property
    def sort_key(self) -> str:
        return f"{self.route}#{self.request}"


def customer_scope(utility_code: str, customer_id: str, utility_customer_id: str) -> str:
    """The customer's cache partition: their company and both Opower ids, canonically
    encoded and hashed under the customer key (no id is stored in a key, and none can be
    tried against one: gateway.customer_keys)."""
    return customer_keys.digest(["cache", utility_code, customer_id, utility_customer_id], 32)


def cache_key(scope: str, route: str, path: str, query: Iterable[tuple[str, str]] = ()) -> CacheKey:
    """The key of one upstream GET: its path (which holds the bound ids) and its query,
    sorted, so that the same request asked in another order is the same entry."""
    material = json.dumps([path, sorted(query)], separators=(",", ":"))
    return CacheKey(scope, route, hashlib.sha256(material.encode()).hexdigest()[:32])

"""Where a cached answer lives, every part of it keyed under the customer key
(gateway.customer_keys): the customer's partition, the route and the request within it.

* the partition (``scope``) names the customer as the utility knows them: the company and
  the utility's customer id, so that an operator holding the key can find everything of a
  customer from what the utility has (``make forget``), and no one without it can;
* the route is a keyed tag: a table scan shows no route name either;
* the request is a keyed hash of the customer's binding generation (their Opower ids and
  what Opower listed of their accounts: a customer who moved, or whose accounts changed,
  is asked anew, and nothing from before is served), the route, the upstream path (which
  holds the Opower ids) and its query, sorted.

An unkeyed hash of a path is reversed by hashing the paths the route templates make of
every enumerable id (an outside review did, in 7 s): nothing here is unkeyed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from gateway import customer_keys

# The sort key of the customer's markers item (gateway.cache.tiers): no hash is "!".
MARKERS = "!"


@dataclass(frozen=True)
class CacheKey:
    """Where an answer lives: the customer's partition and the request within it."""

    scope: str  # keyed hash of the company and the utility's customer id
    route: str  # the cache name's route (never stored: its keyed tag is)
    request: str  # keyed hash of the binding generation, route and normalized request

    @property
    def sort_key(self) -> str:
        return f"{route_tag(self.route)}#{self.request}"


def customer_scope(utility_code: str, utility_customer_id: str) -> str:
    """The customer's cache partition: their company and the utility's id of them,
    canonically encoded and hashed under the customer key."""
    return customer_keys.digest(["cache", utility_code, utility_customer_id], 32)


def route_tag(route: str) -> str:
    """A route's name in a sort key: keyed, the same for every customer under one key."""
    return customer_keys.digest(["route", route], 12)


def generation(customer_id: str, account_ids: Iterable[str], accounts_version: str = "") -> str:
    """What a customer's answers were given for: their Opower customer id, the utility
    accounts bound and the version of Opower's list of them (gateway.auth.binding). Any
    change (an account moved out, closed or added, a re-keyed customer) is another
    generation, whose requests are other keys."""
    return json.dumps([customer_id, sorted(account_ids), accounts_version], separators=(",", ":"))


def cache_key(
    scope: str,
    route: str,
    path: str,
    query: Iterable[tuple[str, str]] = (),
    *,
    generation: str = "",
) -> CacheKey:
    """The key of one upstream GET: its path (which holds the bound ids) and its query,
    sorted, so that the same request asked in another order is the same entry."""
    material = json.dumps([path, sorted(query)], separators=(",", ":"))
    request = customer_keys.digest(["request", generation, route, material], 32)
    return CacheKey(scope, route, request)

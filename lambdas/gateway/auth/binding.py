"""Binding a verified session to the customer's own Opower ids.

From the session: the utility's ``utilityCustomerId`` and account number(s). Then
``customers?accountNumber=…`` for each number, keeping only the customers whose
``utilityCustomerId`` equals the verified one, and ``customers/{id}/utility_accounts``
for the utility-account ids the customer may name. The result is cached in the
container and in DynamoDB (item ``bind#<hash>``, TTL); so is a refusal (no customer
matches, or several), for ``negative_ttl_s``: a token whose claims bind to nobody costs
Opower its lookups once, not on every call. The lookups spend the customer's own share
of the Opower budget.

How long is safe: the key is made of the session's verified claims (company, customer id,
account numbers), so the utility's identity provider stays the authority on which
accounts a customer holds: a claim that changes is another binding, at once. What a held
binding can hold back is only Opower's side for the same claims (a utility account added
to or closed for that customer, a re-keyed customer), and what it grants is only that
customer's own Opower ids: Opower answers a customer's usage for their tenancy only, and
never reuses an id for another person. So a customer who moved out, while their claims
still name the account, sees their own history of it (as a fresh lookup would show them),
never the next occupant's (another utility account and customer at Opower, which a lookup
by the old claims refuses). Holding it longer costs freshness, not isolation: a binding is
used for up to ``ttl_s`` (8 days) and, used once older than ``refresh_after_s`` (7 days),
looked up again with that request (within ``_REFRESH_BUDGET_S``); a refresh that fails
keeps the held binding until its expiry, so an active customer is not refused for an
Opower hiccup. Each lookup is two Opower calls: at a day, a customer visiting on 4 days
of a month paid 8; at 7 days, about 4 (docs/performance.md, capacity across the month).
(Not on a thread beside the request: Lambda freezes the environment once the handler
returns, and the handler's metrics are flushed from the same dictionaries.)

The second lookup's answer (``utility_accounts``) is the accounts route's answer too:
``seed`` puts it in the response cache's shared tier.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gateway import aws_clients, customer_keys, opower_answers
from gateway.auth.errors import (
    AccessDeniedError,
    CustomerLimitedError,
    IdentityUnavailableError,
    LoginBudgetSpentError,
)
from gateway.auth.session import SessionIdentity
from gateway.auth_context import customer_hash
from gateway.clock import Clock
from gateway.errors import BudgetExceededError, CustomerBudgetExceededError, GatewayError
from gateway.observability import MetricsSink, NullMetrics
from gateway.opower_client import OpowerClient
from gateway.routes import ROUTES_BY_NAME, upstream_path

if TYPE_CHECKING:
    from gateway.cache.answers import ResponseCache

logger = logging.getLogger(__name__)
_MEMORY_ENTRIES = 1024
# A refresh ahead of expiry may take this much of the request's time (two Opower calls),
# and is tried again this long after a failure.
_REFRESH_BUDGET_S = 3.0
_REFRESH_RETRY_S = 300.0
_ASCII_ID = re.compile(r"[0-9]{1,19}")


# Get Utility Account List's `resolution`, as the length of a raw interval in minutes
# (Get Raw Interval Usage: "up to 100 intervals in a single request"). MONTH and BILLING
# meters have no intervals to read raw. An absent resolution (optional on the page) or one
# this table does not know (Oracle added FIVE_MINUTE once) is counted as the finest there
# can be, a minute: a window the gateway lets through then never passes Opower's cap.
RAW_INTERVAL_MINUTES = {"MINUTE": 1, "FIVE_MINUTE": 5, "QUARTER_HOUR": 15, "HALF_HOUR": 30,
                        "HOUR": 60, "DAY": 1440}  # fmt: skip
NO_RAW_INTERVALS = frozenset({"MONTH", "BILLING"})
UNKNOWN_RESOLUTION_MINUTES = 1
# The utility account's meterType, as the usage API names the fuel.
USAGE_FUEL = {"ELEC": "ELECTRICITY", "GAS": "GAS"}


@dataclass(frozen=True)
class Binding:
    customer_id: str  # Opower's id
    utility_customer_id: str
    account_ids: tuple[str, ...]  # Opower utility-account ids the customer may name
    # Usage fuel -> the finest raw interval (minutes) among the customer's meters of that
    # fuel; a fuel whose meters say no known resolution is absent.
    raw_minutes: tuple[tuple[str, int], ...] = ()
    # A keyed digest of the tenancy Opower lists for the bound accounts (each one's id,
    # move-in and move-out dates): a move Opower processes is another version, and the
    # response cache keeps nothing across versions (gateway.cache.keys.generation).
    version: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "c": self.customer_id,
                "u": self.utility_customer_id,
                "a": list(self.account_ids),
                "r": dict(self.raw_minutes),
                "v": self.version,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Binding:
        data = json.loads(raw)
        # "r" is absent from bindings stored before it existed: no interval is known.
        minutes = data.get("r") if isinstance(data.get("r"), dict) else {}
        return cls(
            str(data["c"]),
            str(data["u"]),
            tuple(str(a) for a in data["a"]),
            tuple(sorted((str(f), int(m)) for f, m in minutes.items())),
            str(data.get("v") or ""),  # absent from bindings stored before it existed
        )


class BindingStore(aws_clients.DynamoDbTable):
    """The DynamoDB tier of the binding cache."""

    def read(self, key: str, now: float) -> tuple[Binding | str, float, float] | None:
        """The binding (or the reason it was refused), its expiry and when it was looked
        up, while still valid."""
        item = (
            self._ddb()
            .get_item(TableName=self._table, Key={"pk": {"S": f"bind#{key}"}})
            .get("Item")
        )
        if not item or float(item["until"]["N"]) <= now:
            return None
        until = float(item["until"]["N"])
        at = float(item["at"]["N"]) if "at" in item else now
        if "denied" in item:
            return str(item["denied"]["S"]), until, at
        return Binding.from_json(item["binding"]["S"]), until, at

    def write(
        self, key: str, binding: Binding | str, until: float, *, at: float, owner: str = ""
    ) -> None:
        """The binding (or refusal) under its key; and the key in the index of the
        customer's bindings (``owner``: their keyed name), by which the operator's forget
        finds every binding of theirs (gateway.forget)."""
        answer = (
            {"denied": {"S": binding}}
            if isinstance(binding, str)
            else {"binding": {"S": binding.to_json()}}
        )
        ttl = {"N": str(int(until) + 60)}
        self._ddb().put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"bind#{key}"},
                **answer,
                "until": {"N": f"{until:.3f}"},
                "at": {"N": f"{at:.3f}"},
                "ttl": ttl,
            },
        )
        if owner:
            from gateway.forget import bindings_index

            # Outlives every binding listed: the latest written expires last.
            self._ddb().update_item(
                TableName=self._table,
                Key={"pk": {"S": bindings_index(owner)}},
                UpdateExpression="ADD #keys :key SET #ttl = :ttl",
                ExpressionAttributeNames={"#keys": "keys", "#ttl": "ttl"},
                ExpressionAttributeValues={":key": {"SS": [key]}, ":ttl": ttl},
            )


class AccountsSeed:
    """Puts a binding's utility_accounts answer in the response cache, as the proxy would
    have stored the customer's GET /v1/me/accounts."""

    def __init__(self, cache: ResponseCache, *, fresh_s: float) -> None:
        self._cache = cache
        self._fresh_s = fresh_s

    def __call__(self, utility_code: str, binding: Binding, path: str, body: bytes) -> None:
        from gateway.cache.keys import cache_key, customer_scope, generation

        try:
            text = body.decode("utf-8")
            json.loads(text)
        except (ValueError, RecursionError):
            return
        scope = customer_scope(utility_code, binding.utility_customer_id)
        key = cache_key(
            scope,
            "accounts",
            path,
            generation=generation(binding.customer_id, binding.account_ids, binding.version),
        )
        self._cache.store(key, text, fresh_s=self._fresh_s)


class BindingResolver:
    def __init__(
        self,
        client: OpowerClient,
        *,
        utility_code: str,
        store: BindingStore | None,
        clock: Clock,
        ttl_s: float = 86_400,
        refresh_after_s: float | None = None,
        negative_ttl_s: float = 60,
        metrics: MetricsSink | None = None,
        seed: Callable[[str, Binding, str, bytes], None] | None = None,
    ) -> None:
        self._client = client
        self._prefix = f"/apis/customer-data-v2/{quote(utility_code, safe='')}/customers"
        self._utility_code = utility_code
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._metrics = metrics or NullMetrics()
        self._refresh_after_s = min(ttl_s, ttl_s if refresh_after_s is None else refresh_after_s)
        self._seed = seed
        # key -> (valid until, looked up at (or when a failed refresh is due again),
        # binding or refusal)
        self._memory: OrderedDict[str, tuple[float, float, Binding | str]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(
        self, identity: SessionIdentity, *, deadline: float, customer_key: str | None = None
    ) -> Binding:
        key = self._key(identity)
        now = self._clock.now()
        with self._lock:
            cached = self._memory.get(key)
        if cached is not None and cached[0] > now:
            self._metrics.add_metric("BindingCacheHitMemory", "Count", 1)
            return _answer(self._refreshed(key, identity, cached, deadline, customer_key))
        stored = self._read_store(key, now)
        if stored is not None:
            self._metrics.add_metric("BindingCacheHitDynamoDb", "Count", 1)
            answer, until, at = stored
            # Not past what the store says, nor past this container's own bound.
            ttl = self._negative_ttl_s if isinstance(answer, str) else self._ttl_s
            entry = (min(until, at + ttl), at, answer)
            self._remember(key, entry)
            return _answer(self._refreshed(key, identity, entry, deadline, customer_key))
        return _answer(self._resolve_now(key, identity, deadline, customer_key))

    def _resolve_now(
        self, key: str, identity: SessionIdentity, deadline: float, customer_key: str | None
    ) -> Binding | str:
        now = self._clock.now()
        try:
            binding: Binding | str = self._lookup(identity, deadline, customer_key)
        except AccessDeniedError as refused:
            binding = refused.reason
        self._metrics.add_metric("BindingResolved", "Count", 1)
        until = now + (self._negative_ttl_s if isinstance(binding, str) else self._ttl_s)
        self._remember(key, (until, now, binding))
        owner = customer_hash(self._utility_code, identity.utility_customer_id)
        self._write_store(key, binding, until, at=now, owner=owner)
        return binding

    def _refreshed(
        self,
        key: str,
        identity: SessionIdentity,
        entry: tuple[float, float, Binding | str],
        deadline: float,
        customer_key: str | None,
    ) -> Binding | str:
        """The held binding, or, once it is older than ``refresh_after_s``, the one Opower
        gives now (within a short part of the request's time). A refresh that fails keeps
        the held binding, and is tried again in ``_REFRESH_RETRY_S``."""
        now = self._clock.now()
        held = entry[2]
        if isinstance(held, str) or now - entry[1] < self._refresh_after_s:
            return held
        self._metrics.add_metric("BindingRefreshAhead", "Count", 1)
        try:
            return self._resolve_now(
                key, identity, min(deadline, now + _REFRESH_BUDGET_S), customer_key
            )
        except (IdentityUnavailableError, CustomerLimitedError):
            self._metrics.add_metric("BindingRefreshFailed", "Count", 1)
            logger.warning("binding refresh failed; the held binding stays in use")
            retry_at = now - self._refresh_after_s + _REFRESH_RETRY_S
            self._remember(key, (entry[0], retry_at, held))
            return held

    def _lookup(
        self, identity: SessionIdentity, deadline: float, customer_key: str | None
    ) -> Binding:
        matches: set[str] = set()
        for number in identity.account_numbers:
            customers, _ = self._get(
                self._prefix, deadline, customer_key, query=[("accountNumber", number)]
            )
            # Get Customer List: {"response": [...]} or, as its page's example shows it,
            # {"response": {...}}: either form, the same customers.
            for customer in opower_answers.items(customers):
                if customer.get("utilityCustomerId") == identity.utility_customer_id and _is_id(
                    customer.get("id")
                ):
                    matches.add(str(customer["id"]))
        if not matches:
            raise AccessDeniedError("no_matching_customer")
        if len(matches) > 1:
            raise AccessDeniedError("ambiguous_customer")
        (customer_id,) = matches
        # The accounts route's own upstream path (gateway.routes): one answer for both.
        accounts_path = upstream_path(
            ROUTES_BY_NAME["accounts"], {"U": self._utility_code, "customerId": customer_id}
        )
        accounts, raw = self._get(accounts_path, deadline, customer_key)
        bound = [a for a in opower_answers.items(accounts) if _is_id(a.get("id"))]
        binding = Binding(
            customer_id,
            identity.utility_customer_id,
            tuple(sorted({str(a["id"]) for a in bound})),
            raw_minutes(bound, _day(self._clock.now())),
            tenancy_version(bound),
        )
        if self._seed is not None and raw is not None:
            try:
                self._seed(self._utility_code, binding, accounts_path, raw)
            except Exception:  # noqa: BLE001 - a cache write; the binding stands without it
                logger.warning("could not keep the accounts answer in the response cache")
        return binding

    def _get(
        self,
        path: str,
        deadline: float,
        customer_key: str | None,
        query: list[tuple[str, str]] | None = None,
    ) -> tuple[Any, bytes | None]:
        """Opower's answer, parsed, and its body (None for a 404, read as no match)."""
        try:
            response = self._client.request(
                "GET",
                path,
                query=query or (),
                deadline=deadline,
                customer_key=customer_key,
                priority="login",  # nothing works without it: first of the day's budget
            )
        except CustomerBudgetExceededError:
            raise CustomerLimitedError("customer_rate_limited") from None
        except BudgetExceededError as exc:
            self._metrics.add_metric("BindingBudgetSpent", "Count", 1)
            if exc.reason == "per_day":
                raise LoginBudgetSpentError(
                    "opower_budget_spent", retry_after_s=exc.retry_after_s
                ) from None
            raise IdentityUnavailableError(
                f"opower_{exc.code}", retry_after_s=exc.retry_after_s
            ) from None
        except GatewayError as exc:
            self._metrics.add_metric("BindingUpstreamFailure", "Count", 1)
            raise IdentityUnavailableError(
                f"opower_{exc.code}", retry_after_s=getattr(exc, "retry_after_s", None)
            ) from None
        if response.status == 404:
            return {}, None
        if response.status != 200:
            self._metrics.add_metric("BindingUpstreamFailure", "Count", 1)
            raise IdentityUnavailableError(f"opower_status_{response.status}")
        try:
            return json.loads(response.body), response.body
        except (ValueError, RecursionError):
            raise IdentityUnavailableError("opower_malformed") from None

    def _key(self, identity: SessionIdentity) -> str:
        # Keyed (gateway.customer_keys) and canonically encoded: no claim value can make
        # two customers' parts one text, and no one without the key can tell whose.
        parts = ["bind", self._utility_code, identity.utility_customer_id]
        return customer_keys.digest([*parts, *identity.account_numbers], 32)

    def _remember(self, key: str, entry: tuple[float, float, Binding | str]) -> None:
        with self._lock:
            self._memory[key] = entry
            self._memory.move_to_end(key)
            while len(self._memory) > _MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _read_store(self, key: str, now: float) -> tuple[Binding | str, float, float] | None:
        if self._store is None:
            return None
        try:
            return self._store.read(key, now)
        except Exception:  # noqa: BLE001 - a cache miss, whatever the cause
            self._metrics.add_metric("BindingStoreDegraded", "Count", 1)
            logger.warning("binding store unavailable; resolving from Opower")
            return None

    def _write_store(
        self, key: str, binding: Binding | str, until: float, *, at: float, owner: str
    ) -> None:
        if self._store is None:
            return
        try:
            self._store.write(key, binding, until, at=at, owner=owner)
        except Exception:  # noqa: BLE001 - the binding is served from memory meanwhile
            self._metrics.add_metric("BindingStoreDegraded", "Count", 1)
            logger.warning("binding store unavailable; binding kept in memory only")


def tenancy_version(accounts: list[dict[str, Any]]) -> str:
    """A keyed digest of each account's id, move-in and move-out dates, as Opower lists
    them (both dates optional on Get Utility Account List's page)."""
    tenancy = sorted(
        json.dumps([str(a.get("id")), str(a.get("moveInDate")), str(a.get("moveOutDate"))])
        for a in accounts
    )
    return customer_keys.digest(["tenancy", *tenancy], 16)


def raw_minutes(accounts: list[dict[str, Any]], today: str) -> tuple[tuple[str, int], ...]:
    """The finest raw interval of each usage fuel, from the utility accounts' meterType
    and resolution (both optional on the page: an account without a known meterType adds
    nothing; one without a known resolution counts as a minute, the finest), of
    the accounts still active (the usage pages serve the customer's active utility
    account: one moved out of before ``today``, YYYY-MM-DD, has no say)."""
    finest: dict[str, int] = {}
    for account in accounts:
        moved_out = account.get("moveOutDate")
        if isinstance(moved_out, str) and moved_out[:10] < today:
            continue
        fuel = USAGE_FUEL.get(str(account.get("meterType")))
        resolution = str(account.get("resolution"))
        if fuel is None or resolution in NO_RAW_INTERVALS:
            continue
        minutes = RAW_INTERVAL_MINUTES.get(resolution, UNKNOWN_RESOLUTION_MINUTES)
        finest[fuel] = min(minutes, finest.get(fuel, minutes))
    return tuple(sorted(finest.items()))


def _is_id(value: Any) -> bool:
    """An Opower id as the pages document it: a positive integer (a string of ASCII
    digits is read too), below 2**63; anything else (null, an object, a flag, a sign,
    other scripts' digits) names nobody."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 2**63
    return (
        isinstance(value, str) and _ASCII_ID.fullmatch(value) is not None and 0 < int(value) < 2**63
    )


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def _answer(binding: Binding | str) -> Binding:
    """The binding, or the cached refusal raised again."""
    if isinstance(binding, str):
        raise AccessDeniedError(binding)
    return binding

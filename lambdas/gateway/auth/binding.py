"""Binding a verified session to the customer's own Opower ids.

From the session: the utility's ``utilityCustomerId`` and account number(s). Then
``customers?accountNumber=…`` for each number, keeping only the customers whose
``utilityCustomerId`` equals the verified one, and ``customers/{id}/utility_accounts``
for the utility-account ids the customer may name. The result is cached in the
container and in DynamoDB (item ``bind#<hash>``, TTL); so is a refusal (no customer
matches, or several), for ``negative_ttl_s``: a token whose claims bind to nobody costs
Opower its lookups once, not on every call. The lookups spend the customer's own share
of the Opower budget.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gateway import aws_clients
from gateway.auth.errors import AccessDeniedError, CustomerLimitedError, IdentityUnavailableError
from gateway.auth.session import SessionIdentity
from gateway.clock import Clock
from gateway.errors import CustomerBudgetExceededError, GatewayError
from gateway.observability import MetricsSink, NullMetrics
from gateway.opower_client import OpowerClient

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
_MEMORY_ENTRIES = 1024


@dataclass(frozen=True)
class Binding:
    customer_id: str  # Opower's id
    utility_customer_id: str
    account_ids: tuple[str, ...]  # Opower utility-account ids the customer may name

    def to_json(self) -> str:
        return json.dumps(
            {"c": self.customer_id, "u": self.utility_customer_id, "a": list(self.account_ids)}
        )

    @classmethod
    def from_json(cls, raw: str) -> Binding:
        data = json.loads(raw)
        return cls(str(data["c"]), str(data["u"]), tuple(str(a) for a in data["a"]))


class BindingStore:
    """The DynamoDB tier of the binding cache."""

    def __init__(self, table_name: str, *, dynamodb: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb = dynamodb

    def _ddb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            self._dynamodb = aws_clients.dynamodb()
        return self._dynamodb

    def read(self, key: str, now: float) -> Binding | str | None:
        """The binding, or the reason it was refused, while still valid."""
        item = (
            self._ddb()
            .get_item(TableName=self._table, Key={"pk": {"S": f"bind#{key}"}})
            .get("Item")
        )
        if not item or float(item["until"]["N"]) <= now:
            return None
        if "denied" in item:
            return str(item["denied"]["S"])
        return Binding.from_json(item["binding"]["S"])

    def write(self, key: str, binding: Binding | str, until: float) -> None:
        answer = (
            {"denied": {"S": binding}}
            if isinstance(binding, str)
            else {"binding": {"S": binding.to_json()}}
        )
        self._ddb().put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"bind#{key}"},
                **answer,
                "until": {"N": f"{until:.3f}"},
                "ttl": {"N": str(int(until) + 60)},
            },
        )


class BindingResolver:
    def __init__(
        self,
        client: OpowerClient,
        *,
        utility_code: str,
        store: BindingStore | None,
        clock: Clock,
        ttl_s: float = 900,
        negative_ttl_s: float = 60,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._client = client
        self._prefix = f"/apis/customer-data-v2/{quote(utility_code, safe='')}/customers"
        self._utility_code = utility_code
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._metrics = metrics or NullMetrics()
        self._memory: OrderedDict[str, tuple[float, Binding | str]] = OrderedDict()
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
            return _answer(cached[1])
        stored = self._read_store(key, now)
        if stored is not None:
            self._metrics.add_metric("BindingCacheHitDynamoDb", "Count", 1)
            ttl = self._negative_ttl_s if isinstance(stored, str) else self._ttl_s
            self._remember(key, stored, now + ttl)
            return _answer(stored)
        try:
            binding: Binding | str = self._lookup(identity, deadline, customer_key)
        except AccessDeniedError as refused:
            binding = refused.reason
        self._metrics.add_metric("BindingResolved", "Count", 1)
        until = now + (self._negative_ttl_s if isinstance(binding, str) else self._ttl_s)
        self._remember(key, binding, until)
        self._write_store(key, binding, until)
        return _answer(binding)

    def _lookup(
        self, identity: SessionIdentity, deadline: float, customer_key: str | None
    ) -> Binding:
        matches: set[str] = set()
        for number in identity.account_numbers:
            customers = self._get(
                self._prefix, deadline, customer_key, query=[("accountNumber", number)]
            )
            for customer in customers if isinstance(customers, list) else []:
                if (
                    isinstance(customer, dict)
                    and customer.get("utilityCustomerId") == identity.utility_customer_id
                    and customer.get("id") is not None
                ):
                    matches.add(str(customer["id"]))
        if not matches:
            raise AccessDeniedError("no_matching_customer")
        if len(matches) > 1:
            raise AccessDeniedError("ambiguous_customer")
        (customer_id,) = matches
        accounts = self._get(
            f"{self._prefix}/{quote(customer_id, safe='')}/utility_accounts",
            deadline,
            customer_key,
        )
        account_ids = sorted(
            {str(a["id"]) for a in accounts if isinstance(a, dict) and a.get("id") is not None}
            if isinstance(accounts, list)
            else set()
        )
        return Binding(customer_id, identity.utility_customer_id, tuple(account_ids))

    def _get(
        self,
        path: str,
        deadline: float,
        customer_key: str | None,
        query: list[tuple[str, str]] | None = None,
    ) -> Any:
        try:
            response = self._client.request(
                "GET", path, query=query or (), deadline=deadline, customer_key=customer_key
            )
        except CustomerBudgetExceededError:
            raise CustomerLimitedError("customer_rate_limited") from None
        except GatewayError as exc:
            self._metrics.add_metric("BindingUpstreamFailure", "Count", 1)
            raise IdentityUnavailableError(f"opower_{exc.code}") from None
        if response.status == 404:
            return []
        if response.status != 200:
            self._metrics.add_metric("BindingUpstreamFailure", "Count", 1)
            raise IdentityUnavailableError(f"opower_status_{response.status}")
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError):
            raise IdentityUnavailableError("opower_malformed") from None

    def _key(self, identity: SessionIdentity) -> str:
        # A canonical encoding: no claim value can make two customers' parts one text.
        material = json.dumps(
            [self._utility_code, identity.utility_customer_id, list(identity.account_numbers)],
            separators=(",", ":"),
        )
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    def _remember(self, key: str, binding: Binding | str, until: float) -> None:
        with self._lock:
            self._memory[key] = (until, binding)
            self._memory.move_to_end(key)
            while len(self._memory) > _MEMORY_ENTRIES:
                self._memory.popitem(last=False)

    def _read_store(self, key: str, now: float) -> Binding | str | None:
        if self._store is None:
            return None
        try:
            return self._store.read(key, now)
        except Exception:  # noqa: BLE001 - a cache miss, whatever the cause
            self._metrics.add_metric("BindingStoreDegraded", "Count", 1)
            logger.warning("binding store unavailable; resolving from Opower")
            return None

    def _write_store(self, key: str, binding: Binding | str, until: float) -> None:
        if self._store is None:
            return
        try:
            self._store.write(key, binding, until)
        except Exception:  # noqa: BLE001 - the binding is served from memory meanwhile
            self._metrics.add_metric("BindingStoreDegraded", "Count", 1)
            logger.warning("binding store unavailable; binding kept in memory only")


def _answer(binding: Binding | str) -> Binding:
    """The binding, or the cached refusal raised again."""
    if isinstance(binding, str):
        raise AccessDeniedError(binding)
    return binding

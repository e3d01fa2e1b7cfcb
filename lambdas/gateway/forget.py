"""Forgetting one customer: how a utility answers a privacy deletion request, and releases
a designated customer's place.

The customer is named as the utility knows them (the company and the utility's customer
id); every name the gateway gave them is derived from that under the customer key
(gateway.customer_keys), so whoever runs this needs the key, as the functions do, and no
one else can tell whose items these are. What goes, in the stack's two tables:

* every cached answer and usage day held (the customer's cache partition), and a mark
  at this time in the customer's markers item: an answer asked before it is no answer in
  any container, in memory or stored later by a request already on its way
  (gateway.cache.answers);
* every binding of the customer's sessions (``bind#…``, found through the customer's
  ``bindings#…`` index, which the binding store keeps);
* the customer's daily budget items (``budget#cust#…``, yesterday to tomorrow: they
  expire by TTL the day after);
* with ``release_designated``, their place among the designated customers
  (``designated#<company>#…`` and the count, in one transaction): a container that
  admitted them in the last ``gateway.designated.KNOWN_FOR_S`` (5 minutes) may still
  admit them until then; their next visit, if any, takes a place again.

What stays, and for how long: a warm authorizer's memory of a binding (Opower ids, no
data) until the container ends or ``binding_ttl_s``; API Gateway's cache of an authorizer
decision, ``authorizer_cache_ttl_s``; claims fetched from the identity provider, keyed by
the session token, ``auth_claims_cache_s``; logs, which never hold an id (the leak scan).

Idempotent: forgetting a customer forgotten before, or never seen, removes nothing and
says so. Audited: an item ``forgotten#<keyed name>#<epoch second>`` in the table with the
counts (kept: it names no one without the key), one log line ``customer forgotten``, and
the returned ``Forgotten`` (printed by the command).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway import aws_clients
from gateway.auth_context import customer_hash
from gateway.cache.keys import customer_scope
from gateway.cache.tiers import DynamoDbCacheStore
from gateway.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a customer removed."""

    customer: str  # their keyed name (as in the logs), never an id
    cached_answers: int
    bindings: int
    budget_days: int
    # "released", "not counted" (nothing to release), or "kept" (not asked)
    designated_place: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bindings_index(customer: str) -> str:
    """The item listing the binding keys of a customer's sessions (gateway.auth.binding)."""
    return f"bindings#{customer}"


class Forgetter:
    """Forgets customers in the stack's tables (``table_name``: bindings, budgets, the
    designated count; ``cache_table_name``: the response cache)."""

    def __init__(
        self,
        *,
        table_name: str,
        cache_table_name: str,
        clock: Clock,
        marker_keep_s: float,
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        self._table = table_name
        self._cache = DynamoDbCacheStore(cache_table_name, dynamodb=dynamodb)
        self._clock = clock
        self._marker_keep_s = marker_keep_s
        self._dynamodb = dynamodb

    def _ddb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            self._dynamodb = aws_clients.dynamodb()
        return self._dynamodb

    def forget(
        self, utility_code: str, utility_customer_id: str, *, release_designated: bool = False
    ) -> Forgotten:
        if not utility_code or not utility_customer_id:
            raise ValueError("name the customer: their company and utility customer id")
        now = self._clock.now()
        customer = customer_hash(utility_code, utility_customer_id)
        cached = self._cache.delete_routes(
            customer_scope(utility_code, utility_customer_id),
            None,
            at=now,
            keep_s=self._marker_keep_s,
        )
        forgotten = Forgotten(
            customer=customer,
            cached_answers=cached,
            bindings=self._forget_bindings(customer),
            budget_days=self._forget_budgets(customer, now),
            designated_place=(
                self._release(utility_code, customer) if release_designated else "kept"
            ),
        )
        # The audit's record: when, and what went (a keyed name and counts, no id).
        self._ddb().put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"forgotten#{customer}#{now:.0f}"},
                "at": {"N": f"{now:.3f}"},
                "record": {"S": json.dumps(forgotten.to_json(), sort_keys=True)},
            },
        )
        logger.info("customer forgotten", extra=forgotten.to_json())
        return forgotten

    def _forget_bindings(self, customer: str) -> int:
        index = {"pk": {"S": bindings_index(customer)}}
        item = (
            self._ddb().get_item(TableName=self._table, Key=index, ConsistentRead=True).get("Item")
        )
        keys = sorted(item.get("keys", {}).get("SS", [])) if item else []
        for key in keys:
            self._ddb().delete_item(TableName=self._table, Key={"pk": {"S": f"bind#{key}"}})
        self._ddb().delete_item(TableName=self._table, Key=index)
        return len(keys)

    def _forget_budgets(self, customer: str, now: float) -> int:
        removed = 0
        today = datetime.fromtimestamp(now, UTC)
        for offset in (-1, 0, 1):
            day = (today + timedelta(days=offset)).strftime("%Y%m%d")
            answer = self._ddb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget#cust#{customer}#{day}"}},
                ReturnValues="ALL_OLD",
            )
            removed += "Attributes" in answer
        return removed

    def _release(self, utility_code: str, customer: str) -> str:
        """The customer's place and one of the count, together, only if they hold one."""
        ddb = self._ddb()
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": f"designated#{utility_code}#{customer}"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": f"designated#{utility_code}"}},
                            "UpdateExpression": "ADD n :minus",
                            "ConditionExpression": "n > :zero",
                            "ExpressionAttributeValues": {
                                ":minus": {"N": "-1"},
                                ":zero": {"N": "0"},
                            },
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException:
            return "not counted"
        return "released"

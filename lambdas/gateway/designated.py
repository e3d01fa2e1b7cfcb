"""The designated-customer cap: how many distinct customers a company's data is shown to.

Oracle's Limitations page: "The number of designated customers to whom your utility can
expose data is limited" by the utility's agreement. With ``designated_customers_max``
set (per company; 0: no cap), the gateway counts the distinct customers it has served,
fleet-wide and exactly, by their keyed name (gateway.auth_context.customer_hash: one
customer, whatever their sessions, tokens or channels, the service API included). A
customer already counted always continues; a new one past the cap is refused with 403
``not_designated``, and nothing of theirs reaches Opower beyond the binding lookup that
said who they are (a claim naming nobody is never counted).

Where it is counted, in the table of the binding and the budgets:

* ``designated#<company>``: the count ``n``;
* ``designated#<company>#<customer>``: one item per customer counted, kept for good.

Admitting a new customer is one DynamoDB transaction of two conditional writes, never a
read-then-write: the customer's item, written only if it does not exist, and the count,
raised only while it is below the cap (``n < :cap``). Both happen or neither ("Amazon
DynamoDB Transactions: How it works": all-or-nothing, serializable with other writes), so
ten first visits racing for the last two places give exactly two, and one customer
racing from ten containers takes one place. The transaction's cancellation reasons say
which condition failed: the customer's (already counted: admitted) or the count's (the
cap is reached: refused). A ``TransactionConflict`` (another container's transaction on
the count at the same moment) is tried again, a few times, with jitter. Customers
counted are remembered in the container, so a known customer costs nothing after their
first request here; the first asks DynamoDB once (a consistent read).

The optional designated-customer list is the utility's own: with ``designated_claim``
set, only sessions whose claim is ``true`` are served (and counted); the list lives at
the identity provider, where the utility enrols customers in the programme.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from typing import Literal

from gateway import aws_clients
from gateway.errors import GatewayError
from gateway.observability import MetricsSink, NullMetrics

logger = logging.getLogger(__name__)

_MEMORY_ENTRIES = 100_000
# A counted customer is admitted from memory for this long, then read again (one
# consistent read): a customer released by an operator stops being admitted within it.
KNOWN_FOR_S = 300.0
_ATTEMPTS = 6
Enrolment = Literal["added", "counted", "full", "conflict"]
# What a customer refused sees: a portal can show it as it is.
NOT_DESIGNATED_MESSAGE = (
    "Your utility can show energy data online to a limited number of customers, and that "
    "number has been reached. Contact your utility to be added."
)


class DesignatedStoreUnavailable(GatewayError):
    """The count could not be read or changed: a new customer cannot be admitted now."""

    code = "designated_store_unavailable"


class DesignatedStore(aws_clients.DynamoDbTable):
    def counted(self, company: str, customer: str) -> bool:
        item = (
            self._ddb()
            .get_item(
                TableName=self._table,
                Key={"pk": {"S": f"designated#{company}#{customer}"}},
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
            .get("Item")
        )
        return item is not None

    def enrol(self, company: str, customer: str, cap: int, at: float) -> Enrolment:
        """Counts the customer if there is room: ``added``; ``counted`` when they were
        already; ``full`` when the cap is reached; ``conflict`` to try again."""
        ddb = self._ddb()
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": f"designated#{company}#{customer}"},
                                "at": {"N": f"{at:.0f}"},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": f"designated#{company}"}},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :cap",
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":cap": {"N": str(cap)},
                            },
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException as cancelled:
            reasons = [
                str(r.get("Code") or "None")
                for r in cancelled.response.get("CancellationReasons", [])
            ]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return "counted"
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return "full"
            return "conflict"
        except ddb.exceptions.TransactionConflictException:
            return "conflict"
        return "added"

    def count(self, company: str) -> int:
        item = (
            self._ddb()
            .get_item(
                TableName=self._table,
                Key={"pk": {"S": f"designated#{company}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return int(item["n"]["N"]) if item and "n" in item else 0


class DesignatedCustomers:
    """One company's cap: ``admit(customer)`` says whether the customer may be served."""

    def __init__(
        self,
        store: DesignatedStore,
        *,
        utility_code: str,
        cap: int,
        metrics: MetricsSink | None = None,
    ) -> None:
        if cap <= 0:
            raise ValueError("a cap of at least one customer")
        self._store = store
        self._company = utility_code
        self._cap = cap
        self._metrics = metrics or NullMetrics()
        self._known: OrderedDict[str, float] = OrderedDict()  # customer -> known until
        self._lock = threading.Lock()

    @property
    def cap(self) -> int:
        return self._cap

    def admit(self, customer: str, *, at: float) -> bool:
        with self._lock:
            if self._known.get(customer, 0.0) > at:
                self._known.move_to_end(customer)
                return True
        try:
            admitted = self._admit(customer, at)
        except Exception as failed:  # noqa: BLE001 - any store failure: not now, not no
            self._metrics.add_metric("DesignatedStoreDegraded", "Count", 1)
            logger.warning(
                "designated-customer count unavailable", extra={"error": type(failed).__name__}
            )
            raise DesignatedStoreUnavailable(
                "the designated-customer count is unavailable"
            ) from None
        if admitted:
            self._remember(customer, at + KNOWN_FOR_S)
        return admitted

    def _admit(self, customer: str, at: float) -> bool:
        if self._store.counted(self._company, customer):
            return True
        for attempt in range(_ATTEMPTS):
            outcome = self._store.enrol(self._company, customer, self._cap, at)
            if outcome == "counted":
                return True
            if outcome == "added":
                self._metrics.add_metric("DesignatedAdded", "Count", 1)
                self._metrics.add_metric(
                    "DesignatedCustomers", "Count", self._store.count(self._company)
                )
                return True
            if outcome == "full":
                self._metrics.add_metric("DesignatedRefused", "Count", 1)
                self._metrics.add_metric("DesignatedCustomers", "Count", self._cap)
                logger.info("customer not designated: the cap is reached", extra={"cap": self._cap})
                return False
            self._metrics.add_metric("DesignatedConflict", "Count", 1)
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter only
        raise RuntimeError("designated-customer count: conflicts on every attempt")

    def _remember(self, customer: str, until: float) -> None:
        with self._lock:
            self._known[customer] = until
            self._known.move_to_end(customer)
            while len(self._known) > _MEMORY_ENTRIES:
                self._known.popitem(last=False)

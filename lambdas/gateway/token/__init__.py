"""The Opower token: one token per lifetime for the whole fleet, in every fault.

Owns the broker (``broker``: the moves of a container that needs a token), what the fleet
knows (``fleet``: the shared item and lease, degrading to memory), the lease holder's
token requests (``fetch``), the request to Opower's token endpoint (``endpoint``), the
shared DynamoDB tier (``store``) and the value types (``values``: settings, a usable
token). ``docs/token-broker.md`` draws the broker as a state machine.

May import only the gateway's ground floor: ``aws_clients``, ``clock``, ``credentials``,
``errors``, ``http``, ``observability``. Never ``opower_client`` (its user), the budgets,
the cache, ``auth``, ``proxy``, ``service`` or ``wiring``.
"""

"""The Opower budgets: the utility's whole budget (``utility``: 20 calls a second and
100,000 a day per company and pool, shared by the fleet in DynamoDB) and each customer's
share of it (``customer``: per minute, per day).

The Opower client spends them through its ``Permits`` and ``CustomerPermits`` protocols;
``wiring`` builds them.

May import only the gateway's ground floor: ``aws_clients``, ``clock``, ``errors``,
``observability``. Never the token, the cache, ``opower_client``, ``auth``, ``proxy``,
``service`` or ``wiring``.
"""

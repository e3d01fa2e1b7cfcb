"""The per-customer response cache: Opower's answers kept under the customer's scope.

Owns the keys (``keys``: the customer's scope and the request's hash), the two tiers
(``tiers``: memory LRU and the shared DynamoDB table), single flight (``flight``), the
cache itself with its lookups, invalidation, metrics names and ``Cache-Status``
(``answers``), and the pure logic of settled usage days (``days``: what to ask of a
window, and the window's answer assembled from the days held). The proxy's use of them
(what to cache, usage assembly) is the proxy's (``gateway.proxy``); the authorizer's
binding seeds the accounts answer through ``keys`` and ``answers``.

May import only the gateway's ground floor: ``aws_clients``, ``clock``,
``customer_keys``, ``errors``, ``observability``. Never the token, the budgets,
``opower_client``, ``routes``, ``auth``, ``proxy``, ``service`` or ``wiring``.
"""

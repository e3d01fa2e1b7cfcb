"""Schemathesis hooks for `make test`'s run against the local stack (SCHEMATHESIS_HOOKS).

Three kinds of failure are accepted, each narrowly, because the document cannot say more
than it does; everything else schemathesis finds fails the run.

1. Rules the document states in words because JSON Schema cannot express them: dates
   relative to today (Opower's served windows), one parameter against another (`start`
   before `end`), window lengths and offsets. A schema-valid request that breaks one of
   them is refused with a 400 naming the rule, which schemathesis reports as "schema-valid
   request rejected" (ST202). Only those 400s, recognized by their messages, are accepted.
2. Opower's own refusal of a schema-valid request on an operation whose page gives rules
   beyond JSON Schema (a locale the utility offers, a bill's own dates, a channel's
   address on the contact): 400 `rejected` with the message naming those rules, the
   route table's ``upstream_meanings`` (and only those messages).
3. Methods API Gateway has no method for. A REST API's methods are DELETE, GET, HEAD,
   OPTIONS, PATCH, POST, PUT or ANY (API Gateway `PutMethod`, `httpMethod`;
   `AWS::ApiGateway::Method` `HttpMethod`), so another method (TRACE, QUERY...) never
   reaches a resource, nor our catch-all 405s: API Gateway answers it as it answers a
   path it has no route for, which the stack turns into the 404 envelope. Schemathesis
   expects 405 (ST204); only a 404 `not_found` envelope to those methods is accepted.
   Every method API Gateway does route answers 405 with `Allow`, and that is checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

from gateway.routes import ROUTES

# The 400 messages of gateway.proxy.validation for rules beyond JSON Schema.
RULES_IN_WORDS = re.compile(
    r"'[A-Za-z]+' must be between \d{4}-\d\d-\d\d and \d{4}-\d\d-\d\d$"  # asOf window
    r"|^'start' must be before 'end'$"
    r"|^(raw|day|billing) usage is served from .*: '(start' is too early|end' is too late)$"
    r"|^(raw|daily|billing) usage is limited to "  # per-request caps
    r"|must have an offset in whole quarter hours$"
    r"|^'billStartDate' must be before 'billEndDate'$"
    r"|^neighbor comparisons cover the last 12 months: "
)
# The methods API Gateway has (ANY aside): schemathesis also tries TRACE and QUERY.
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


def _error(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


# Opower's 400s on operations whose pages give rules the document cannot state as
# JSON Schema (a locale the utility offers, a bill's own dates, a channel's address on
# the contact): the gateway names those rules (gateway.routes upstream_meanings), and only
# those messages are accepted.
OPOWER_RULES = frozenset(
    meaning.message
    for route in ROUTES
    for op in route.operations
    for status, meaning in op.upstream_meanings.items()
    if status == 400 and meaning.status == 400
)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but the kinds accepted above."""
    error = _error(response)
    if failure.code == "ST202" and response.status_code == 400:
        message = str(error.get("message", ""))
        if error.get("code") == "rejected":
            return message not in OPOWER_RULES
        return not (error.get("code") == "bad_request" and RULES_IN_WORDS.search(message))
    if failure.code == "ST204" and response.request.method not in API_GATEWAY_METHODS:
        return not (response.status_code == 404 and error.get("code") == "not_found")
    return True

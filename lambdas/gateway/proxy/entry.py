"""From an API Gateway proxy event (REST API, v1 payload) to its response.

The binding comes only from the authorizer's context; the path, query and body are
checked against the route table; the fleet budget is consulted; then Opower is called
through the broker-backed client. Errors are mapped to HTTP here, and only here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway import observability as m
from gateway import opower_answers
from gateway.api_responses import RequestError
from gateway.auth_context import BindingContextError, BindingView, binding_from_context
from gateway.cache.answers import (
    CACHE_COLLAPSED,
    CACHE_HIT_MEMORY,
    CACHE_HIT_SHARED,
    Lookup,
    ResponseCache,
    cache_status,
    outcome_metric,
)
from gateway.cache.keys import CacheKey, cache_key, customer_scope, generation
from gateway.cache.tiers import Entry
from gateway.clock import Clock
from gateway.errors import (
    BudgetExceededError,
    ConfigurationError,
    CredentialsNotSetError,
    CredentialsUnavailableError,
    CustomerBudgetExceededError,
    GatewayError,
    TokenUnavailableError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTooLargeError,
)
from gateway.observability import MetricsSink
from gateway.opower_client import OpowerClient, UpstreamResponse, parse_retry_after
from gateway.proxy import latest, settled
from gateway.proxy.assembly import UsageAssembly
from gateway.proxy.responses import cors_headers, error, response
from gateway.proxy.validation import NOT_FOUND, Upstream, build_upstream, match
from gateway.routes import (
    ROUTES_BY_NAME,
    Operation,
    Route,
    is_service_path,
)
from gateway.settings import RuntimeSettings

if TYPE_CHECKING:
    # The service API's module is loaded by its first call (gateway.service): a customer
    # request never needs it, and a cold start of the customer API does not pay for it.
    from gateway.service import ServiceApi

logger = logging.getLogger(__name__)

_DEADLINE_MARGIN_S = 0.5
_PASSED_ON = {400: "rejected", 403: "forbidden", 404: "not_found", 409: "conflict",
              422: "rejected"}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """How the customer is told about a domain error: status, code, message, and the
    seconds to wait before a retry (``Retry-After``), if any."""

    status: int
    code: str
    message: str
    retry_after_s: Callable[[Any], float | None] = lambda exc: None


_UNAVAILABLE = "Opower is unavailable; retry later"

# Domain errors to HTTP, looked up along the exception's class hierarchy (most specific
# first), as Powertools' event handler does: one place, no isinstance ladder.
FAILURES: Mapping[type[GatewayError], Failure] = {
    BudgetExceededError: Failure(
        429,
        "too_many_requests",
        "The utility's Opower budget is used up for now; retry later",
        lambda exc: exc.retry_after_s,
    ),
    CustomerBudgetExceededError: Failure(
        429,
        "customer_rate_limited",
        "This customer has made too many requests for now; retry after the time in Retry-After",
        lambda exc: exc.retry_after_s,
    ),
    TokenUnavailableError: Failure(
        503, "upstream_unavailable", _UNAVAILABLE, lambda exc: exc.retry_after_s or 1
    ),
    CredentialsUnavailableError: Failure(503, "upstream_unavailable", _UNAVAILABLE, lambda _: 5),
    # A new stack before its secret is filled (make fill-secret): the operator must act,
    # the client may retry.
    CredentialsNotSetError: Failure(
        503,
        "credentials_unavailable",
        "The gateway has no Opower credentials yet; retry later",
        lambda _: 60,
    ),
    ConfigurationError: Failure(500, "configuration_error", "The gateway is misconfigured"),
    UpstreamTimeoutError: Failure(504, "upstream_timeout", "Opower did not answer in time"),
    UpstreamTooLargeError: Failure(
        502, "upstream_too_large", "Opower's answer is too large to return"
    ),
    UpstreamAuthError: Failure(502, "upstream_unauthorized", "Opower refused the gateway"),
    UpstreamError: Failure(502, "upstream_error", "Opower failed to answer"),
    GatewayError: Failure(502, "upstream_error", "Opower failed to answer"),
}


# Why a stale answer was served instead of the failure (Cache-Status detail): Opower could
# not answer, or the budget would not let the gateway ask.
STALE_REASONS: Mapping[type[GatewayError], str | None] = {
    BudgetExceededError: "budget-spent",
    CustomerBudgetExceededError: "customer-limited",
    TokenUnavailableError: "token-unavailable",
    CredentialsUnavailableError: "credentials-unavailable",
    UpstreamTimeoutError: "upstream-timeout",
    # Opower refusing even a fresh token is a refusal, not a failure: no stale answer
    # stands in for it (the entry is removed), whatever it was before.
    UpstreamAuthError: None,
    UpstreamError: "upstream-error",
}
# Exceptions raised before anything was sent to Opower (the answer is a cache "hit").
_NOT_SENT = (BudgetExceededError, CustomerBudgetExceededError, TokenUnavailableError,
             CredentialsUnavailableError)  # fmt: skip
# Opower's answers that a stale entry may stand in for: failures, never refusals (a 403,
# like a 404, removes the entry: access that ended ends for the cached answer too).
_STALE_FOR_STATUS = {429: "upstream-throttled", 500: "upstream-error", 502: "upstream-error",
                     503: "upstream-error", 504: "upstream-timeout"}  # fmt: skip


# What a refusal of a route reaches beyond the route's own answers: the usage days held
# for assembling usage are the usage route's answers too.
REFUSAL_REACHES: Mapping[str, tuple[str, ...]] = {"usage": ("usage", "usage_days")}


def _stale_reason(exc: GatewayError) -> str | None:
    for cls in type(exc).__mro__:
        if cls in STALE_REASONS:
            return STALE_REASONS[cls]
    return None


def _refusal(status: int, body: bytes) -> str:
    """The customer's message for a request Opower refused, where the operation's page
    gives the status no meaning of its own (``upstream_meanings``). Opower's own words are
    not passed on (what Opower puts in an error is not the gateway's to vouch for); its
    error code is logged. A 404 reads the same whether the resource does not exist or is
    not the customer's."""
    if status == 404:
        return NOT_FOUND
    if status == 403:
        return "Opower refuses access to this resource"
    logger.info("opower refused the request", extra={"opower_status": status,
                "opower_error_code": opower_answers.error_code(body)})  # fmt: skip
    return "Opower rejected the request"


def failure_for(exc: GatewayError) -> Failure:
    for cls in type(exc).__mro__:
        found = FAILURES.get(cls)
        if found is not None:
            return found
    return FAILURES[GatewayError]


@dataclass(frozen=True)
class Forward:
    """One validated request on its way to Opower: the company's client, the upstream
    request, the customer (their budget key and cache scope) and the deadline."""

    client: OpowerClient
    upstream: Upstream
    request_id: str
    deadline: float
    customer_key: str
    scope: str
    # The budget pool the call spends ("customer" or "service"): identical requests share
    # one Opower call only within a pool, so that one pool's refusal is never another's.
    pool: str = "customer"
    utility_code: str = ""
    # The customer's binding generation (gateway.cache.keys.generation): part of every
    # cache key, so that answers given for another binding are never served.
    generation: str = ""


class Proxy:
    def __init__(
        self,
        *,
        clients: Mapping[str, OpowerClient],
        settings: RuntimeSettings,
        clock: Clock,
        metrics: MetricsSink,
        cache: ResponseCache | None = None,
        service: ServiceApi | None = None,
    ) -> None:
        self._clients = clients
        self._service = service
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._cache = cache if settings.cache_enabled else None
        self._invalidator = cache
        self._assembly = (
            UsageAssembly(
                self._cache,
                settled_after_s=settings.cache_settled_after_s,
                settled_fresh_s=settings.cache_settled_fresh_s,
                max_days=settings.cache_usage_days,
                max_entry_bytes=settings.cache_max_entry_bytes,
                now=clock.now,
            )
            if self._cache is not None
            and settings.cache_assemble_usage
            and settings.cache_settled_fresh_s > 0
            else None
        )

    def handle(self, event: Mapping[str, Any], *, remaining_ms: int) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        request_id = str(context.get("requestId") or uuid.uuid4())
        headers = _lower(event.get("headers"))
        cors = cors_headers(headers.get("origin"), self._settings.cors_allow_origins)
        method = str(event.get("httpMethod", ""))
        started = self._clock.now()
        deadline = started + remaining_ms / 1000 - _DEADLINE_MARGIN_S
        route_name = "unmatched"
        service_call = is_service_path(str(event.get("resource") or ""))
        if service_call:
            from gateway import service

            record = service.ServiceRecord()
        try:
            route, operation, path_params = match(
                event.get("resource"), event.get("pathParameters"), method
            )
            route_name = route.name
            if service_call:
                # The utility's own workload, authorized by IAM: it names the customer,
                # who is bound as a session would be (gateway.service).
                binding, utility_code, client = self._service_api().admit(
                    event, deadline=deadline, record=record
                )
            else:
                binding = binding_from_context(
                    context.get("authorizer"),
                    now=self._clock.now(),
                    decision_ttl_s=self._settings.authorizer_cache_ttl_s,
                )
                utility_code, client = self._company(binding.utility_code)
            query = event.get("multiValueQueryStringParameters")
            upstream = build_upstream(
                route,
                operation,
                path_params,
                # a service call's query names the customer too: not the route's
                service.route_query(query) if service_call else query,
                _body(event),
                headers.get("content-type"),
                binding=binding,
                utility_code=utility_code,
                now=datetime.now(UTC),
            )
            call = Forward(
                client=client,
                upstream=upstream,
                request_id=request_id,
                deadline=deadline,
                customer_key=binding.customer_key,
                scope=customer_scope(utility_code, binding.utility_customer_id),
                pool="service" if service_call else "customer",
                utility_code=utility_code,
                generation=generation(
                    binding.customer_id, binding.account_ids, binding.accounts_version
                ),
            )
            failed = self._check_owned(call, path_params, binding, utility_code)
            if failed is None and operation.completes_from:
                call, failed = self._completed(call, path_params, binding, utility_code)
            if failed is None:
                call, failed = self._as_numbers(call, binding, utility_code)
            answer = failed if failed is not None else self._respond(call)
        except RequestError as exc:
            answer = error(
                exc.status, exc.code, exc.message, request_id=request_id, headers=exc.headers
            )
        except BindingContextError as exc:
            answer = error(
                exc.status,
                exc.code,
                exc.message,
                request_id=request_id,
                headers=(
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'}
                    if exc.status == 401
                    else exc.headers
                ),
            )
        except GatewayError as exc:
            answer = self._failure(exc, request_id)
        answer["headers"].update(cors)
        self._record(
            route_name, method, answer["statusCode"], started, answer["headers"].get("Cache-Status")
        )
        if service_call:
            service.audit(
                record,
                route=route_name,
                method=method,
                status=answer["statusCode"],
                outcome=_outcome(answer),
                metrics=self._metrics,
            )
        return answer

    def _service_api(self) -> ServiceApi:
        if self._service is None:
            raise RequestError(
                403,
                "service_api_disabled",
                "The service API is not enabled on this gateway (service_principals or "
                "grant_invoke turn it on)",
            )
        return self._service

    def _company(self, utility_code: str) -> tuple[str, OpowerClient]:
        """The company the binding names (the only one, for a decision that names none).
        A binding of a company this gateway does not serve is no session at all."""
        if not utility_code and len(self._clients) == 1:
            utility_code = next(iter(self._clients))
        client = self._clients.get(utility_code)
        if client is None:
            raise BindingContextError("unauthenticated", "A session token is required")
        return utility_code, client

    def _check_owned(
        self,
        call: Forward,
        path_params: Mapping[str, str],
        binding: BindingView,
        utility_code: str,
    ) -> dict[str, Any] | None:
        """Each ``owned`` id of the path (a contact, a preference, a tip) must be in the
        customer's own list from Opower, asked as the customer's GET of that list would be
        (through the response cache: a list seen is not asked again while fresh). An id
        not listed is the same 404 as one that does not exist, and Opower is not asked for
        it. None when every id is the customer's; else the answer to give: the 404, or the
        list's own failure (Opower unavailable, the budget spent)."""
        route = call.upstream.route
        for name, param in route.path_params.items():
            if param.kind != "owned":
                continue
            upstream = self._listing(
                ROUTES_BY_NAME[param.owner], path_params, binding, utility_code
            )
            listed = self._respond(dataclasses.replace(call, upstream=upstream))
            if listed["statusCode"] not in {200, 404}:
                return listed
            if listed["statusCode"] == 404 or call.upstream.path_values[name] not in (
                opower_answers.listed_ids(listed["body"] or "", param.owner_field)
            ):
                self._metrics.add_metric("OwnedIdRefused", "Count", 1)
                raise RequestError(404, "not_found", NOT_FOUND)
        return None

    def _listing(
        self,
        owner: Route,
        path_params: Mapping[str, str],
        binding: BindingView,
        utility_code: str,
    ) -> Upstream:
        """The customer's GET of a list route (the owner of an id in the path)."""
        listing = owner.operation("GET")
        assert listing is not None, owner.name
        return build_upstream(
            owner,
            listing,
            {k: v for k, v in path_params.items() if k in owner.path_params},
            None,
            None,
            None,
            binding=binding,
            utility_code=utility_code,
            now=datetime.now(UTC),
        )

    def _completed(
        self,
        call: Forward,
        path_params: Mapping[str, str],
        binding: BindingView,
        utility_code: str,
    ) -> tuple[Forward, dict[str, Any] | None]:
        """A PUT whose body is the item as its list shows it now (asked of Opower, not
        the cache: another channel may have changed it), with the customer's fields over
        it; or the list's own failure, and nothing is written."""
        upstream = call.upstream
        owner = ROUTES_BY_NAME[upstream.operation.completes_from]
        listed = self._send(dataclasses.replace(
            call, upstream=self._listing(owner, path_params, binding, utility_code)))  # fmt: skip
        get = owner.operation("GET")
        assert get is not None, owner.name
        answer = self._answer(listed, call.request_id, get)
        if answer["statusCode"] != 200:
            return call, answer
        name, param = next(
            (n, p) for n, p in upstream.route.path_params.items()
            if p.kind == "owned" and p.owner == owner.name
        )  # fmt: skip
        listed_items = opower_answers.items(json.loads(answer["body"] or "null"))
        wanted = upstream.path_values[name]
        item = next((i for i in listed_items if str(i.get(param.owner_field)) == wanted), None)
        if item is None:
            raise RequestError(404, "not_found", NOT_FOUND)
        body = upstream.operation.body
        assert body is not None
        assert upstream.body is not None
        current = {field: item[field] for field in body.fields if field in item}
        sent = json.loads(upstream.body)
        completed = json.dumps({**current, **sent}, separators=(",", ":")).encode()
        self._metrics.add_metric("WriteCompleted", "Count", 1)
        return dataclasses.replace(
            call, upstream=dataclasses.replace(upstream, body=completed)
        ), None

    def _as_numbers(
        self, call: Forward, binding: BindingView, utility_code: str
    ) -> tuple[Forward, dict[str, Any] | None]:
        """An account the operation's page names by the utility's account number (the
        disaggregation pages' utilityAccountId, "Utility customer account ID"): the bound
        account's number, as the customer's accounts answer (Get Utility Account List,
        through the cache) gives it; with disaggregation_account_id opower_id, Opower's id
        unchanged. The call as it goes, or the accounts answer's own failure."""
        upstream = call.upstream
        names = {p.upstream or n for n, p in upstream.operation.query.items() if p.as_number}
        if self._settings.disaggregation_account_id != "number" or not any(
            name in names for name, _ in upstream.query
        ):
            return call, None
        accounts = self._listing(ROUTES_BY_NAME["accounts"], {}, binding, utility_code)
        listed = self._respond(dataclasses.replace(call, upstream=accounts))
        if listed["statusCode"] != 200:
            return call, listed
        numbers = {
            str(a.get("id")): a.get("utilityAccountId")
            for a in opower_answers.items(json.loads(listed["body"] or "null"))
        }
        query = []
        for name, value in upstream.query:
            if name in names:
                number = numbers.get(value)
                if (
                    isinstance(number, bool)
                    or not isinstance(number, (str, int))
                    or not str(number)
                ):
                    raise RequestError(404, "not_found", NOT_FOUND)  # no number to name it by
                value = str(number)
            query.append((name, value))
        return dataclasses.replace(
            call, upstream=dataclasses.replace(upstream, query=tuple(query))
        ), None

    def _respond(self, call: Forward) -> dict[str, Any]:
        operation = call.upstream.operation
        if operation.method == "GET" and self._cache is not None:
            route = call.upstream.route
            fresh_s = self._settings.cache_lifetime(route.cache_name(call.upstream.path_values))
            if fresh_s > 0:
                return self._cached(call, fresh_s)
            answer = self._answer(self._send(call), call.request_id, operation)
            answer["headers"]["Cache-Status"] = cache_status(hit=False, forward="bypass")
            return answer
        try:
            result = self._send(call)
        finally:
            # Whatever the outcome, the write may have reached Opower: the customer's
            # answers it can change go, before anything is answered (also while caching
            # is turned off: the table's answers must not outlive the write once it is on).
            if operation.invalidates and self._invalidator is not None:
                self._invalidate(call.scope, operation.invalidates)
        answer = self._answer(result, call.request_id, operation)
        if operation.method == "DELETE" and answer["statusCode"] == 404 and result.attempts > 1:
            # A retried DELETE finding nothing: an earlier attempt did the deleting.
            return response(204, None, request_id=call.request_id)
        return answer

    @staticmethod
    def _send(call: Forward) -> UpstreamResponse:
        upstream = call.upstream
        headers = {"X-Request-Id": call.request_id}
        if upstream.body is not None:
            headers["Content-Type"] = "application/json"
        return call.client.request(
            upstream.operation.method,
            upstream.path,
            query=upstream.query,
            body=upstream.body,
            headers=headers,
            deadline=call.deadline,
            customer_key=call.customer_key,
            route=upstream.route.name,
            priority=upstream.route.priority_of(upstream.operation.method),
        )

    # -- the per-customer response cache -------------------------------------------------
    def _cached(self, call: Forward, fresh_s: int) -> dict[str, Any]:
        assert self._cache is not None
        cache, upstream, request_id = self._cache, call.upstream, call.request_id
        route = upstream.route.name
        key = cache_key(
            call.scope, route, upstream.path, self._cache_query(upstream),
            generation=call.generation,
        )  # fmt: skip
        found = cache.lookup(key)
        now = self._clock.now()
        if found.fresh and found.entry is not None:
            self._count(route, "Hit")
            self._metrics.add_metric(
                CACHE_HIT_MEMORY if found.tier == "memory" else CACHE_HIT_SHARED, "Count", 1
            )
            return self._from_cache(found.entry, request_id, cache_status(
                hit=True, ttl_s=found.entry.fresh_until - now))  # fmt: skip
        if self._assembly is not None and self._assembly.applies(upstream):
            assembled = self._assembled(call, key, fresh_s)
            if assembled is not None:
                return assembled
        forward = "stale" if found.entry is not None else "miss"
        asked_at = self._clock.now()
        try:
            result, collapsed = cache.flights.run(
                (call.pool, key), lambda: self._send(call), deadline=call.deadline
            )
        except GatewayError as exc:
            reason = _stale_reason(exc)
            if isinstance(exc, UpstreamAuthError):
                # Refused even with a fresh token: what was cached is not served again.
                self._refused(call.scope, route)
            if reason is not None and found.entry is not None:
                sent = not isinstance(exc, _NOT_SENT)
                return self._stale(
                    found, request_id, reason, route=route, forward="stale" if sent else ""
                )
            self._count(route, "Miss")
            raise
        if collapsed:
            self._metrics.add_metric(CACHE_COLLAPSED, "Count", 1)
        stale_for = _STALE_FOR_STATUS.get(result.status)
        if stale_for is not None and found.entry is not None:
            return self._stale(found, request_id, stale_for, route=route, forward="stale",
                               status=result.status)  # fmt: skip
        answer = self._answer(result, request_id, upstream.operation)
        stored = False
        if answer["statusCode"] == 200 and answer["body"]:
            if not collapsed:
                keep_s = self._kept_for(call, answer["body"], fresh_s, asked_at)
                stored = cache.store(key, answer["body"], fresh_s=keep_s, asked_at=asked_at)
                if self._assembly is not None and self._assembly.applies(upstream):
                    self._assembly.keep(call, answer["body"], asked_at=asked_at)
            answer["headers"]["Age"] = "0"  # just given by Opower
        elif result.status == 403:
            self._refused(call.scope, route)
        elif result.status == 404 or (200 <= result.status < 300 and not answer["body"]):
            # Opower says there is nothing (any more): no older answer may stand in later.
            cache.forget(key)
        self._count(route, "Miss")
        answer["headers"]["Cache-Status"] = cache_status(
            hit=False,
            forward=forward,
            forward_status=result.status,
            stored=stored,
            collapsed=collapsed,
        )
        return answer

    def _assembled(self, call: Forward, key: CacheKey, fresh_s: int) -> dict[str, Any] | None:
        """A usage window answered from the customer's settled days and a call for the
        rest (``fwd=partial``) or none (``hit``), with ``detail="assembled"``; None to
        ask the whole window."""
        assert self._assembly is not None
        assert self._cache is not None
        try:
            assembled = self._assembly.answer(call, self._send)
        except GatewayError:
            return None  # the rest could not be asked: the whole window decides
        if assembled is None:
            return None
        route = call.upstream.route.name
        keep_s = self._kept_for(call, assembled.body, fresh_s, assembled.given_at)
        stored = self._cache.store(key, assembled.body, fresh_s=keep_s,
                                   asked_at=assembled.given_at)  # fmt: skip
        called = assembled.forward_status is not None
        self._count(route, "Miss" if called else "Hit")
        self._metrics.add_metric("UsageAssembled", "Count", 1)
        return response(
            200,
            assembled.body,
            request_id=call.request_id,
            headers={
                "Age": str(max(0, math.floor(self._clock.now() - assembled.given_at))),
                "Cache-Status": cache_status(
                    hit=not called,
                    forward="partial" if called else "",
                    forward_status=assembled.forward_status,
                    ttl_s=None if called else assembled.given_at + keep_s - self._clock.now(),
                    stored=stored,
                    detail="assembled",
                ),
            },
        )

    def _kept_for(self, call: Forward, body: str, fresh_s: int, asked_at: float) -> float:
        """Seconds to keep an answer just given by Opower: by what it is (a settled past,
        an account's latest until its period is due), else its route's lifetime."""
        s, upstream = self._settings, call.upstream
        if latest.applies(upstream, enabled=s.cache_until_period_end):
            timing = {
                "now": asked_at,
                "margin_s": s.cache_bill_margin_s,
                "new_bill_s": min(fresh_s, s.cache_new_bill_s),
                "bound_s": max(fresh_s, s.cache_settled_fresh_s),
            }
            if upstream.route.name == "bill_period":
                return latest.kept_for_period(latest.period_of(body), fresh_s=fresh_s, **timing)
            if upstream.route.name == "neighbor_comparison":
                # An optional screen: while a new period's comparison is due, its route's
                # lifetime (12 h), not the bill's hour.
                following = latest.neighbor_next_period(body)
                timing["new_bill_s"] = fresh_s
                return latest.kept_for_period(following, fresh_s=fresh_s, **timing)
            return latest.kept_for_comparison(body, latest.next_period(body), **timing)
        return settled.kept_for(
            upstream,
            body,
            fresh_s=fresh_s,
            now=asked_at,
            settled_after_s=s.cache_settled_after_s,
            settled_fresh_s=s.cache_settled_fresh_s,
        )

    def _cache_query(self, upstream: Upstream) -> list[tuple[str, str]]:
        query = list(upstream.query)
        if latest.applies(upstream, enabled=self._settings.cache_until_period_end):
            # The account's latest answer, whatever the day: kept until its period is due.
            query.append(("asOf~latest", ""))
        elif "asOf" in upstream.operation.query and not any(n == "asOf" for n, _ in query):
            # "As of today" is another answer tomorrow: the day is part of the key.
            today = datetime.fromtimestamp(self._clock.now(), UTC).date().isoformat()
            query.append(("asOf~today", today))
        return query

    def _stale(
        self,
        found: Lookup,
        request_id: str,
        reason: str,
        *,
        route: str,
        forward: str,
        status: int | None = None,
    ) -> dict[str, Any]:
        assert found.entry is not None
        entry = found.entry
        self._count(route, "Stale")
        self._metrics.add_metric(f"CacheStale_{reason}", "Count", 1)
        logger.warning("served a stale answer", extra={"reason": reason,
                       "age_s": entry.age(self._clock.now())})  # fmt: skip
        return self._from_cache(
            entry,
            request_id,
            cache_status(
                hit=not forward,
                forward=forward,
                forward_status=status,
                ttl_s=entry.fresh_until - self._clock.now(),
                detail=reason,
            ),
        )

    def _from_cache(self, entry: Entry, request_id: str, status: str) -> dict[str, Any]:
        return response(
            200,
            entry.body,
            request_id=request_id,
            headers={"Age": str(entry.age(self._clock.now())), "Cache-Status": status},
        )

    def _refused(self, scope: str, route: str) -> None:
        """Opower refused the customer this route (a 403, or a 401 a fresh token also
        got): every answer of theirs the route could serve goes, in every container and
        tier (each window, the usage days held, latest and settled answers), and none
        asked before now is served again, not as a hit, assembled or stale, until Opower
        answers the customer on the route again."""
        self._metrics.add_metric("CacheRefusal", "Count", 1)
        self._invalidate(scope, REFUSAL_REACHES.get(route, (route,)))

    def _invalidate(self, scope: str, routes: tuple[str, ...]) -> None:
        assert self._invalidator is not None
        removed = self._invalidator.invalidate(scope, routes)
        for route in routes:
            self._count(route, "Invalidated")
        self._metrics.add_metric("CacheEntriesRemoved", "Count", removed)

    def _count(self, route: str, outcome: str) -> None:
        self._metrics.add_metric(outcome_metric(outcome), "Count", 1)
        self._metrics.add_metric(outcome_metric(outcome, route), "Count", 1)

    def _answer(
        self, result: UpstreamResponse, request_id: str, operation: Operation
    ) -> dict[str, Any]:
        status = result.status
        meaning = operation.upstream_meanings.get(status)
        if meaning is not None:
            # What this status means on this operation's page (Delete Threshold's 400).
            logger.info("opower refused the request", extra={"opower_status": status,
                        "opower_error_code": opower_answers.error_code(result.body)})  # fmt: skip
            return error(meaning.status, meaning.code, meaning.message, request_id=request_id)
        if 200 <= status < 300:
            if status == 204 or not result.body.strip():
                return response(status, None, request_id=request_id)
            try:
                text = result.body.decode("utf-8")
                json.loads(text)
            except ValueError:
                return error(
                    502, "upstream_invalid", "Opower's answer was not JSON", request_id=request_id
                )
            # Valid JSON is passed through as Opower sent it, not re-serialized.
            return response(status, text, request_id=request_id)
        if status in _PASSED_ON:
            return error(status, _PASSED_ON[status], _refusal(status, result.body),
                         request_id=request_id)  # fmt: skip
        if status == 429:
            wait = parse_retry_after(result.retry_after, self._clock.now()) or 1
            return error(
                429,
                "upstream_throttled",
                "Opower is throttling requests; retry later",
                request_id=request_id,
                headers={"Retry-After": str(max(1, min(60, round(wait))))},
            )
        return error(502, "upstream_error", "Opower failed to answer", request_id=request_id)

    def _failure(self, exc: GatewayError, request_id: str) -> dict[str, Any]:
        failure = failure_for(exc)
        if isinstance(exc, ConfigurationError):
            self._metrics.add_metric(m.GATEWAY_MISCONFIGURED, "Count", 1)
            logger.error("gateway misconfigured", extra={"problem": str(exc)})
        else:
            logger.warning("request failed", extra={"error_code": exc.code})
        retry_after = failure.retry_after_s(exc)
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
        return error(
            failure.status, failure.code, failure.message, request_id=request_id, headers=headers
        )

    def _record(
        self, route: str, method: str, status: int, started: float, cached: str | None
    ) -> None:
        status_class = f"{status // 100}xx"
        self._metrics.add_metric(f"Route_{route}_{status_class}", "Count", 1)
        self._metrics.add_metric(f"Status_{status_class}", "Count", 1)
        logger.info(
            "request",
            extra={
                "route": route,
                "method": method,
                "status": status,
                "duration_ms": round((self._clock.now() - started) * 1000, 1),
                **({"cache": cached.partition("; ")[2]} if cached else {}),
            },
        )


def _outcome(answer: Mapping[str, Any]) -> str:
    """``ok``, or the error code of the envelope (the audit line's outcome)."""
    if answer["statusCode"] < 400:
        return "ok"
    try:
        return str(json.loads(answer["body"])["error"]["code"])
    except (TypeError, ValueError, KeyError):
        return "error"


def _lower(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _body(event: Mapping[str, Any]) -> bytes | None:
    body = event.get("body")
    if body is None:
        return None
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "bad_request", "The body is not valid base64") from None
    return str(body).encode()

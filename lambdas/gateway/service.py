"""The service API: the utility's own workloads reach Opower through the gateway.

A Step Functions workflow, a scheduled Lambda or an EventBridge-driven job calls the same
routes as customers, under ``/v1/service`` instead of ``/v1/me``, signed with AWS SigV4.
API Gateway authorizes the call (``AWS_IAM`` on every service method, and the REST API's
resource policy admits only the principals the utility named: ``infra/service.py``); the
function sees the caller in ``requestContext.identity``.

There is no session to bind, so the caller names the customer, as a session's claims do,
in the query string, with Opower's own names:

* ``utilityCustomerId``: the utility's customer id (required);
* ``accountNumber``: one of that customer's account numbers (required);
* ``utilityCode``: their operating company (required in a group of companies).

SigV4 always signs the query string (it is part of the canonical request), so every
signer names the customer under its signature with its defaults: Step Functions'
``apigateway:invoke``, botocore, awscurl, requests-aws4auth. The same three may come as
``Opower-Utility-Customer-Id``, ``Opower-Account-Number`` and ``Opower-Utility-Code``
headers instead (never both ways at once), signed (below).

The customer is then bound exactly as a session is (``gateway.auth.binding``: the account
number's Opower customers, kept only when their utilityCustomerId is the one named, then
their utility accounts), so a service call reaches only the Opower ids of the customer it
names, through the same route table, validation, envelope, token broker and cache.

Signed headers: API Gateway verifies the SigV4 signature, but a signature covers only the
headers its ``SignedHeaders`` lists (``host;x-amz-date`` is enough for AWS). A customer
header left out of it could be changed by whoever replays the request within SigV4's
five minutes, so a request carrying an ``Opower-*`` header its signature does not cover
is refused (403 ``unsigned_customer_header``, naming the header), as is one whose
signature cannot be told (none, or several): ``require_signed_customer_headers``.

Budget: service calls spend a pool of their own (``service_budget_per_second`` /
``_per_day``), carved out of each company's budget; customers keep the rest, so a batch
job can never make a customer see a 429 (``RuntimeSettings.budget_shares``).

Audit: every service call is logged (principal ARN, role, route, customer hash, status,
outcome) and counted per principal (``ServiceCalls_<role or user name>``).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.api_responses import RequestError, bad_request
from gateway.auth.binding import BindingResolver
from gateway.auth.errors import AccessDeniedError, CustomerLimitedError, IdentityUnavailableError
from gateway.auth.session import SessionIdentity
from gateway.auth_context import BindingView, customer_hash
from gateway.designated import (
    NOT_DESIGNATED_MESSAGE,
    DesignatedCustomers,
    DesignatedStoreUnavailable,
)
from gateway.observability import MetricsSink
from gateway.opower_client import OpowerClient

logger = logging.getLogger(__name__)

CUSTOMER_HEADER = "Opower-Utility-Customer-Id"
ACCOUNT_HEADER = "Opower-Account-Number"
COMPANY_HEADER = "Opower-Utility-Code"
SERVICE_HEADERS = (CUSTOMER_HEADER, ACCOUNT_HEADER, COMPANY_HEADER)
# The same, in the query string (Opower's names for them): signed whatever the signer.
CUSTOMER_PARAM = "utilityCustomerId"
ACCOUNT_PARAM = "accountNumber"
COMPANY_PARAM = "utilityCode"
SERVICE_PARAMS = (CUSTOMER_PARAM, ACCOUNT_PARAM, COMPANY_PARAM)
MAX_CUSTOMER_ID_LENGTH = 128
MAX_ACCOUNT_NUMBER_LENGTH = 64

# The IAM tag that admits a principal of the API's account (infra/service.py: the
# resource policy; OpowerGateway.grant_invoke puts it on the grantee's role).
TAG_KEY = "opower-gateway:service"

# Metrics: every service call, and each principal's (name below).
SERVICE_CALLS = "ServiceCalls"
# A service request refused because its signature does not cover its Opower-* headers.
UNSIGNED_CUSTOMER_HEADER = "ServiceUnsignedCustomerHeader"
UNSIGNED_CUSTOMER_HEADER_CODE = "unsigned_customer_header"
# The headers a caller names the customer with, and any other Opower-* header: each one
# the request carries must be in its signature's SignedHeaders.
CUSTOMER_HEADER_PREFIX = "opower-"
# SigV4 in the Authorization header ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=
# a;b;c, Signature=...") or, presigned, in the X-Amz-SignedHeaders query parameter.
_SIGNED_HEADERS = re.compile(r"(?:^|[\s,])SignedHeaders=(?P<names>[^,\s]*)")
PRESIGNED_SIGNED_HEADERS = "X-Amz-SignedHeaders"

# What API Gateway puts in requestContext.identity.userArn for a SigV4 caller: an IAM
# user, an account's root, or an assumed role's session
# (arn:aws:sts::<account>:assumed-role/<role>/<session>).
_USER_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):(?P<service>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>root|user|assumed-role|federated-user)(?P<rest>(?:/[\w+=,.@-]+)*)"
)
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class ServiceCaller:
    """The signed caller, as API Gateway authenticated it."""

    arn: str  # requestContext.identity.userArn: an assumed role's session ARN, a user's ARN
    principal: str  # the role or user behind it (what the resource policy admits)
    name: str  # the role's or user's name: its metrics

    @property
    def metric(self) -> str:
        return f"{SERVICE_CALLS}_{_METRIC_NAME.sub('_', self.name)[:64]}"


def caller_from_context(request_context: Any) -> ServiceCaller:
    """The SigV4 caller of a service request. Without one, API Gateway did not authorize
    the request with IAM (a misconfigured method): refused, never served."""
    identity = request_context.get("identity") if isinstance(request_context, Mapping) else None
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    found = _USER_ARN.fullmatch(arn) if isinstance(arn, str) and len(arn) <= 2048 else None
    if found is None or (found["kind"] == "root") == bool(found["rest"]):
        raise RequestError(403, "forbidden", "The service API takes SigV4-signed requests only")
    assert isinstance(arn, str)
    partition, account, kind = found["partition"], found["account"], found["kind"]
    parts = [p for p in found["rest"].split("/") if p]
    if kind == "assumed-role" and len(parts) >= 2:
        # The session name changes per execution; the role is the principal (the resource
        # policy's aws:PrincipalArn is the role's ARN too). The role's path is not in the
        # session ARN: counted and admitted by name.
        return ServiceCaller(arn, f"arn:{partition}:iam::{account}:role/{parts[0]}", parts[0])
    if kind == "root":
        return ServiceCaller(arn, f"arn:{partition}:iam::{account}:root", "root")
    name = parts[-1] if parts else kind
    return ServiceCaller(arn, arn, name)


def require_signed_customer_headers(event: Mapping[str, Any]) -> None:
    """A 403 unless the request's one SigV4 signature covers every ``Opower-*`` header
    it carries (names compared without case).

    API Gateway has verified the signature (AWS_IAM) and hands the function the request's
    headers and query; what the signature covers is its ``SignedHeaders`` ("Create a
    signed AWS API request": the headers listed there are the ones in the canonical
    request, ``host`` at least; any other header can be changed without breaking it).
    A request carrying no signature, or several (two Authorization values, or a header
    and a presigned query), is refused too: which one API Gateway checked is unknown."""
    carried = sorted(
        {
            str(name).lower()
            for source in (event.get("headers"), event.get("multiValueHeaders"))
            if isinstance(source, Mapping)
            for name in source
            if str(name).lower().startswith(CUSTOMER_HEADER_PREFIX)
        }
    )
    if not carried:
        return
    declared = _signed_header_lists(event)
    if len(declared) != 1:
        names = ", ".join(_shown(n) for n in carried)
        raise RequestError(
            403,
            UNSIGNED_CUSTOMER_HEADER_CODE,
            f"Send one SigV4 signature (one Authorization header) that signs the {names} "
            f"header{'s' if len(carried) > 1 else ''}",
        )
    signed = declared[0]
    unsigned = [name for name in carried if name not in signed]
    if unsigned:
        names = ", ".join(_shown(n) for n in unsigned)
        raise RequestError(
            403,
            UNSIGNED_CUSTOMER_HEADER_CODE,
            f"Sign the {names} header{'s' if len(unsigned) > 1 else ''}: the request's SigV4 "
            f"signature covers only {';'.join(sorted(signed)) or 'no header'} "
            "(SignedHeaders); every Opower-* header a request carries must be signed",
        )


def _signed_header_lists(event: Mapping[str, Any]) -> list[frozenset[str]]:
    """The SignedHeaders of each signature the request carries: each Authorization value
    (of ``multiValueHeaders``, else ``headers``), and each presigned query's."""
    values: list[Any] = []
    multi = event.get("multiValueHeaders")
    for name, given in (multi if isinstance(multi, Mapping) else {}).items():
        if str(name).lower() == "authorization":
            values += given if isinstance(given, list) else [given]
    if not values:
        single = event.get("headers")
        values = [
            v
            for k, v in (single if isinstance(single, Mapping) else {}).items()
            if str(k).lower() == "authorization"
        ]
    lists = []
    for value in values:
        found = _SIGNED_HEADERS.search(value) if isinstance(value, str) else None
        lists.append(_names(found["names"] if found else ""))
    # Query parameter names are case-sensitive in SigV4: only this spelling is one.
    presigned: list[Any] = []
    multi_query = event.get("multiValueQueryStringParameters")
    if isinstance(multi_query, Mapping) and PRESIGNED_SIGNED_HEADERS in multi_query:
        given = multi_query[PRESIGNED_SIGNED_HEADERS]
        presigned = given if isinstance(given, list) else [given]
    else:
        query = event.get("queryStringParameters")
        if isinstance(query, Mapping) and PRESIGNED_SIGNED_HEADERS in query:
            presigned = [query[PRESIGNED_SIGNED_HEADERS]]
    lists += [_names(v if isinstance(v, str) else "") for v in presigned]
    return lists


def _names(signed_headers: str) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in signed_headers.split(";") if n.strip())


def _shown(name: str) -> str:
    """A header's name as the README spells it (Opower-Account-Number)."""
    for known in SERVICE_HEADERS:
        if known.lower() == name:
            return known
    return "-".join(part.capitalize() for part in name.split("-"))


@dataclass(frozen=True)
class NamedCustomer:
    utility_code: str
    utility_customer_id: str
    account_number: str

    @property
    def customer_key(self) -> str:
        return customer_hash(self.utility_code, self.utility_customer_id)


def named_customer(
    headers: Mapping[str, Any] | None,
    multi_value_headers: Mapping[str, Any] | None,
    companies: tuple[str, ...],
    query: Mapping[str, Any] | None = None,
) -> NamedCustomer:
    """The customer the caller names, from the query (``utilityCustomerId``,
    ``accountNumber``, ``utilityCode``) or else the ``Opower-*`` headers; a 400 saying
    what to fix when one is missing, repeated, empty, too long or not printable, or when
    the request names the customer both ways."""
    in_query = any(name in (query or {}) for name in SERVICE_PARAMS)
    in_headers = any(_values(headers, multi_value_headers, name) for name in SERVICE_HEADERS)
    if in_query and in_headers:
        raise bad_request(
            f"Name the customer one way: in the query ({', '.join(SERVICE_PARAMS)}) or "
            f"in the {', '.join(SERVICE_HEADERS)} headers, not both"
        )
    # what the caller used, as the errors name it
    label = dict(
        zip(SERVICE_PARAMS, SERVICE_HEADERS if in_headers else SERVICE_PARAMS, strict=True)
    )
    kind = "header" if in_headers else "query parameter"

    def read(param: str, max_length: int) -> str | None:
        if in_headers:
            values = _values(headers, multi_value_headers, label[param])
        else:
            given = (query or {}).get(param)
            values = given if isinstance(given, list) else [] if given is None else [given]
        return _one(values, label[param], kind, max_length)

    customer = read(CUSTOMER_PARAM, MAX_CUSTOMER_ID_LENGTH)
    number = read(ACCOUNT_PARAM, MAX_ACCOUNT_NUMBER_LENGTH)
    company = read(COMPANY_PARAM, 16)
    if not customer or not number:
        raise bad_request(
            f"Name the customer with the {label[CUSTOMER_PARAM]} and {label[ACCOUNT_PARAM]} "
            f"{kind}s" + (f" (and {label[COMPANY_PARAM]})" if len(companies) > 1 else "")
        )
    if company is None:
        if len(companies) > 1:
            raise bad_request(
                f"This gateway serves several operating companies: name the customer's with "
                f"the {label[COMPANY_PARAM]} {kind} (one of {', '.join(companies)})"
            )
        company = companies[0]
    elif company not in companies:
        raise bad_request(f"{label[COMPANY_PARAM]} must be one of {', '.join(companies)}")
    return NamedCustomer(company, customer, number)


def route_query(query: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A service request's query without the parameters that name the customer: what is
    left is the route's own (checked against the route table as a customer's is)."""
    if query is None:
        return None
    return {name: value for name, value in query.items() if name not in SERVICE_PARAMS}


def _values(
    headers: Mapping[str, Any] | None, multi_value_headers: Mapping[str, Any] | None, name: str
) -> list[Any]:
    wanted = name.lower()
    values: list[Any] = []
    for given, value in (multi_value_headers or {}).items():
        if str(given).lower() == wanted:
            values += value if isinstance(value, list) else [value]
    if not values:
        values = [v for k, v in (headers or {}).items() if str(k).lower() == wanted]
    return values


def _one(values: list[Any], name: str, kind: str, max_length: int) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(f"Send the {name} {kind} once")
    if not isinstance(values[0], str):
        raise bad_request(f"{name} must be 1-{max_length} printable characters")
    value = values[0].strip()
    if not value or len(value) > max_length or not value.isprintable():
        raise bad_request(f"{name} must be 1-{max_length} printable characters")
    return value


def _query(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The query as API Gateway gives it: every value of a name (multiValue...), else the
    last one."""
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping):
        return multi
    single = event.get("queryStringParameters")
    return single if isinstance(single, Mapping) else None


@dataclass
class ServiceRecord:
    """What a service call has shown of itself so far (the audit line's, even when the
    call is refused half way)."""

    caller: ServiceCaller | None = None
    customer: NamedCustomer | None = None


class ServiceApi:
    """Binds a service call's named customer, with the service pool's Opower clients."""

    def __init__(
        self,
        *,
        clients: Mapping[str, OpowerClient],
        resolvers: Mapping[str, BindingResolver],
        metrics: MetricsSink,
        designated: Mapping[str, DesignatedCustomers] | None = None,
    ) -> None:
        if set(clients) != set(resolvers) or not clients:
            raise ValueError("one client and one resolver per operating company")
        self.clients = clients
        self._resolvers = resolvers
        self._metrics = metrics
        self._designated = dict(designated or {})
        self.companies = tuple(clients)

    def admit(
        self, event: Mapping[str, Any], *, deadline: float, record: ServiceRecord
    ) -> tuple[BindingView, str, OpowerClient]:
        """The signed caller, the customer it names and their binding, with the company's
        client of the service pool; a RequestError (403, 400, 404, 409, 429, 503) else: 403
        too when the signature does not cover the customer headers."""
        record.caller = caller_from_context(event.get("requestContext"))
        try:
            require_signed_customer_headers(event)
        except RequestError:
            self._metrics.add_metric(UNSIGNED_CUSTOMER_HEADER, "Count", 1)
            raise
        record.customer = named_customer(
            event.get("headers"),
            event.get("multiValueHeaders"),
            self.companies,
            _query(event),
        )
        binding = self.bind(record.customer, deadline=deadline)
        code = record.customer.utility_code
        return binding, code, self.clients[code]

    def bind(self, customer: NamedCustomer, *, deadline: float) -> BindingView:
        """The named customer's binding, or a RequestError: 404 when no Opower customer
        matches, 409 when several do, 429 / 503 when Opower could not be asked."""
        identity = SessionIdentity(
            subject=customer.customer_key,
            utility_customer_id=customer.utility_customer_id,
            account_numbers=(customer.account_number,),
            expires_at=math.inf,
        )
        resolver = self._resolvers[customer.utility_code]
        try:
            binding = resolver.resolve(
                identity, deadline=deadline, customer_key=customer.customer_key
            )
        except AccessDeniedError as refused:
            self._metrics.add_metric(f"ServiceBinding_{refused.reason}", "Count", 1)
            if refused.reason == "ambiguous_customer":
                raise RequestError(
                    409,
                    "ambiguous_customer",
                    "Several Opower customers match this utility customer id and account "
                    "number; name another of the customer's account numbers",
                ) from None
            raise RequestError(
                404,
                "customer_not_found",
                "No customer has this utility customer id and account number",
            ) from None
        except (IdentityUnavailableError, CustomerLimitedError) as failed:
            self._metrics.add_metric("ServiceBindingUnavailable", "Count", 1)
            wait = getattr(failed, "retry_after_s", None)
            if failed.reason in {"opower_too_many_requests", "customer_rate_limited"}:
                # The budget said when: the next second, or midnight UTC for the day's.
                raise RequestError(
                    429,
                    "too_many_requests",
                    "The service API's Opower budget is used up for now; retry after the "
                    "time in Retry-After",
                    {"Retry-After": str(max(1, round(wait or 1)))},
                ) from None
            raise RequestError(
                503,
                "upstream_unavailable",
                "Opower could not be asked who this customer is; retry later",
                {"Retry-After": str(max(1, round(wait or _RETRY_AFTER_S)))},
            ) from None
        self._check_designated(customer)
        return BindingView(
            customer_id=binding.customer_id,
            utility_customer_id=binding.utility_customer_id,
            account_ids=frozenset(binding.account_ids),
            customer_key=customer.customer_key,
            utility_code=customer.utility_code,
            raw_minutes=dict(binding.raw_minutes),
            accounts_version=binding.version,
        )

    def _check_designated(self, customer: NamedCustomer) -> None:
        """The designated-customer cap holds for the utility's own workloads too: they
        show the customer's data to them (gateway.designated)."""
        cap = self._designated.get(customer.utility_code)
        if cap is None:
            return
        try:
            admitted = cap.admit(customer.customer_key, at=time.time())
        except DesignatedStoreUnavailable:
            raise RequestError(
                503,
                "upstream_unavailable",
                "The designated-customer count could not be read; retry later",
                {"Retry-After": str(_RETRY_AFTER_S)},
            ) from None
        if not admitted:
            self._metrics.add_metric("ServiceBinding_not_designated", "Count", 1)
            raise RequestError(403, "not_designated", NOT_DESIGNATED_MESSAGE)


def audit(
    record: ServiceRecord,
    *,
    route: str,
    method: str,
    status: int,
    outcome: str,
    metrics: MetricsSink,
) -> None:
    """The audit line of one service call, and its counts (every call, and the caller's)."""
    caller, customer = record.caller, record.customer
    metrics.add_metric(SERVICE_CALLS, "Count", 1)
    metrics.add_metric(f"ServiceStatus_{status // 100}xx", "Count", 1)
    if caller is not None:
        metrics.add_metric(caller.metric, "Count", 1)
    logger.info(
        "service call",
        extra={
            "audit": "service_call",
            "principal_arn": caller.arn if caller else "",
            "principal": caller.principal if caller else "",
            "route": route,
            "method": method,
            "utility": customer.utility_code if customer else "",
            "customer": customer.customer_key if customer else "",
            "status": status,
            "outcome": outcome,
        },
    )

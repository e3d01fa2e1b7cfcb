"""SigV4 as API Gateway checks it on an ``AWS_IAM`` method, for the local emulator.

The signature is computed again with botocore's own signer (the one every AWS SDK for
Python signs with) from the request as received, for the credentials of the access key it
names, and compared in constant time (a signed ``X-Amz-Content-SHA256`` must be the body's
hash). What AWS answers, with sources (cited in ``tests/e2e/test_service_api.py`` and
infra/README.md):

* no ``Authorization`` header: 403 MissingAuthenticationTokenException
  (gateway response MISSING_AUTHENTICATION_TOKEN);
* an Authorization header that is not SigV4 (a Bearer token): 403
  IncompleteSignatureException (no documented gateway response type: the DEFAULT_4XX
  family);
* a signature that does not match, or a time stamp more than five minutes off: 403
  InvalidSignatureException (INVALID_SIGNATURE; "AWS Signature Version 4 for API
  requests": "a request must reach AWS within five minutes of the time stamp");
* an access key AWS does not know, or a security token that is not the one issued with
  it (a long-term key's request carrying any, a temporary key's carrying another or
  none): 403 "The security token included in the request is invalid."
  (AccessDeniedException: ACCESS_DENIED; "How do I troubleshoot HTTP 403 errors from API
  Gateway?", re:Post Knowledge Center);
* more than one Authorization header: refused (IncompleteSignatureException), as the
  customer path's authorizer refuses them. AWS documents no answer for it; a request may
  carry only one Authorization field line (RFC 9110, section 5.3: it is not a list).

The request is canonicalized as AWS does on receipt ("Create a signed AWS API request",
IAM User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_sigv-create-signed-request.html), not as a client may have put it on the wire:
each query parameter's name and value decoded, then URI-encoded again (every byte but the
unreserved A-Z a-z 0-9 - _ . ~, a space as %20, hex digits in upper case), the pairs
sorted by encoded name then value; exactly the headers SignedHeaders names, User-Agent
included when a client signs it. So a query signed by awscurl or requests-aws4auth (which
encode ``:`` as ``%3A`` while sending it raw) verifies, and a botocore ``AWSRequest`` whose
URL carries a raw ``:`` does not, as on AWS. Not established: whether AWS reads a ``+`` in
a query as a space; here it is one, as in the proxy event's query parameters. Which
headers a caller signs is the caller's: botocore and the AWS SDKs sign every header they
are given; the gateway itself refuses ``Opower-*`` headers left unsigned
(gateway.service).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "execute-api"
MAX_SKEW_S = 300
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class LocalPrincipal:
    """An IAM principal of the local run: its credentials and who API Gateway says it is."""

    access_key: str
    secret_key: str
    user_arn: str  # requestContext.identity.userArn (an assumed role's session ARN)
    principal_arn: str  # aws:PrincipalArn (the role)
    tags: Mapping[str, str] = field(default_factory=dict)  # aws:PrincipalTag/...
    # What its identity policy allows: "<METHOD><path>" patterns (grant_invoke writes them)
    invoke: tuple[str, ...] = ()
    # The session token STS issued with temporary credentials (required with them); None
    # for a long-term access key, whose requests carry none.
    session_token: str | None = None

    @property
    def account(self) -> str:
        return self.user_arn.split(":")[4]


@dataclass(frozen=True)
class Refusal:
    """A gateway response type and, local runs only, why."""

    type: str
    reason: str


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    principals: Mapping[str, LocalPrincipal],
    region: str,
    now: datetime | None = None,
    multi: Mapping[str, Sequence[str]] | None = None,
) -> LocalPrincipal | Refusal:
    """The principal that signed this request, or why API Gateway would refuse it.
    ``multi``: every value of each header (``headers`` has the last), when known."""
    lowered = {k.lower(): v for k, v in headers.items()}
    every = _every_value(lowered, multi)
    if len(every.get("authorization", [])) > 1:
        return Refusal("INCOMPLETE_SIGNATURE", "more than one Authorization header")
    authorization = lowered.get("authorization", "").strip()
    if not authorization:
        return Refusal("MISSING_AUTHENTICATION_TOKEN", "no SigV4 signature")
    found = _AUTHORIZATION.fullmatch(authorization)
    if found is None:
        return Refusal("INCOMPLETE_SIGNATURE", "the Authorization header is not SigV4")
    principal = principals.get(found["key"])
    if principal is None:
        return Refusal("ACCESS_DENIED", "unknown access key")
    tokens = every.get("x-amz-security-token", [])
    if len(tokens) > 1 or (tokens[0] if tokens else None) != principal.session_token:
        # STS issued one token with temporary credentials; a long-term key has none.
        return Refusal(
            "ACCESS_DENIED", "the security token is not the one issued with this access key"
        )
    signed = found["signed"].split(";")
    if "host" not in signed or any(name not in lowered for name in signed):
        return Refusal("INVALID_SIGNATURE", "a signed header is missing")
    stamp = lowered.get("x-amz-date", "")
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return Refusal("INVALID_SIGNATURE", "no valid X-Amz-Date")
    if abs(((now or datetime.now(UTC)) - moment).total_seconds()) > MAX_SKEW_S:
        return Refusal("INVALID_SIGNATURE", "signature expired (more than 5 minutes off)")
    if found["date"] != stamp[:8] or found["service"] != SERVICE or found["region"] != region:
        return Refusal("INVALID_SIGNATURE", "credential scope is not this API's")
    claimed = lowered.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
        # botocore would trust the header: the body must be the one that was signed
        return Refusal("INVALID_SIGNATURE", "the payload hash does not match the body")
    request = AWSRequest(method=method, url=f"http://{lowered['host']}{target}", data=body)
    if claimed is not None:
        request.headers["X-Amz-Content-SHA256"] = claimed
    request.context["timestamp"] = stamp
    signer = _OnReceipt(
        Credentials(principal.access_key, principal.secret_key, principal.session_token),
        SERVICE,
        region,
        signed={name: every.get(name, [lowered[name]]) for name in signed},
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, found["signature"]):
        return Refusal("INVALID_SIGNATURE", "signature does not match")
    return principal


class _OnReceipt(SigV4Auth):
    """botocore's SigV4 arithmetic over the request as AWS canonicalizes it on receipt:
    the query re-encoded (``canonical_query``), and exactly the headers the signature
    names, with every value each was sent with (botocore's client side leaves some out,
    User-Agent among them, and takes the URL's query as already encoded)."""

    def __init__(
        self, credentials: Credentials, service: str, region: str, *, signed: dict[str, list[str]]
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: Any) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, values in self._signed.items():
            for value in values:
                headers[name] = value
        return headers

    def canonical_query_string(self, request: Any) -> str:
        return canonical_query(urlsplit(request.url).query)


def canonical_query(query: str) -> str:
    """A query string as SigV4's CanonicalQueryString ("Create a signed AWS API
    request"): each name and value decoded, then URI-encoded (every byte except the
    unreserved A-Z a-z 0-9 - _ . ~; a space as %20; upper-case hex), the pairs sorted by
    encoded name, then value, joined with ``&``; a name without value gets ``=``."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_uri_encode(name), _uri_encode(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def uri_encode(text: str) -> str:
    """SigV4's UriEncode of a query name or value (``canonical_query``): what to send on
    the wire so that a signer taking the URL's query as already encoded (botocore's
    ``AWSRequest``) signs what AWS computes."""
    return quote(text.encode("utf-8"), safe=_UNRESERVED_PUNCTUATION)


# With A-Z a-z 0-9, which quote() never encodes: RFC 3986's unreserved characters.
_UNRESERVED_PUNCTUATION = "-_.~"


def _uri_encode(raw: str) -> str:
    # decoded to bytes first (a '+' is a space, as in the proxy event's query values),
    # so that any byte a client percent-encoded is encoded once again here
    return quote(unquote_to_bytes(raw.replace("+", " ")), safe=_UNRESERVED_PUNCTUATION)


def _every_value(
    lowered: Mapping[str, str], multi: Mapping[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """Each header's values by lowercase name: ``multi``'s when given, else the one."""
    if multi is None:
        return {name: [value] for name, value in lowered.items()}
    every: dict[str, list[str]] = {}
    for name, values in multi.items():
        every.setdefault(name.lower(), []).extend(values)
    return every


def refused(
    principal: LocalPrincipal,
    method: str,
    path: str,
    *,
    arns: tuple[str, ...],
    tag: tuple[str, str],
    account: str,
) -> str:
    """Why the stack's resource policy (infra/service.py) and the principal's identity
    policy refuse ``method path`` on the service API ("" when allowed), evaluated as
    "How API Gateway resource policies affect authorization workflow" says: an explicit
    Deny wins; in the API's account either policy's Allow admits; from another account
    both must allow."""
    key, value = tag
    listed = principal.principal_arn in arns
    if not listed and principal.tags.get(key) != value:
        return "the resource policy denies a principal neither listed nor tagged"
    same_account = principal.account == account
    if not listed and not same_account:
        return "the resource policy denies another account's unlisted principal"
    identity_allows = any(fnmatch.fnmatchcase(f"{method}{path}", p) for p in principal.invoke)
    if listed and (same_account or identity_allows):
        return ""  # the resource policy allows listed ARNs (and, across accounts, theirs)
    if same_account and identity_allows:
        return ""
    return "no policy allows this route for this principal"

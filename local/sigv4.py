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
* an access key AWS does not know: 403 "The security token included in the request is
  invalid." (AccessDeniedException: ACCESS_DENIED).

Not modelled: the session token of temporary credentials is part of the signature but
not checked against an STS session (the local principals hold long-term keys); a
request is canonicalized as botocore signs it, so a client that signs headers botocore
leaves out (User-Agent) or encodes its query differently is refused here where AWS may
accept it. Which headers a caller signs is the caller's: botocore and the AWS SDKs sign
every header they are given, the ``Opower-*`` ones included.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
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
) -> LocalPrincipal | Refusal:
    """The principal that signed this request, or why API Gateway would refuse it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    if not authorization:
        return Refusal("MISSING_AUTHENTICATION_TOKEN", "no SigV4 signature")
    found = _AUTHORIZATION.fullmatch(authorization)
    if found is None:
        return Refusal("INCOMPLETE_SIGNATURE", "the Authorization header is not SigV4")
    principal = principals.get(found["key"])
    if principal is None:
        return Refusal("ACCESS_DENIED", "unknown access key")
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
    request = AWSRequest(
        method=method,
        url=f"http://{lowered['host']}{target}",
        headers={name: lowered[name] for name in signed},
        data=body,
    )
    request.context["timestamp"] = stamp
    token = lowered.get("x-amz-security-token")
    signer = SigV4Auth(
        Credentials(principal.access_key, principal.secret_key, token), SERVICE, region
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, found["signature"]):
        return Refusal("INVALID_SIGNATURE", "signature does not match")
    return principal


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

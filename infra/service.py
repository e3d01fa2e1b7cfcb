"""Who may call the service API (``/v1/service/...``, gateway.service): the REST API's
resource policy, and what ``OpowerGateway.grant_invoke`` gives a workload.

Every service method is ``AWS_IAM``. How API Gateway combines the resource policy with
the caller's identity policy ("How API Gateway resource policies affect authorization
workflow"): in the API's own account either one's Allow admits the caller unless one
denies explicitly (table A); from another account both must allow (table B). So:

* Allow ``*`` on everything *but* ``/v1/service/*`` (``NotResource``): the customer API
  as before (its methods still need the session authorizer's Allow), the OpenAPI
  document and the catch-alls;
* Allow ``/v1/service/*`` to the ARNs listed in ``service_principals`` (condition
  ``aws:PrincipalArn``; from another account their own identity policy must allow too);
* Deny ``/v1/service/*`` unless the caller's ``aws:PrincipalArn`` is listed or it carries
  the gateway's tag (``aws:PrincipalTag/opower-gateway:service``, put on a role or user by
  ``grant_invoke``);
* Deny ``/v1/service/*`` to any other account's principal that is not listed
  (``aws:PrincipalAccount``): a tag is only this account's word.

"``/v1/service/*``" is, in each statement, every method in turn (``*/*/GET/v1/service/*``
...): IAM's ``*`` matches across ``/``, so a method ``*`` would also take
``/v1/me/x/v1/service/y`` for a service path (``service_resources``). Any stage: a stage
added by hand is no way around the Denies.

A tagged principal has no Allow in the resource policy: its own identity policy must
allow the route (``grant_invoke`` writes it, for every service route or only the ones
given), so ``grant_invoke(routes=...)`` really narrows what it may call. The condition
keys are supported by API Gateway resource policies with IAM authorization ("AWS
condition keys that can be used in API Gateway resource policies"); for an assumed role
``aws:PrincipalArn`` is the role's ARN, not the session's ("AWS global condition context
keys").

Why a tag rather than the grantee's ARN: a workload in another stack (a Step Functions
state machine) needs the API's ARN for its own policy; if the API's policy named the
workload's role, each stack would need the other's (a dependency cycle). The tag lives in
the workload's stack. ``aws:PrincipalTag`` is also satisfied by a *session* tag: whoever
may tag a role (``iam:TagRole``) or pass session tags when assuming one
(``sts:TagSession`` in a role's trust policy) can claim it, within this account. Where
that is a concern, deny ``sts:TagSession`` for the key ``opower-gateway:service`` with an
SCP, or list ARNs in ``service_principals`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from gateway.routes import SERVICE_PREFIX
from gateway.service import TAG_KEY

__all__ = ["INVOKE", "TAG_KEY", "resource_policy", "service_resources", "tag_value", "taggable"]

INVOKE = "execute-api:Invoke"
# The methods a REST API has ("PutMethod", httpMethod), each named in the service
# statements. IAM's "*" in a resource ARN matches any characters, "/" included ("IAM JSON
# policy elements: Resource"): "*/*/*/v1/service/*" matched /v1/me/x/v1/service/y too
# (its method "*" taking "GET/v1/me/x"), denying a path the catch-all answers 404. With
# the method spelled out, "/v1/service/" must follow it (only a path that itself holds
# "/GET/v1/service/" further down still matches: refused, never admitted).
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def service_resources() -> list[str]:
    """The service routes, every stage, each method, as full ARNs (any API id: a policy
    is only ever evaluated for its own API, and the API's own id would make its policy
    depend on it; the abbreviated "execute-api:/..." form is documented for Resource, not
    for NotResource)."""
    prefix = f"arn:{cdk.Aws.PARTITION}:execute-api:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:*/*"
    return [f"{prefix}/{method}{SERVICE_PREFIX}/*" for method in HTTP_METHODS]


def tag_value(gateway: Construct) -> str:
    """The tag that admits a principal to this gateway's service API (and no other's):
    the stack's name and the construct's path."""
    return f"{cdk.Stack.of(gateway).stack_name}:{gateway.node.path}"[:256]


def resource_policy(*, principals: Sequence[str], tag: str) -> iam.PolicyDocument:
    refused_unless: dict[str, Any] = {f"aws:PrincipalTag/{TAG_KEY}": tag}
    other_account: dict[str, Any] = {"aws:PrincipalAccount": cdk.Aws.ACCOUNT_ID}
    if principals:
        refused_unless["aws:PrincipalArn"] = list(principals)
        other_account["aws:PrincipalArn"] = list(principals)
    listed = {"StringEquals": {"aws:PrincipalArn": list(principals)}}
    where = service_resources()
    statements = [
        _anyone("CustomersThroughTheSessionAuthorizer", iam.Effect.ALLOW, where, service=False),
        *([_anyone("ServiceApiForListedPrincipals", iam.Effect.ALLOW, where, listed)]
          if principals else []),
        # Conditions of one operator are ANDed: denied when the ARN is none of the listed
        # AND the tag is not this gateway's (a key the request lacks matches a negated
        # operator: anonymous callers are denied too).
        _anyone("ServiceApiOnlyForNamedPrincipals", iam.Effect.DENY, where,
                {"StringNotEquals": refused_unless}),
        _anyone("ServiceApiTagsOnlyFromThisAccount", iam.Effect.DENY, where,
                {"StringNotEquals": other_account}),
    ]  # fmt: skip
    return iam.PolicyDocument(statements=statements)


def _anyone(
    sid: str,
    effect: iam.Effect,
    where: list[str],
    conditions: dict[str, Any] | None = None,
    *,
    service: bool = True,
) -> iam.PolicyStatement:
    """``execute-api:Invoke`` for any principal, on the service routes (``where``,
    ``service``) or on everything else."""
    return iam.PolicyStatement(
        sid=sid,
        effect=effect,
        principals=[iam.AnyPrincipal()],
        actions=[INVOKE],
        resources=where if service else None,
        not_resources=None if service else where,
        conditions=conditions,
    )


def taggable(principal: iam.IPrincipal) -> IConstruct | None:
    """The role or user construct of this stack's making behind ``principal`` (an
    imported one cannot be tagged from here)."""
    if isinstance(principal, (iam.Role, iam.User)):
        return principal
    return None

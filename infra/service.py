"""Who may call the service API (``/v1/service/...``, gateway.service): the REST API's
resource policy, and what ``OpowerGateway.grant_invoke`` gives a workload.

Every service method is ``AWS_IAM``. In the API's own account, IAM auth lets through any
principal whose identity policy allows ``execute-api:Invoke``, whatever the resource
policy says, unless the resource policy denies it explicitly ("How API Gateway resource
policies affect authorization workflow", table A: IAM policy Allow + resource policy
"neither" = Allow). So the policy is:

* Allow ``execute-api:Invoke`` on ``execute-api:/*`` to ``*``: the customer API stays
  as it is (its methods still need the session authorizer's Allow);
* Deny it on ``execute-api:/*/*/v1/service/*`` unless the caller's ``aws:PrincipalArn``
  is listed (``service_principals``) or the caller carries the gateway's tag
  (``aws:PrincipalTag/opower-gateway:service``, put on a role or user by
  ``grant_invoke``). Both keys are supported by API Gateway resource policies ("AWS
  condition keys that can be used in API Gateway resource policies"); for an assumed role
  ``aws:PrincipalArn`` is the role's ARN, not the session's ("AWS global condition
  context keys").

Why a tag rather than the grantee's ARN: a workload in another stack (a Step Functions
state machine) needs the API's ARN for its own policy; if the API's policy named the
workload's role, each stack would need the other's (a dependency cycle). The tag lives in
the workload's stack; tagging a role is an administrator's act (``iam:TagRole``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from gateway.routes import SERVICE_PREFIX

TAG_KEY = "opower-gateway:service"
INVOKE = "execute-api:Invoke"
SERVICE_RESOURCE = f"execute-api:/*/*{SERVICE_PREFIX}/*"


def tag_value(gateway: Construct) -> str:
    """The tag that admits a principal to this gateway's service API (and no other's):
    the stack's name and the construct's path."""
    return f"{cdk.Stack.of(gateway).stack_name}:{gateway.node.path}"[:256]


def resource_policy(*, principals: Sequence[str], tag: str) -> iam.PolicyDocument:
    refused_unless: dict[str, Any] = {f"aws:PrincipalTag/{TAG_KEY}": tag}
    if principals:
        refused_unless["aws:PrincipalArn"] = list(principals)
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="CustomersThroughTheSessionAuthorizer",
                effect=iam.Effect.ALLOW,
                principals=[iam.AnyPrincipal()],
                actions=[INVOKE],
                resources=["execute-api:/*"],
            ),
            iam.PolicyStatement(
                sid="ServiceApiOnlyForNamedPrincipals",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[INVOKE],
                resources=[SERVICE_RESOURCE],
                # Conditions of one operator are ANDed: denied when the ARN is none of
                # the listed AND the tag is not this gateway's (an absent key matches a
                # negated operator: anonymous callers are denied too).
                conditions={"StringNotEquals": refused_unless},
            ),
        ]
    )


def taggable(principal: iam.IPrincipal) -> IConstruct | None:
    """The role or user construct of this stack's making behind ``principal`` (an
    imported one cannot be tagged from here)."""
    if isinstance(principal, (iam.Role, iam.User)):
        return principal
    return None

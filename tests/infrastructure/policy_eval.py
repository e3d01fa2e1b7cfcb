"""The synthesized template's policies, resolved and evaluated as AWS documents it.

``Resolver`` turns a template's intrinsic functions (``Ref``, ``Fn::GetAtt``,
``Fn::Join``, the pseudo parameters) into the values CloudFormation would give them, in
one made-up account and region: each resource gets a physical id of the form AWS uses
for its type (an SNS topic's ``Ref`` is its ARN, a table's is its name, an alarm's
``Arn`` is ``arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`` ...), or the value a test
gives it (a table moto created).

``decide`` evaluates statements for one request with IAM's documented rules ("Policy
evaluation logic"; "IAM JSON policy elements: Condition operators"):

* an explicit Deny wins, then an Allow, else the request is implicitly denied;
* ``*`` and ``?`` in ``Action`` and ``Resource`` are wildcards that match any characters,
  ``/`` included ("IAM JSON policy elements: Resource"); actions are case-insensitive;
* the values of one condition key are ORed, the keys and operators of a statement ANDed;
  a key the request lacks fails every operator but the negated ones (``...NotEquals``,
  ``...NotLike``), which it satisfies; ``Null`` tests presence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "OpowerGateway",
}
ALLOW, DENY, IMPLICIT_DENY = "Allow", "Deny", "ImplicitDeny"


def _arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


# (Ref, Arn) of each resource type, from its logical id, as AWS forms them.
_PHYSICAL = {
    "AWS::SNS::Topic": lambda i: (_arn("sns", i), _arn("sns", i)),
    "AWS::DynamoDB::Table": lambda i: (i, _arn("dynamodb", f"table/{i}")),
    "AWS::KMS::Key": lambda i: (i, _arn("kms", f"key/{i}")),
    "AWS::SecretsManager::Secret": lambda i: (_arn("secretsmanager", f"secret:{i}-AbCdEf"),) * 2,
    "AWS::CloudWatch::Alarm": lambda i: (i, _arn("cloudwatch", f"alarm:{i}")),
    "AWS::Logs::LogGroup": lambda i: (i, _arn("logs", f"log-group:{i}:*")),
    "AWS::IAM::Role": lambda i: (i, f"arn:{PARTITION}:iam::{ACCOUNT}:role/{i}"),
    "AWS::Lambda::Function": lambda i: (i, _arn("lambda", f"function:{i}")),
    "AWS::ApiGateway::RestApi": lambda i: ("a1b2c3d4e5", _arn("apigateway", "/restapis/a1b2c3")),
}


class Resolver:
    """The template's values as CloudFormation resolves them (``overrides``: logical id
    -> {"Ref": ..., "Arn": ...} of resources a test created for real)."""

    def __init__(
        self,
        template: Mapping[str, Any],
        overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._resources = template["Resources"]
        self._overrides = overrides or {}

    def attribute(self, logical_id: str, name: str) -> str:
        if logical_id in self._overrides and name in self._overrides[logical_id]:
            return self._overrides[logical_id][name]
        kind = self._resources[logical_id]["Type"]
        ref, arn = _PHYSICAL.get(kind, lambda i: (i, f"arn:{kind}:{i}"))(logical_id)
        if name == "Ref":
            return ref
        if name == "Arn":
            return arn
        raise KeyError(f"{logical_id}.{name}")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                return PSEUDO[name] if name in PSEUDO else self.attribute(name, "Ref")
            if set(value) == {"Fn::GetAtt"}:
                logical_id, name = value["Fn::GetAtt"]
                return self.attribute(logical_id, name)
            if set(value) == {"Fn::Join"}:
                separator, parts = value["Fn::Join"]
                return separator.join(str(self(part)) for part in parts)
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value


@dataclass(frozen=True)
class Request:
    """One request as IAM sees it: who (``principal``: {"Service": ...} or {"AWS": ARN};
    None for an identity policy), what, on which resource, with which context keys."""

    action: str
    resource: str
    principal: Mapping[str, str] | None = None
    context: Mapping[str, str] = field(default_factory=dict)


def listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def glob(pattern: str, text: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(pattern))
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.fullmatch(regex, text, flags | re.DOTALL) is not None


def _principal_matches(statement: Mapping[str, Any], principal: Mapping[str, str] | None) -> bool:
    if principal is None:  # an identity policy: its statements have no Principal
        return "Principal" not in statement and "NotPrincipal" not in statement
    given = statement.get("Principal")
    if given == "*" or (isinstance(given, Mapping) and given.get("AWS") == "*"):
        return True
    if not isinstance(given, Mapping):
        return False
    return any(principal.get(kind) in listed(values) for kind, values in given.items())


def _condition_holds(operator: str, key: str, values: Any, context: Mapping[str, str]) -> bool:
    present = {k.lower(): v for k, v in context.items()}
    actual = present.get(key.lower())
    wanted = [str(v) for v in listed(values)]
    if operator == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    base = operator.removesuffix("IfExists")
    if actual is None:
        return base.endswith(("NotEquals", "NotLike")) or operator.endswith("IfExists")
    if base in ("StringEquals", "ArnEquals"):
        return str(actual) in wanted
    if base in ("StringNotEquals", "ArnNotEquals"):
        return str(actual) not in wanted
    if base in ("StringLike", "ArnLike"):
        return any(glob(w, str(actual)) for w in wanted)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(glob(w, str(actual)) for w in wanted)
    if base == "Bool":
        return str(actual).lower() in [w.lower() for w in wanted]
    raise NotImplementedError(operator)


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    if not _principal_matches(statement, request.principal):
        return False
    action_matches = [
        glob(a, request.action, case_sensitive=False)
        for a in listed(statement.get("Action", statement.get("NotAction")))
    ]
    if any(action_matches) != ("Action" in statement):
        return False
    if "Resource" in statement:
        if not any(glob(r, request.resource) for r in listed(statement["Resource"])):
            return False
    elif any(glob(r, request.resource) for r in listed(statement["NotResource"])):
        return False
    return all(
        _condition_holds(operator, key, values, request.context)
        for operator, keys in statement.get("Condition", {}).items()
        for key, values in keys.items()
    )


def decide(statements: Iterable[Mapping[str, Any]], request: Request) -> str:
    """Allow, Deny (explicit) or ImplicitDeny, by IAM's evaluation of these statements."""
    effects = {s["Effect"] for s in statements if applies(s, request)}
    if "Deny" in effects:
        return DENY
    return ALLOW if "Allow" in effects else IMPLICIT_DENY


def resources_of(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}

"""CloudFormation custom resource: API Gateway's account-wide CloudWatch Logs role, set only
when the account has none.

API Gateway refuses a stage with access logging until the account (per region) names a
role it may use to write logs ("CloudWatch Logs role ARN must be set in account
settings to enable logging"). That setting is shared by every API of the account, so:

* Create / Update: if ``cloudwatchRoleArn`` is already set, leave it (another stack or
  the console owns it); otherwise set it to ``RoleArn``. A role created moments ago may
  not be usable by API Gateway yet (IAM is eventually consistent): retried for a while.
* Delete: nothing. Other APIs of the account may log through the role by now.

Runs on the Lambda Python runtime with its own boto3; the answer to CloudFormation is a
PUT of a JSON document to the pre-signed ``ResponseURL``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

PHYSICAL_ID = "api-gateway-account-cloudwatch-role"
# IAM propagation of a new role to API Gateway takes seconds, rarely a minute or two.
RETRY_FOR_S = 120.0
RETRY_PAUSE_S = 5.0


def handler(event: dict[str, Any], context: Any, *, client: Any = None) -> None:
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            if client is None:
                import boto3

                client = boto3.client("apigateway")
            data = ensure_role(client, event["ResourceProperties"]["RoleArn"])
    except Exception as exc:  # noqa: BLE001 - every failure is reported to CloudFormation
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:500]
    respond(event, status=status, reason=reason, data=data, log_stream=_log_stream(context))


def ensure_role(
    client: Any,
    role_arn: str,
    *,
    retry_for_s: float = RETRY_FOR_S,
    pause_s: float = RETRY_PAUSE_S,
    sleep: Any = time.sleep,
) -> dict[str, str]:
    """``{"RoleArn": <the account's role>, "Set": "true"|"false"}``."""
    current = client.get_account().get("cloudwatchRoleArn")
    if current:
        return {"RoleArn": current, "Set": "false"}
    waited = 0.0
    while True:
        try:
            client.update_account(
                patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
            )
            return {"RoleArn": role_arn, "Set": "true"}
        except client.exceptions.BadRequestException:
            # "The role ARN does not have required permissions set to API Gateway": the
            # new role has not reached API Gateway yet.
            if waited >= retry_for_s:
                raise
            sleep(pause_s)
            waited += pause_s


def respond(
    event: dict[str, Any], *, status: str, reason: str, data: dict[str, str], log_stream: str
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"see CloudWatch log stream {log_stream}",
            "PhysicalResourceId": PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        answer.read()


def _log_stream(context: Any) -> str:
    return str(getattr(context, "log_stream_name", "") or "unknown")

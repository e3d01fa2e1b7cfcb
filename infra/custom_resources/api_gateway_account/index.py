"""CloudFormation custom resource: API Gateway's account-wide CloudWatch Logs role, set only
when the account has none.

API Gateway refuses a stage with access logging until the account (per region) names a
role it may use to write logs ("CloudWatch Logs role ARN must be set in account
settings to enable logging"). That setting is shared by every API of the account, so:

* Create / Update: if ``cloudwatchRoleArn`` is already set, leave it (another stack or
  the console owns it); otherwise make the role ``RoleArn`` names if the account has no
  such role yet (``RoleName`` under ``RolePath``, trusting API Gateway, with AWS's
  managed policy ``PolicyArn``), and set it. One role per account, whatever the number of
  stacks, and none at all where the account already names one.
* Delete: nothing. Other APIs of the account may log through the role by now.

IAM is eventually consistent: the role created moments ago may not be usable by API
Gateway yet (``BadRequestException``), and this function's own policy, created in the
same deployment, may not be in force yet (``AccessDeniedException``). Both are retried,
but only for as long as the function can still answer CloudFormation: every API call is
bounded (connect and read timeouts, two attempts) and no attempt starts that could not
end before the function's own timeout, less the time to answer. A function that never
answers leaves CloudFormation waiting for the custom resource's ServiceTimeout (an hour
by default: the stack sets it much shorter, infra/account_logging.py).

Runs on the Lambda Python runtime with its own boto3; the answer to CloudFormation is a
PUT of a JSON document to the pre-signed ``ResponseURL``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

PHYSICAL_ID = "api-gateway-account-cloudwatch-role"
# The function's timeout (infra/account_logging.py); the handler plans within the time
# Lambda says remains, this when it cannot ask (a test without a context).
FUNCTION_TIMEOUT_S = 180
# botocore's defaults (60 s to connect, 60 s to read, legacy retries) let one call outlast
# the whole function. Each call here: at most MAX_ATTEMPTS attempts of CONNECT + READ
# seconds, with standard mode's backoff (under a second before the second attempt).
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 2
CALL_BOUND_S = MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 1.0
# The answer's PUT to CloudFormation's pre-signed URL: a custom resource that never
# answers holds the stack until the ServiceTimeout, so a failed PUT (a connection reset,
# a 5xx of S3 behind the URL) is tried again, RESPOND_ATTEMPTS times in all.
RESPOND_ATTEMPT_TIMEOUT_S = 5.0
RESPOND_ATTEMPTS = 3
RESPOND_PAUSE_S = 1.0
RESPOND_TIMEOUT_S = RESPOND_ATTEMPTS * (RESPOND_ATTEMPT_TIMEOUT_S + RESPOND_PAUSE_S)
# IAM propagation of a new role or policy takes seconds, rarely a minute or two.
RETRY_PAUSE_S = 5.0
# Error codes of IAM's propagation delay: the new role not usable by API Gateway yet, this
# function's own new permissions not in force yet.
PROPAGATION_ERRORS = frozenset({"BadRequestException", "AccessDeniedException", "AccessDenied"})


def client_config() -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )


def handler(
    event: dict[str, Any],
    context: Any,
    *,
    client: Any = None,
    iam: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    started = clock()
    remaining_s = _remaining_s(context)
    # The last moment an API call may start: it ends within CALL_BOUND_S, and the answer
    # to CloudFormation within RESPOND_TIMEOUT_S more, before Lambda stops the function.
    deadline = started + remaining_s - RESPOND_TIMEOUT_S - CALL_BOUND_S - 1.0
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            if client is None:
                import boto3

                client = boto3.client("apigateway", config=client_config())
            wanted = event["ResourceProperties"]
            data = ensure_role(
                client,
                wanted["RoleArn"],
                deadline=deadline,
                sleep=sleep,
                clock=clock,
                make_role=lambda: make_role(iam or _iam(), wanted),
            )
    except Exception as exc:  # noqa: BLE001 - every failure is reported to CloudFormation
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:500]
    respond(
        event,
        status=status,
        reason=reason,
        data=data,
        log_stream=_log_stream(context),
        sleep=sleep,
    )


def _iam() -> Any:
    import boto3

    return boto3.client("iam", config=client_config())


def make_role(iam: Any, wanted: dict[str, str]) -> None:
    """The role ``wanted`` names, made unless the account has it (another stack's)."""
    try:
        iam.get_role(RoleName=wanted["RoleName"])
        return
    except Exception as exc:
        if _error_code(exc) != "NoSuchEntity":
            raise
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        iam.create_role(
            Path=wanted["RolePath"],
            RoleName=wanted["RoleName"],
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="API Gateway account setting: writes the access logs of this "
            "account's APIs (made by an Opower gateway stack; kept: the setting names it)",
        )
    except Exception as exc:
        if _error_code(exc) != "EntityAlreadyExists":  # another stack, at the same moment
            raise
    iam.attach_role_policy(RoleName=wanted["RoleName"], PolicyArn=wanted["PolicyArn"])


def ensure_role(
    client: Any,
    role_arn: str,
    *,
    deadline: float,
    pause_s: float = RETRY_PAUSE_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    make_role: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """``{"RoleArn": <the account's role>, "Set": "true"|"false"}``: the account's role
    left as it is, or ``role_arn`` made (``make_role``) and set; IAM's propagation
    errors retried every ``pause_s`` while a new attempt can start before ``deadline``."""

    def retried(call: Callable[[], Any]) -> Any:
        while True:
            try:
                return call()
            except Exception as exc:
                if _error_code(exc) not in PROPAGATION_ERRORS or clock() + pause_s > deadline:
                    raise
                sleep(pause_s)

    current = retried(client.get_account).get("cloudwatchRoleArn")
    if current:
        return {"RoleArn": current, "Set": "false"}
    retried(make_role)
    retried(
        lambda: client.update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
        )
    )
    return {"RoleArn": role_arn, "Set": "true"}


def respond(
    event: dict[str, Any],
    *,
    status: str,
    reason: str,
    data: dict[str, str],
    log_stream: str,
    sleep: Callable[[float], None] = time.sleep,
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
    for attempt in range(1, RESPOND_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=RESPOND_ATTEMPT_TIMEOUT_S
            ) as answer:
                answer.read()
            return
        except OSError:  # URLError, HTTPError (a 5xx), a reset or a timeout
            if attempt == RESPOND_ATTEMPTS:
                raise
            sleep(RESPOND_PAUSE_S * attempt)


def _error_code(exc: Exception) -> str:
    """A botocore ClientError's code (modeled or not), else the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def _remaining_s(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else float(FUNCTION_TIMEOUT_S)


def _log_stream(context: Any) -> str:
    return str(getattr(context, "log_stream_name", "") or "unknown")

"""The account-role custom resource's function, against moto server's API Gateway and a
real HTTP endpoint standing in for CloudFormation's pre-signed response URL."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.custom_resources.api_gateway_account import index
from local.aws import EmbeddedAws

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/opower-gateway/ApiGatewayCloudWatchLogs"
POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
MOTO_POLICY = "arn:aws:iam::123456789012:policy/PushToCloudWatchLogsStandIn"


class _Responses(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Responses)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/presigned", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def _event(kind: str, url: str, policy: str = POLICY) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
        "RequestId": "r-1",
        "LogicalResourceId": "ApiGatewayAccount",
        "ResourceProperties": {
            "RoleArn": ROLE,
            "RolePath": "/opower-gateway/",
            "RoleName": ROLE.rsplit("/", 1)[1],
            "PolicyArn": policy,
        },
    }


def _clear(client: Any) -> None:
    client.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}]
    )


def test_a_fresh_account_gets_our_role(
    embedded_aws: EmbeddedAws, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = cloudformation
    client, iam = boto3.client("apigateway"), boto3.client("iam")
    _clear(client)
    _forget_role(iam)

    index.handler(_event("Create", url, MOTO_POLICY), None, client=client, iam=iam)

    assert client.get_account()["cloudwatchRoleArn"] == ROLE
    assert received[-1]["Status"] == "SUCCESS"
    assert received[-1]["Data"] == {"RoleArn": ROLE, "Set": "true"}
    assert received[-1]["PhysicalResourceId"] == index.PHYSICAL_ID
    # the role made, trusting API Gateway, with AWS's managed policy for it
    role = iam.get_role(RoleName="ApiGatewayCloudWatchLogs")["Role"]
    assert (role["Arn"], role["Path"]) == (ROLE, "/opower-gateway/")
    assert "apigateway.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])
    attached = iam.list_attached_role_policies(RoleName="ApiGatewayCloudWatchLogs")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [MOTO_POLICY]


def test_one_role_for_the_account_however_many_stacks(
    embedded_aws: EmbeddedAws, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    # #35: every stack made a role of its own, used or not, and kept it for ever.
    url, received = cloudformation
    client, iam = boto3.client("apigateway"), boto3.client("iam")
    _clear(client)
    _forget_role(iam)

    for _ in range(3):  # three stacks of the account (UAT, production, another company)
        index.handler(_event("Create", url, MOTO_POLICY), None, client=client, iam=iam)
    _clear(client)  # the setting emptied by hand: the role is there, and used again
    index.handler(_event("Update", url, MOTO_POLICY), None, client=client, iam=iam)

    roles = iam.list_roles(PathPrefix="/opower-gateway/")["Roles"]
    assert [r["RoleName"] for r in roles] == ["ApiGatewayCloudWatchLogs"]
    assert client.get_account()["cloudwatchRoleArn"] == ROLE
    assert [r["Data"]["Set"] for r in received] == ["true", "false", "false", "true"]


def test_an_account_naming_another_role_gets_none_of_ours(
    embedded_aws: EmbeddedAws, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = cloudformation
    client, iam = boto3.client("apigateway"), boto3.client("iam")
    _forget_role(iam)
    theirs = "arn:aws:iam::123456789012:role/theirs"
    client.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}]
    )

    index.handler(_event("Create", url, MOTO_POLICY), None, client=client, iam=iam)

    assert iam.list_roles(PathPrefix="/opower-gateway/")["Roles"] == []


def _forget_role(iam: Any) -> None:
    """No role of ours yet (the session's moto server is shared by the tests), and the
    policy it is given: a stand-in for AWS's managed one, which moto loads only with
    MOTO_IAM_LOAD_MANAGED_POLICIES (the stack's is AWS's: test_aws_behavior.py)."""
    name = "ApiGatewayCloudWatchLogs"
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.detach_role_policy(RoleName=name, PolicyArn=MOTO_POLICY)
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_role(RoleName=name)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(PolicyName=MOTO_POLICY.rsplit("/", 1)[1], PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
        ))  # fmt: skip


class _HasRole:
    """IAM with our role already made (another stack's): nothing to make."""

    def get_role(self, RoleName: str) -> dict[str, Any]:
        return {"Role": {"RoleName": RoleName}}


def test_an_account_with_a_role_keeps_it_and_delete_leaves_it(
    embedded_aws: EmbeddedAws, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = cloudformation
    client = boto3.client("apigateway")
    theirs = "arn:aws:iam::123456789012:role/theirs"
    client.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}]
    )

    index.handler(_event("Update", url), None, client=client)
    index.handler(_event("Delete", url), None, client=client)

    assert client.get_account()["cloudwatchRoleArn"] == theirs
    assert [r["Status"] for r in received] == ["SUCCESS", "SUCCESS"]
    assert received[0]["Data"] == {"RoleArn": theirs, "Set": "false"}


class _NotYetUsable:
    """API Gateway refusing a role IAM has not propagated yet, twice, then accepting it."""

    class exceptions:
        class BadRequestException(Exception):
            pass

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.role = ""

    def get_account(self) -> dict[str, str]:
        return {"cloudwatchRoleArn": self.role} if self.role else {}

    def update_account(self, patchOperations: list[dict[str, str]]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise self.exceptions.BadRequestException("role not usable yet")
        self.role = patchOperations[0]["value"]


class _Clock:
    """Time that passes only when slept, or when a call takes it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_a_new_role_is_retried_until_api_gateway_accepts_it_then_given_up() -> None:
    clock = _Clock()
    client = _NotYetUsable(refusals=2)

    done = index.ensure_role(client, ROLE, deadline=clock() + 60, sleep=clock.sleep, clock=clock)
    assert done["Set"] == "true"
    assert clock.pauses == [index.RETRY_PAUSE_S] * 2

    clock = _Clock()
    with pytest.raises(_NotYetUsable.exceptions.BadRequestException):
        index.ensure_role(_NotYetUsable(refusals=99), ROLE, deadline=clock() + 10, pause_s=5,
                          sleep=clock.sleep, clock=clock)  # fmt: skip
    assert clock.pauses == [5, 5]  # no attempt starts after the deadline


def _denied(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, operation
    )


def test_its_own_new_policy_not_yet_in_force_is_retried() -> None:
    """The function's policy (apigateway:GET/PATCH, iam:PassRole) is created in the same
    deployment: IAM is eventually consistent ("Changes that I make are not always
    immediately visible", IAM troubleshooting), so the first calls may be denied."""
    clock = _Clock()

    class NewlyAllowed(_NotYetUsable):
        denials = 2

        def get_account(self) -> dict[str, str]:
            if self.denials:
                self.denials -= 1
                raise _denied("GetAccount")
            return super().get_account()

    client = NewlyAllowed(refusals=1)
    done = index.ensure_role(client, ROLE, deadline=clock() + 60, sleep=clock.sleep, clock=clock)

    assert done == {"RoleArn": ROLE, "Set": "true"}
    assert len(clock.pauses) == 3  # two denials, one role not yet usable


def test_other_errors_are_not_retried() -> None:
    class Throttled(_NotYetUsable):
        def get_account(self) -> dict[str, str]:
            raise ClientError({"Error": {"Code": "UnrecognizedClientException"}}, "GetAccount")

    clock = _Clock()
    with pytest.raises(ClientError):
        index.ensure_role(Throttled(0), ROLE, deadline=clock() + 60, sleep=clock.sleep, clock=clock)
    assert clock.pauses == []


class _Context:
    log_stream_name = "2026/12/01/[$LATEST]abc"

    def __init__(self, clock: _Clock, timeout_s: float) -> None:
        self._clock = clock
        self._ends = clock() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._ends - self._clock()) * 1000)


def test_cloudformation_is_answered_before_the_function_times_out(
    cloudformation: tuple[str, list[dict[str, Any]]],
) -> None:
    """Refused for ever (a role API Gateway never accepts), the function still answers
    FAILED with time to spare: retries stop when a bounded call and the answer would no
    longer fit in the time Lambda says remains."""
    url, received = cloudformation
    clock = _Clock()
    context = _Context(clock, index.FUNCTION_TIMEOUT_S)

    class Slow(_NotYetUsable):
        """Each call takes as long as a call may (timeouts and retries exhausted)."""

        def update_account(self, patchOperations: list[dict[str, str]]) -> None:
            clock.now += index.CALL_BOUND_S
            super().update_account(patchOperations)

    index.handler(_event("Create", url), context, client=Slow(refusals=10**6), iam=_HasRole(),
                  sleep=clock.sleep, clock=clock)  # fmt: skip

    assert received[-1]["Status"] == "FAILED"
    assert "BadRequestException" in received[-1]["Reason"]
    assert clock.pauses  # it did retry
    left_s = context.get_remaining_time_in_millis() / 1000
    assert left_s >= index.RESPOND_TIMEOUT_S


def test_a_silent_api_gateway_is_given_up_within_the_calls_bound(
    cloudformation: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler's own client: connect and read timeouts and a bounded number of
    attempts (botocore's defaults, 60 s each and legacy retries, would outlast the
    function). Here an endpoint that accepts and never answers, with the bounds scaled
    down."""
    url, received = cloudformation
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(
        target=lambda: [accepted.append(silent.accept()[0]) for _ in range(5)], daemon=True
    ).start()
    monkeypatch.setattr(index, "CONNECT_TIMEOUT_S", 0.5, raising=False)
    monkeypatch.setattr(index, "READ_TIMEOUT_S", 0.5, raising=False)
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_API_GATEWAY", f"http://127.0.0.1:{silent.getsockname()[1]}"
    )
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    worker = threading.Thread(target=index.handler, args=(_event("Create", url), None), daemon=True)
    started = time.monotonic()
    try:
        worker.start()
        worker.join(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        for connection in accepted:
            connection.close()

    assert not worker.is_alive(), "the handler's client waited on a silent endpoint"
    assert elapsed < index.MAX_ATTEMPTS * 1.0 + 3
    assert received[-1]["Status"] == "FAILED"
    assert "timeout" in received[-1]["Reason"].lower()


def test_a_failure_is_reported_to_cloudformation_not_raised(
    cloudformation: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = cloudformation

    class Broken:
        def get_account(self) -> None:
            raise RuntimeError("AccessDenied")

    index.handler(_event("Create", url), None, client=Broken())

    assert received[-1]["Status"] == "FAILED"
    assert "AccessDenied" in received[-1]["Reason"]


def test_the_answer_to_cloudformation_is_tried_again_when_its_put_fails() -> None:
    # A custom resource that never answers holds the stack until its ServiceTimeout:
    # the pre-signed URL answering 503 (S3 behind it), or a dropped connection, is retried.
    class Flaky(_Responses):
        failures = 2

        def do_PUT(self) -> None:
            if Flaky.failures:
                Flaky.failures -= 1
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_PUT()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pauses: list[float] = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/presigned"
        index.handler(_event("Delete", url), None, sleep=pauses.append)
    finally:
        server.shutdown()

    assert [r["Status"] for r in server.received] == ["SUCCESS"]  # type: ignore[attr-defined]
    assert pauses == [index.RESPOND_PAUSE_S, 2 * index.RESPOND_PAUSE_S]


def test_an_answer_that_cannot_be_delivered_fails_after_its_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index, "RESPOND_ATTEMPT_TIMEOUT_S", 0.2)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    pauses: list[float] = []
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/presigned"
        with pytest.raises(OSError, match="timed out"):
            index.respond(
                _event("Delete", url), status="SUCCESS", reason="", data={}, log_stream="s",
                sleep=pauses.append,
            )  # fmt: skip
    finally:
        silent.close()
    assert len(pauses) == index.RESPOND_ATTEMPTS - 1

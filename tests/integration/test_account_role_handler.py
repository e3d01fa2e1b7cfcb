"""The account-role custom resource's function, against moto server's API Gateway and a
real HTTP endpoint standing in for CloudFormation's pre-signed response URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from infra.custom_resources.api_gateway_account import index
from local.aws import EmbeddedAws

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/ours"


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


def _event(kind: str, url: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
        "RequestId": "r-1",
        "LogicalResourceId": "ApiGatewayAccount",
        "ResourceProperties": {"RoleArn": ROLE},
    }


def _clear(client: Any) -> None:
    client.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}]
    )


def test_a_fresh_account_gets_our_role(
    embedded_aws: EmbeddedAws, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = cloudformation
    client = boto3.client("apigateway")
    _clear(client)

    index.handler(_event("Create", url), None, client=client)

    assert client.get_account()["cloudwatchRoleArn"] == ROLE
    assert received[-1]["Status"] == "SUCCESS"
    assert received[-1]["Data"] == {"RoleArn": ROLE, "Set": "true"}
    assert received[-1]["PhysicalResourceId"] == index.PHYSICAL_ID


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


def test_a_new_role_is_retried_until_api_gateway_accepts_it_then_given_up() -> None:
    pauses: list[float] = []
    client = _NotYetUsable(refusals=2)

    assert index.ensure_role(client, ROLE, sleep=pauses.append)["Set"] == "true"
    assert pauses == [index.RETRY_PAUSE_S] * 2

    with pytest.raises(_NotYetUsable.exceptions.BadRequestException):
        index.ensure_role(_NotYetUsable(refusals=99), ROLE, retry_for_s=10, pause_s=5,
                          sleep=lambda s: None)  # fmt: skip


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

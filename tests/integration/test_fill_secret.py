"""`make fill-secret` against moto server: the stack's output names the secret, the values
come from the prompts (never argv), and nothing but the ARN is printed."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from infra.fill_secret import FillSecretError, fill
from local.aws import EmbeddedAws
from tests import leakcheck

pytestmark = pytest.mark.integration


def _stack_with_secret(name: str) -> str:
    secret = boto3.client("secretsmanager").create_secret(Name=f"opower-{name}")["ARN"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"OpowerSecretArn": {"Value": secret}},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return str(secret)


def test_the_credentials_go_into_the_stacks_secret(embedded_aws: EmbeddedAws) -> None:
    name = f"Gw{uuid.uuid4().hex[:6]}"
    arn = _stack_with_secret(name)
    leakcheck.register_secret("s3cr3t-value")
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return " client-1 "

    stored = fill(
        name,
        cloudformation=boto3.client("cloudformation"),
        secretsmanager=boto3.client("secretsmanager"),
        ask=ask,
        ask_secret=lambda prompt: "s3cr3t-value",
    )

    assert stored == arn
    value = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    assert json.loads(value) == {"client_id": "client-1", "client_secret": "s3cr3t-value"}
    assert prompts == ["Opower client_id: "]


def test_an_unknown_stack_or_an_empty_value_is_refused(embedded_aws: EmbeddedAws) -> None:
    clients = {
        "cloudformation": boto3.client("cloudformation"),
        "secretsmanager": boto3.client("secretsmanager"),
    }
    with pytest.raises(FillSecretError, match="not found"):
        fill("NoSuchStack", **clients, ask=lambda p: "a", ask_secret=lambda p: "b")

    name = f"Gw{uuid.uuid4().hex[:6]}"
    _stack_with_secret(name)
    with pytest.raises(FillSecretError, match="client_secret"):
        fill(name, **clients, ask=lambda p: "a", ask_secret=lambda p: "  ")

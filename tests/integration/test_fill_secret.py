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


def test_a_secret_imported_by_name_is_filled_through_the_stacks_wildcard_output(
    embedded_aws: EmbeddedAws,
) -> None:
    """With opower_secret_name the stack's OpowerSecretArn output is the IAM pattern of
    the secret, ``...:secret:NAME-??????`` (the six characters Secrets Manager appends are
    unknown at synth), which is no SecretId: PutSecretValue takes "the ARN or name of the
    secret" ("PutSecretValue", SecretId), and a partial ARN or a pattern would be a
    ResourceNotFoundException or ValidationException. fill-secret resolves it to the
    secret's complete ARN (DescribeSecret by name) and fills that one."""
    from aws_cdk.assertions import Template

    from infra.app import create_app
    from tests.infrastructure.conftest import SKIP_BUNDLING
    from tests.infrastructure.policy_eval import Resolver

    name = f"Gw{uuid.uuid4().hex[:6]}"
    secret_name = f"opower/{name}"
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=secret_name)["ARN"]
    _, gateway = create_app(context={**SKIP_BUNDLING, "opower_secret_name": secret_name,
                                     "waf_enabled": "false"})  # fmt: skip
    template = Template.from_stack(gateway).to_json()
    output = Resolver(template)(template["Outputs"]["OpowerSecretArn"]["Value"])
    assert output.endswith(f":secret:{secret_name}-??????")
    region, account = arn.split(":")[3:5]
    output = output.replace(":us-east-1:123456789012:", f":{region}:{account}:")
    stack = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
             "Outputs": {"OpowerSecretArn": {"Value": output}}}  # fmt: skip
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(stack))
    leakcheck.register_secret("n4me-s3cret")

    stored = fill(
        name,
        cloudformation=boto3.client("cloudformation"),
        secretsmanager=secrets,
        ask=lambda prompt: "client-2",
        ask_secret=lambda prompt: "n4me-s3cret",
    )

    assert stored == arn
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert value == {"client_id": "client-2", "client_secret": "n4me-s3cret"}


def test_a_wildcard_output_without_its_secret_is_an_error_not_a_traceback(
    embedded_aws: EmbeddedAws,
) -> None:
    name = f"Gw{uuid.uuid4().hex[:6]}"
    region = embedded_aws.region
    missing = f"arn:aws:secretsmanager:{region}:123456789012:secret:opower/gone-{name}-??????"
    stack = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
             "Outputs": {"OpowerSecretArn": {"Value": missing}}}  # fmt: skip
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(stack))

    with pytest.raises(FillSecretError, match=f"opower/gone-{name}"):
        fill(
            name,
            cloudformation=boto3.client("cloudformation"),
            secretsmanager=boto3.client("secretsmanager"),
            ask=lambda prompt: "a",
            ask_secret=lambda prompt: "b",
        )

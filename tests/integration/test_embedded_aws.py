"""The embedded AWS endpoint serves DynamoDB, Secrets Manager and KMS to plain boto3."""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest

from local.aws import EmbeddedAws

pytestmark = pytest.mark.integration


def test_boto3_reaches_it_through_the_environment_alone(embedded_aws: EmbeddedAws) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == embedded_aws.endpoint_url
    assert embedded_aws.endpoint_url.startswith("http://127.0.0.1:")
    name = f"t-{uuid.uuid4().hex[:6]}"

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=json.dumps({"k": "v"}))
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]

    assert dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["pk"] == {"S": "a"}
    assert json.loads(secrets.get_secret_value(SecretId=name)["SecretString"]) == {"k": "v"}
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_second_server_gets_its_own_free_port_and_stops(embedded_aws: EmbeddedAws) -> None:
    with EmbeddedAws() as aws:
        assert aws.endpoint_url != embedded_aws.endpoint_url
        client = boto3.client("dynamodb", endpoint_url=aws.endpoint_url)
        assert isinstance(client.list_tables()["TableNames"], list)

    with pytest.raises(RuntimeError):
        _ = aws.endpoint_url


def test_a_paused_service_answers_nothing_until_resumed() -> None:
    from botocore.config import Config
    from botocore.exceptions import ReadTimeoutError

    with EmbeddedAws() as aws:
        client = boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint_url,
            config=Config(read_timeout=0.5, retries={"max_attempts": 1}),
        )
        aws.set_paused(["dynamodb"])
        with pytest.raises(ReadTimeoutError):
            client.list_tables()
        aws.set_paused([])

        assert isinstance(client.list_tables()["TableNames"], list)

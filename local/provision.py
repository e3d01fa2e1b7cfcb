"""Create the gateway's AWS resources on an endpoint that has none (the embedded moto).

The resources mirror the stack's: one table keyed by ``pk`` with TTL on ``ttl``, the
response cache's table keyed by ``pk`` and ``sk``, a symmetric KMS key, and the Opower
secret. The deployed stack creates them with CDK.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_KEY = "pk"
TTL_ATTRIBUTE = "ttl"
CACHE_SORT_KEY = "sk"


@dataclass(frozen=True)
class Provisioned:
    table_name: str
    kms_key_arn: str
    secret_arn: str


def create_table(table_name: str, *, client: DynamoDBClient | None = None) -> None:
    dynamodb = client or boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": TABLE_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": TABLE_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def create_cache_table(table_name: str, *, client: DynamoDBClient | None = None) -> None:
    """The response cache's shared tier: ``pk`` (customer) and ``sk`` (request), TTL."""
    dynamodb = client or boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": TABLE_KEY, "KeyType": "HASH"},
            {"AttributeName": CACHE_SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": TABLE_KEY, "AttributeType": "S"},
            {"AttributeName": CACHE_SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def create_key(description: str) -> str:
    return boto3.client("kms").create_key(Description=description)["KeyMetadata"]["Arn"]


def put_secret(name: str, value: dict[str, str]) -> str:
    """Create the secret or give it a new value (as an operator's rotation would)."""
    secrets = boto3.client("secretsmanager")
    try:
        return secrets.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    except secrets.exceptions.ResourceExistsException:
        return secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))["ARN"]


def provision(*, table_name: str, secret_name: str, credentials: dict[str, str]) -> Provisioned:
    create_table(table_name)
    return Provisioned(
        table_name=table_name,
        kms_key_arn=create_key(f"{table_name} token encryption"),
        secret_arn=put_secret(secret_name, credentials),
    )

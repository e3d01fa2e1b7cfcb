"""The shared state of the fleet: one DynamoDB table and one customer-managed KMS key."""

from __future__ import annotations

import functools

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.nag import acknowledge

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "ttl"
# Exactly the calls of gateway.token.store and gateway.auth.binding: items are addressed
# by key only, so Query and Scan are never needed.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt")
# The response cache's shared tier (gateway.cache.tiers): by key (an entry with the
# customer's markers in one BatchGetItem), the markers set by UpdateItem, and a Query of
# one customer's partition to remove a route's entries after a write or a refusal (the
# proxy only).
CACHE_SORT_KEY = "sk"
CACHE_READ_WRITE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)
# The authorizer puts the accounts answer it looked up for a binding, and deletes the
# older copy when the answer is too large to cache (gateway.cache.answers, store and
# forget): exactly what tests/infrastructure/test_grants.py sees its code call.
CACHE_SEED_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem")


class TokenStore(Construct):
    """Token, lease, binding and budget items, all short-lived and rebuildable.

    One key serves both the table's encryption at rest and the broker's envelope of the
    token: the same two roles need kms:Encrypt/Decrypt on it either way (DynamoDB calls
    KMS as the caller for a customer-managed key), so a second key would add cost and
    grants without separating any principal.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: cdk.RemovalPolicy,
        point_in_time_recovery: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Opower gateway: token store table and the Opower token envelope",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        table = functools.partial(
            self._table,
            removal_policy=removal_policy,
            point_in_time_recovery=point_in_time_recovery,
        )
        self.table = table("Table")
        # The per-customer response cache: customers' Opower answers, under the same key
        # (DynamoDB encrypts every item at rest with it; it caches the table key, so a
        # read is no KMS call of ours), partitioned by customer, expiring by TTL.
        self.cache_table = table("CacheTable", sort_key=CACHE_SORT_KEY)
        if not point_in_time_recovery:
            acknowledge(
                self.table,
                "AwsSolutions-DDB3",
                reason="The table is a cache: every item (token, lease, binding, budget) "
                "expires within minutes and is rebuilt from Opower on a miss, so there is "
                "nothing to restore. Enable with table_point_in_time_recovery=true.",
            )
            acknowledge(
                self.cache_table,
                "AwsSolutions-DDB3",
                reason="The response cache: every item is a copy of an Opower answer kept at "
                "most its freshness plus cache_max_stale_s (36 h by default; a write's "
                "marker two days) and fetched again on a miss, so there is nothing to "
                "restore. Enable with table_point_in_time_recovery=true.",
            )

    def _table(
        self,
        construct_id: str,
        *,
        removal_policy: cdk.RemovalPolicy,
        point_in_time_recovery: bool,
        sort_key: str | None = None,
    ) -> dynamodb.Table:
        """On demand, keyed by ``pk`` (and ``sort_key``), TTL on ``ttl``, under the key."""
        string = dynamodb.AttributeType.STRING
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=sort_key, type=string) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            removal_policy=removal_policy,
        )

    def grant_use(self, grantee: iam.IGrantable) -> None:
        """Read and write items by key, and encrypt/decrypt with the key: nothing else."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(TABLE_ACTIONS), resource_arns=[self.table.table_arn]
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(KEY_ACTIONS), resource_arns=[self.key.key_arn]
        )

    def grant_cache(self, grantee: iam.IGrantable, *, seed_only: bool = False) -> None:
        """The cache table: read, write, invalidate (the proxy), or put and delete by key
        only (the authorizer's accounts seed). The key is granted by ``grant_use``."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(CACHE_SEED_ACTIONS if seed_only else CACHE_READ_WRITE_ACTIONS),
            resource_arns=[self.cache_table.table_arn],
        )

"""The Opower client credentials: an existing secret, imported, or a new empty one."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge

SECRET_TEMPLATE = '{"client_id":"...","client_secret":"..."}'


class OpowerCredentials(Construct):
    """Exposes ``secret_arn`` (for grants) and ``secret_id`` (for the functions).

    A created secret has no value at all: CloudFormation's ``AWS::SecretsManager::Secret``
    without ``SecretString`` or ``GenerateSecretString`` is empty, whereas CDK's ``Secret``
    would generate a random string the broker would send to Opower as a client secret.
    Until an operator runs the command in the ``FillOpowerSecret`` output, the broker
    fails with ``credentials_unavailable`` (a 503), never with a made-up credential.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_arn: str,
        secret_name: str,
        kms_key_arn: str = "",
        removal_policy: cdk.RemovalPolicy,
        output_suffix: str = "",
        description: str = "Opower OAuth client credentials",
        name: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.created = not (secret_arn or secret_name)
        self.kms_key_arn = kms_key_arn
        if secret_arn:
            self.secret_arn = secret_arn
            self.secret_id = secret_arn
        elif secret_name:
            # A name resolves to a partial ARN; the trailing wildcard stands for the random
            # six characters Secrets Manager appends, and matches nothing else.
            imported = secretsmanager.Secret.from_secret_name_v2(self, "Imported", secret_name)
            self.secret_arn = f"{imported.secret_arn}-??????"
            self.secret_id = secret_name
        else:
            # Named (a group's secrets): the functions find it by that name, known at
            # synthesis. CloudFormation deletes a secret without a recovery window, so a
            # stack deleted and deployed again can take the same name at once.
            secret = secretsmanager.CfnSecret(
                self,
                "Secret",
                description=f'{description}: {{"client_id": "...", "client_secret": "..."}}',
                name=name or None,
            )
            secret.apply_removal_policy(removal_policy)
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                reason="Oracle issues the Opower client secret; it cannot be rotated by a "
                "Lambda here. Operators rotate it by put-secret-value (infra/README.md) and "
                "the broker re-reads the secret when Opower answers invalid_client.",
            )
            self.secret_arn = secret.ref
            self.secret_id = name or secret.ref
            cdk.CfnOutput(
                scope,
                f"FillOpowerSecret{output_suffix}",
                description="Run once (with your Opower client credentials) after the first "
                "deploy; or `make fill-secret`"
                + (f" COMPANY={output_suffix}" if output_suffix else ""),
                value=cdk.Fn.join(
                    "",
                    [
                        "aws secretsmanager put-secret-value --secret-id ",
                        secret.ref,
                        f" --secret-string '{SECRET_TEMPLATE}'",
                    ],
                ),
            )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """GetSecretValue only (no DescribeSecret, no listing)."""
        grant_secret_read(grantee, self.secret_arn, kms_key_arn=self.kms_key_arn)


def grant_secret_read(grantee: iam.IGrantable, secret_arn: str, *, kms_key_arn: str = "") -> None:
    """GetSecretValue on one secret; with ``kms_key_arn`` (a secret under a customer-managed
    key), kms:Decrypt on that key through Secrets Manager only.

    Secrets Manager decrypts with the caller's permissions ("Secret encryption and
    decryption in AWS Secrets Manager"): without kms:Decrypt, GetSecretValue of such a
    secret fails with AccessDeniedException. ``kms:ViaService`` keeps the grant from being
    used to decrypt anything outside Secrets Manager of this region.
    """
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["secretsmanager:GetSecretValue"], resource_arns=[secret_arn]
    )
    if kms_key_arn:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[kms_key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{cdk.Aws.REGION}.amazonaws.com"
                    }
                },
            )
        )

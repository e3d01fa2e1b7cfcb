"""`make fill-secret`: store the Opower client credentials in the deployed stack's secret.

The stack creates the secret empty (it never holds a credential); this puts the values
Oracle sent (``client_id``, ``client_secret``) into it as one new version, with the
project's own Python and boto3: no AWS CLI needed. The values are read from the terminal,
the secret without echo; never from the command line (it would stay in the shell's
history and in every process listing) nor from the environment.

    make fill-secret                      # the stack of cdk.json's stack_name
    make fill-secret STACK=OpowerGatewayUat
    make fill-secret COMPANY=NRTH         # one operating company of a group

AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION ...).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

OUTPUT_KEY = "OpowerSecretArn"
# A secret imported by name (opower_secret_name) has no complete ARN at synth: the stack's
# output is its IAM pattern, the name and the six characters Secrets Manager appends as
# wildcards (infra/secrets.py), which PutSecretValue does not take as a SecretId.
NAME_PATTERN_SUFFIX = "-??????"


class FillSecretError(Exception):
    """What went wrong, in one line for the terminal."""


def secret_arn_of(cloudformation: Any, stack_name: str, company: str = "") -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        raise FillSecretError(
            f"stack {stack_name!r} not found in this account and region: deploy it first "
            "(make deploy), or name it with STACK=..."
        ) from exc
    outputs = {o["OutputKey"]: str(o["OutputValue"]) for o in stacks[0].get("Outputs", [])}
    key = OUTPUT_KEY + company
    if key in outputs:
        return outputs[key]
    companies = sorted(k.removeprefix(OUTPUT_KEY) for k in outputs if k.startswith(OUTPUT_KEY))
    if companies and not company:
        raise FillSecretError(
            f"stack {stack_name!r} serves several companies: name one with COMPANY= "
            f"({', '.join(companies)})"
        )
    raise FillSecretError(f"stack {stack_name!r} has no {key} output")


def secret_to_fill(secretsmanager: Any, output: str) -> str:
    """The complete ARN of the secret the stack's output names: the output itself, or,
    for a secret imported by name, the ARN of the secret of that name (DescribeSecret)."""
    if not output.endswith(NAME_PATTERN_SUFFIX) or ":secret:" not in output:
        return output
    name = output.removesuffix(NAME_PATTERN_SUFFIX).split(":secret:", 1)[1]
    try:
        return str(secretsmanager.describe_secret(SecretId=name)["ARN"])
    except secretsmanager.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise FillSecretError(
            f"the stack uses the secret named {name!r} (opower_secret_name), which "
            + (
                "does not exist in this account and region: create it, or set AWS_REGION"
                if code == "ResourceNotFoundException"
                else f"could not be looked up ({code}: DescribeSecret is needed)"
            )
        ) from exc


def read_credentials(ask: Callable[[str], str], ask_secret: Callable[[str], str]) -> dict[str, str]:
    client_id = ask("Opower client_id: ").strip()
    client_secret = ask_secret("Opower client_secret (not shown): ").strip()
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        if not value or any(c.isspace() for c in value):
            raise FillSecretError(f"{name} must be non-empty and without spaces")
    return {"client_id": client_id, "client_secret": client_secret}


def fill(
    stack_name: str,
    *,
    company: str = "",
    cloudformation: Any,
    secretsmanager: Any,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
) -> str:
    """Store the credentials; returns the secret's ARN (never the values)."""
    arn = secret_to_fill(secretsmanager, secret_arn_of(cloudformation, stack_name, company))
    credentials = read_credentials(ask, ask_secret)
    try:
        secretsmanager.put_secret_value(SecretId=arn, SecretString=json.dumps(credentials))
    except secretsmanager.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise FillSecretError(f"could not store a new version of {arn} ({code})") from exc
    return arn


def main(argv: list[str] | None = None) -> int:
    import boto3

    from infra.app import cdk_json_context
    from infra.config import CONTEXT_KEY, GatewayConfig

    default_stack = GatewayConfig.__dataclass_fields__["stack_name"].default
    configured = cdk_json_context().get(CONTEXT_KEY, {}).get("stack_name", default_stack)
    parser = argparse.ArgumentParser(description="Store the Opower client credentials")
    parser.add_argument("--stack", default=configured, help=f"stack name (default {configured})")
    parser.add_argument("--company", default="", help="utility code (a group's stack)")
    args = parser.parse_args(argv)
    try:
        arn = fill(
            args.stack,
            company=args.company,
            cloudformation=boto3.client("cloudformation"),
            secretsmanager=boto3.client("secretsmanager"),
        )
    except FillSecretError as exc:
        print(f"fill-secret: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\nfill-secret: nothing stored", file=sys.stderr)
        return 1
    print(
        f"Stored a new version of {arn}.\n"
        "The functions read it within secret_max_age_s (300 s by default), and at once "
        "when Opower answers invalid_client."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

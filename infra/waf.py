"""AWS WAF in front of the stage: AWS managed rules and a per-IP rate limit."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
RATE_RULE_NAME = "RateLimitPerIp"
RATE_LIMITED_BODY_KEY = "RateLimited"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        # No sampled requests: WAF would keep whole requests, the customer's
        # `Authorization: Bearer <session token>` included, readable for hours.
        cloud_watch_metrics_enabled=True,
        metric_name=name,
        sampled_requests_enabled=False,
    )


class GatewayWaf(Construct):
    """Exposes ``web_acl`` and ``web_acl_name``; associates the ACL with ``stage_arn``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_arn: str,
        rate_limit_per_5min: int,
        metric_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(f"{metric_prefix}-{group}"),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        # One client IP must not be able to spend the utility's whole Opower budget; the
        # refusal speaks the API's error envelope (WAF cannot add the request id).
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name=RATE_RULE_NAME,
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=429,
                            custom_response_body_key=RATE_LIMITED_BODY_KEY,
                        )
                    )
                ),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=rate_limit_per_5min
                    )
                ),
                visibility_config=_visibility(f"{metric_prefix}-{RATE_RULE_NAME}"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=json.dumps(
                        {"error": {"code": "rate_limited", "message": "Too many requests"}}
                    ),
                )
            },
            visibility_config=_visibility(metric_prefix),
        )
        # Ref is "name|id|scope"; the metrics are dimensioned by the generated name.
        self.web_acl_name = cdk.Fn.select(0, cdk.Fn.split("|", self.web_acl.ref))
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

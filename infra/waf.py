"""AWS WAF in front of the stage: AWS managed rules, rate limits per client IP and per
session, and logging with the credentials redacted."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
RATE_RULE_NAME = "RateLimitPerIp"
SESSION_RATE_RULE_NAME = "RateLimitPerSession"
RATE_RULE_NAMES = (RATE_RULE_NAME, SESSION_RATE_RULE_NAME)
# "Baseline rule groups" (AWS WAF): the Common Rule Set's NoUserAgent_HEADER blocks a
# request without a User-Agent and labels it awswaf:managed:aws:core-rule-set:
# NoUserAgent_Header. A browser or app always sends one; a workload's SigV4 call may not
# (Step Functions documents no User-Agent of its apigateway:invoke). The rule counts
# instead, and NO_USER_AGENT_RULE blocks what it labels outside the service API, whose
# callers API Gateway authenticates with IAM before any Lambda runs.
NO_USER_AGENT_MANAGED_RULE = "NoUserAgent_HEADER"
NO_USER_AGENT_LABEL = "awswaf:managed:aws:core-rule-set:NoUserAgent_Header"
NO_USER_AGENT_RULE = "NoUserAgentOutsideServiceApi"
SERVICE_PATH_PART = "/v1/service/"
RATE_LIMITED_BODY_KEY = "RateLimited"
# "Amazon CloudWatch Logs" (AWS WAF developer guide): a log group WAF logs to must be named
# aws-waf-logs-...; redacted headers are matched by name without regard to case.
LOG_GROUP_PREFIX = "aws-waf-logs-"
# Credentials (a session token; a SigV4 signature and STS session token), and the
# customer a service call names (gateway.service): never in the WAF log.
REDACTED_HEADERS = (
    "authorization",
    "cookie",
    "x-amz-security-token",
    "opower-utility-customer-id",
    "opower-account-number",
)
# A service call names its customer in the query (gateway.service): the whole query
# string is redacted too ("AWS::WAFv2::LoggingConfiguration FieldToMatch": QueryString,
# "the part of a URL that appears after a ? character"; no single query argument can be).


def metric_name(prefix: str, rule: str | None = None) -> str:
    """The ``VisibilityConfig.MetricName`` of the web ACL (``rule`` None) or of one rule.

    "Monitoring with Amazon CloudWatch" (AWS WAF): the ``WebACL`` and ``Rule`` dimensions
    of AWS/WAFV2 metrics are these metric names, not the ACL's or the rule's ``Name``;
    alarms and the dashboard take them from here.
    """
    return prefix if rule is None else f"{prefix}-{rule}"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        # No sampled requests: WAF would keep whole requests, the customer's
        # `Authorization: Bearer <session token>` included, readable for hours.
        cloud_watch_metrics_enabled=True,
        metric_name=name,
        sampled_requests_enabled=False,
    )


def _rate_rule(
    name: str, priority: int, metric: str, statement: wafv2.CfnWebACL.RateBasedStatementProperty
) -> wafv2.CfnWebACL.RuleProperty:
    # The refusal speaks the API's error envelope (WAF cannot add the request id).
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=RATE_LIMITED_BODY_KEY,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value="60"),
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Cache-Control", value="private, no-store"
                        ),
                    ],
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=statement),
        visibility_config=_visibility(metric),
    )


def _overrides(group: str) -> list[wafv2.CfnWebACL.RuleActionOverrideProperty] | None:
    if group != "AWSManagedRulesCommonRuleSet":
        return None
    return [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=NO_USER_AGENT_MANAGED_RULE,
            action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
        )
    ]


def _no_user_agent_rule(priority: int, metric: str) -> wafv2.CfnWebACL.RuleProperty:
    """Block what the Common Rule Set labelled as having no User-Agent, unless it is for
    the service API (evaluated after the group: a label is seen only by later rules)."""
    service_path = wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="CONTAINS",
            search_string=SERVICE_PATH_PART,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )
    labelled = wafv2.CfnWebACL.StatementProperty(
        label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
            scope="LABEL", key=NO_USER_AGENT_LABEL
        )
    )
    return wafv2.CfnWebACL.RuleProperty(
        name=NO_USER_AGENT_RULE,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    labelled,
                    wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=service_path)
                    ),
                ]
            )
        ),
        visibility_config=_visibility(metric),
    )


class GatewayWaf(Construct):
    """Exposes ``web_acl``, ``web_acl_metric_name``, ``rule_metric_names`` (rule name to its
    metric name) and ``log_group`` (None without logging); associates the ACL with
    ``stage_arn``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_arn: str,
        rate_limit_per_5min: int,
        rate_limit_per_session_per_5min: int,
        metric_prefix: str,
        logging: bool,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl_metric_name = metric_name(metric_prefix)
        self.rule_metric_names = {
            rule: metric_name(metric_prefix, rule)
            for rule in (*MANAGED_RULE_GROUPS, NO_USER_AGENT_RULE, *RATE_RULE_NAMES)
        }
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=_overrides(group),
                    )
                ),
                visibility_config=_visibility(self.rule_metric_names[group]),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(_no_user_agent_rule(len(rules), self.rule_metric_names[NO_USER_AGENT_RULE]))
        # One client IP must not take more than its share; behind a carrier's NAT many
        # customers share one, hence a generous limit.
        rules.append(
            _rate_rule(
                RATE_RULE_NAME,
                len(rules),
                self.rule_metric_names[RATE_RULE_NAME],
                wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=rate_limit_per_5min
                ),
            )
        )
        # One session (whatever the number of IPs it comes from) must not either. "Rate-based
        # rule aggregation options and keys": requests without the header are not counted
        # by this rule; the per-IP rule above still counts them.
        rules.append(
            _rate_rule(
                SESSION_RATE_RULE_NAME,
                len(rules),
                self.rule_metric_names[SESSION_RATE_RULE_NAME],
                wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="CUSTOM_KEYS",
                    limit=rate_limit_per_session_per_5min,
                    custom_keys=[
                        wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                            header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                                name="authorization",
                                text_transformations=[
                                    wafv2.CfnWebACL.TextTransformationProperty(
                                        priority=0, type="NONE"
                                    )
                                ],
                            )
                        )
                    ],
                ),
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
                        {
                            "error": {
                                "code": "rate_limited",
                                "message": "Too many requests from this client; retry later",
                            }
                        }
                    ),
                )
            },
            visibility_config=_visibility(self.web_acl_metric_name),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.log_group: logs.LogGroup | None = None
        if logging:
            self.log_group = self._logging(log_retention, removal_policy)

    def _logging(
        self, retention: logs.RetentionDays, removal_policy: cdk.RemovalPolicy
    ) -> logs.LogGroup:
        stack = cdk.Stack.of(self)
        # Unique per stack instance (the stack id's UUID): a retained group of a deleted
        # stack never blocks a new one.
        name = cdk.Fn.join(
            "",
            [
                LOG_GROUP_PREFIX,
                stack.stack_name,
                "-",
                cdk.Fn.select(2, cdk.Fn.split("/", stack.stack_id)),
            ],
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=name,
            retention=retention,
            removal_policy=removal_policy,
        )
        # The destination is the log group's ARN without the ":*" suffix.
        destination = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        config = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[destination],
        )
        # CDK renders SingleHeaderProperty's key as "name" where CloudFormation requires
        # "Name" (aws-cdk issues #26127, #36105): the redactions are written raw.
        config.add_property_override(
            "RedactedFields",
            [{"SingleHeader": {"Name": header}} for header in REDACTED_HEADERS]
            + [{"QueryString": {}}],
        )
        config.node.add_dependency(log_group)
        return log_group

"""Alarms on what needs a human, and one dashboard of the API, the broker and the routes."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.waf import RATE_RULE_NAME

PERIOD = cdk.Duration.minutes(5)
# Thresholds: a share of failed requests worth waking someone for, sustained for two
# periods so one bad burst does not page.
SERVER_ERROR_RATE_PERCENT = 5
SERVER_ERROR_MIN_REQUESTS = 20
AUTHORIZER_FAILURES = 5
TOKEN_FETCH_FAILURES = 3
LATENCY_P99_MS = 5000

BROKER_COUNTS = (
    "TokenFetch",
    "TokenFetchFailure",
    "TokenCacheHitMemory",
    "TokenCacheHitDynamoDb",
    "TokenLeaseContention",
    "TokenStoreDegraded",
)
UPSTREAM_COUNTS = ("UpstreamRetry", "BudgetShed")
AUTH_OUTCOMES = ("AuthAllowed", "Auth_unauthorized", "Auth_denied", "Auth_unavailable")
ROUTE_CLASSES = ("2xx", "4xx", "5xx")


class GatewayMonitoring(Construct):
    """Exposes ``alarms``, ``dashboard`` and ``topic`` (None unless requested)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: apigw.Stage,
        proxy: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        route_names: Sequence[str],
        metrics_namespace: str,
        service_name: str,
        web_acl_name: str | None,
        alarm_topic: bool,
        alarm_email: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._namespace = metrics_namespace
        self._service = service_name
        self.topic = self._topic(alarm_email) if alarm_topic else None

        requests = stage.metric_count(period=PERIOD, statistic="Sum")
        server_errors = stage.metric_server_error(period=PERIOD, statistic="Sum")
        latency_p99 = stage.metric_latency(period=PERIOD, statistic="p99")
        error_rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {SERVER_ERROR_MIN_REQUESTS}, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            label="5XX %",
            period=PERIOD,
        )
        authorizer_failures = cloudwatch.MathExpression(
            expression="FILL(errors, 0) + FILL(unavailable, 0)",
            using_metrics={
                "errors": authorizer.metric_errors(period=PERIOD),
                "unavailable": self._count("Auth_unavailable"),
            },
            label="Authorizer errors + unavailable",
            period=PERIOD,
        )
        throttles = cloudwatch.MathExpression(
            expression="FILL(proxy, 0) + FILL(authorizer, 0)",
            using_metrics={
                "proxy": proxy.metric_throttles(period=PERIOD),
                "authorizer": authorizer.metric_throttles(period=PERIOD),
            },
            label="Lambda throttles",
            period=PERIOD,
        )

        self.alarms: list[cloudwatch.Alarm] = [
            self._alarm(
                "ServerErrorRate",
                error_rate,
                threshold=SERVER_ERROR_RATE_PERCENT,
                periods=2,
                description="More than 5% of requests answered 5XX (proxy or gateway).",
            ),
            self._alarm(
                "AuthorizerFailures",
                authorizer_failures,
                threshold=AUTHORIZER_FAILURES,
                periods=1,
                description="The authorizer failed: customers get 503 "
                "(identity provider or Opower unreachable, or a bug).",
            ),
            self._alarm(
                "TokenFetchFailures",
                self._count("TokenFetchFailure"),
                threshold=TOKEN_FETCH_FAILURES,
                periods=1,
                description="Opower's token endpoint refused or failed: check the client "
                "secret (invalid_client) and Opower's status.",
            ),
            self._alarm(
                "LambdaThrottles",
                throttles,
                threshold=1,
                periods=2,
                description="Lambda refused invocations: account or reserved concurrency is "
                "exhausted.",
            ),
            self._alarm(
                "BudgetShedding",
                self._count("BudgetShed"),
                threshold=1,
                periods=2,
                description="Requests were refused to keep within Opower's request budget "
                "for two periods in a row: demand exceeds the utility's Opower limit.",
            ),
            self._alarm(
                "LatencyP99",
                latency_p99,
                threshold=LATENCY_P99_MS,
                periods=3,
                description="p99 latency of the API above 5 s for 15 minutes.",
            ),
        ]
        rate_blocked = None
        if web_acl_name is not None:
            rate_blocked = cloudwatch.Metric(
                namespace="AWS/WAFV2",
                metric_name="BlockedRequests",
                dimensions_map={
                    "WebACL": web_acl_name,
                    "Rule": RATE_RULE_NAME,
                    "Region": cdk.Stack.of(self).region,
                },
                statistic="Sum",
                period=PERIOD,
            )
            self.alarms.append(
                self._alarm(
                    "ClientsRateLimited",
                    rate_blocked,
                    threshold=1,
                    periods=2,
                    description="WAF blocked client IPs over the per-IP rate limit for two "
                    "periods: a misbehaving client or an attack.",
                )
            )
        self.dashboard = self._dashboard(
            requests=requests,
            error_rate=error_rate,
            stage=stage,
            proxy=proxy,
            authorizer=authorizer,
            route_names=route_names,
            rate_blocked=rate_blocked,
        )

    # -- metrics and alarms ------------------------------------------------------------
    def _metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=name,
            dimensions_map={"service": self._service},
            statistic=statistic,
            period=PERIOD,
        )

    def _count(self, name: str) -> cloudwatch.Metric:
        return self._metric(name, "Sum")

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        description: str,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No traffic is not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if self.topic is not None:
            action = cloudwatch_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return alarm

    def _topic(self, alarm_email: str) -> sns.Topic:
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key (its policy
        # cannot admit CloudWatch), hence a key of the topic's own, kept apart from the
        # token store's key so that CloudWatch gains no use of the latter.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Opower gateway: alarm topic",
            enable_key_rotation=True,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    # -- dashboard ---------------------------------------------------------------------
    def _dashboard(
        self,
        *,
        requests: cloudwatch.IMetric,
        error_rate: cloudwatch.IMetric,
        stage: apigw.Stage,
        proxy: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        route_names: Sequence[str],
        rate_blocked: cloudwatch.IMetric | None,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=cdk.Duration.hours(3),
        )
        graph = cloudwatch.GraphWidget
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=3)
        )
        dashboard.add_widgets(
            graph(
                title="API requests and errors",
                left=[
                    requests,
                    stage.metric_client_error(period=PERIOD, statistic="Sum"),
                    stage.metric_server_error(period=PERIOD, statistic="Sum"),
                ],
                right=[error_rate],
            ),
            graph(
                title="API latency (ms)",
                left=[
                    stage.metric_latency(period=PERIOD, statistic=s) for s in ("p50", "p90", "p99")
                ],
                right=[stage.metric_integration_latency(period=PERIOD, statistic="p99")],
            ),
            graph(
                title="Lambda errors and throttles",
                left=[
                    fn.metric_errors(period=PERIOD, label=f"{label} errors")
                    for fn, label in ((proxy, "proxy"), (authorizer, "authorizer"))
                ],
                right=[
                    fn.metric_throttles(period=PERIOD, label=f"{label} throttles")
                    for fn, label in ((proxy, "proxy"), (authorizer, "authorizer"))
                ],
            ),
        )
        dashboard.add_widgets(
            graph(title="Token broker", left=[self._count(n) for n in BROKER_COUNTS]),
            graph(
                title="Opower latency (ms)",
                left=[
                    self._metric(n, s)
                    for n in ("TokenEndpointLatency", "UpstreamLatency")
                    for s in ("p50", "p99")
                ],
            ),
            graph(
                title="Upstream retries, budget shedding, WAF rate blocks",
                left=[self._count(n) for n in UPSTREAM_COUNTS]
                + ([rate_blocked] if rate_blocked is not None else []),
            ),
        )
        dashboard.add_widgets(
            graph(title="Authorizer outcomes", left=[self._count(n) for n in AUTH_OUTCOMES]),
            *[
                graph(
                    title=f"Route {name}",
                    left=[self._count(f"Route_{name}_{c}") for c in ROUTE_CLASSES],
                    width=6,
                )
                for name in route_names
            ],
        )
        return dashboard

"""Alarms on what needs a human, and one dashboard of the API, the broker and the routes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from gateway import observability as m
from gateway.budgets.day import PRIORITIES
from gateway.budgets.utility import OPOWER_CALLS_TODAY
from gateway.cache import answers as rc
from gateway.observability import COMPANY_DIMENSION, PER_COMPANY
from infra.waf import RATE_RULE_NAMES, GatewayWaf

PERIOD = cdk.Duration.minutes(5)
CLOUDWATCH = "cloudwatch.amazonaws.com"
# Thresholds: a share of failed requests worth waking someone for, sustained for two
# periods so one bad burst does not page.
SERVER_ERROR_RATE_PERCENT = 5
SERVER_ERROR_MIN_REQUESTS = 20
# The authorizer's refusal of a customer past their own share of Opower (gateway.auth.entry
# counts it as Auth_limited): API Gateway answers it with the authorizer-failure response
# (503, a 5XX) although it is the customer's limit, not the gateway failing.
AUTH_LIMITED = "Auth_limited"
AUTHORIZER_FAILURES = 5
TOKEN_FETCH_FAILURES = 3
LATENCY_P99_MS = 5000
# "Percentile-based alarms and low data samples" (CloudWatch): a p99 is statistically
# significant from 10 / (1 - 0.99) = 1000 data points in the period; with fewer, one slow
# request is the p99. Below this many requests in 5 minutes the alarm reads 0.
LATENCY_P99_MIN_REQUESTS = 1000
# The shared tiers (DynamoDB, KMS, Secrets Manager) failing: the gateway keeps serving
# from memory, which hides the outage from customers but not forever (a cold container has
# no memory; budgets become per-container guesses). Sustained for two periods.
STORE_DEGRADED_METRICS = (
    "TokenStoreDegraded",
    "BudgetStoreDegraded",
    "BindingStoreDegraded",
    "CacheStoreDegraded",
)
SECRETS_DEGRADED_METRICS = ("SecretsDegraded", "SecretsUnavailable")

BROKER_COUNTS = (
    "TokenFetch",
    "TokenFetchFailure",
    "TokenCacheHitMemory",
    "TokenCacheHitDynamoDb",
    "TokenLeaseContention",
    "TokenStoreDegraded",
)
DEGRADED_COUNTS = (*STORE_DEGRADED_METRICS, *SECRETS_DEGRADED_METRICS, "GatewayMisconfigured")
UPSTREAM_COUNTS = ("UpstreamRetry", "BudgetShed", "CustomerLimited", "UpstreamRouteUnauthorized")
AUTH_OUTCOMES = ("AuthAllowed", "Auth_unauthorized", "Auth_denied", "Auth_unavailable")
ROUTE_CLASSES = ("2xx", "4xx", "5xx")
# The response cache (gateway.cache.answers): totals, and per route Cache_<route>_<outcome>
CACHE_COUNTS = (
    rc.CACHE_HIT_MEMORY,
    rc.CACHE_HIT_SHARED,
    *(rc.outcome_metric(o) for o in rc.OUTCOMES if o != "Hit"),
    rc.CACHE_COLLAPSED,
)
QUOTA_PERIOD = cdk.Duration.minutes(5)
DESIGNATED_ALARM_FRACTION = 0.8
# The service API's row (gateway.service; its budget's metrics are renamed Service…).
SERVICE_COUNTS = ("ServiceCalls", "ServiceStatus_2xx", "ServiceStatus_4xx", "ServiceStatus_5xx")
SERVICE_BUDGET_COUNTS = ("ServiceBudgetShed", "ServiceBudgetShed_per_second",
                         "ServiceBudgetShed_per_day")  # fmt: skip


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
        waf: GatewayWaf | None,
        alarm_topic: bool,
        alarm_email: str,
        companies: Sequence[str] = (),
        daily_budgets: Mapping[str, int] | None = None,
        quota_alarm_fraction: float = 0.8,
        cached_routes: Sequence[str] = (),
        service_budget_per_day: int = 0,
        designated_caps: Mapping[str, int] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy
        self._namespace = metrics_namespace
        self._service = service_name
        self.topic = self._topic(alarm_email) if alarm_topic else None
        self._notifying: list[cloudwatch.Alarm] = []

        requests = stage.metric_count(period=PERIOD, statistic="Sum")
        server_errors = stage.metric_server_error(period=PERIOD, statistic="Sum")
        latency_p99 = cloudwatch.MathExpression(
            expression=f"IF(samples >= {LATENCY_P99_MIN_REQUESTS}, p99, 0)",
            using_metrics={
                "samples": stage.metric_latency(period=PERIOD, statistic="SampleCount"),
                "p99": stage.metric_latency(period=PERIOD, statistic="p99"),
            },
            label=f"p99 latency (ms), from {LATENCY_P99_MIN_REQUESTS} requests",
            period=PERIOD,
        )
        error_rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {SERVER_ERROR_MIN_REQUESTS}, "
            "100 * (errors - FILL(limited, 0)) / requests, 0)",
            using_metrics={
                "requests": requests,
                "errors": server_errors,
                "limited": self._count(AUTH_LIMITED),
            },
            label="5XX % (customers' own limits left out)",
            period=PERIOD,
        )
        # The authorizer's own outcome, not Lambda's Errors: every 401 is raised as
        # "Unauthorized", which Lambda counts as an error of the function.
        authorizer_failures = self._count(m.AUTH_UNAVAILABLE)
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
                description="More than 5% of requests answered 5XX (proxy or gateway), "
                "not counting the 503s of customers past their own share (Auth_limited).",
            ),
            self._alarm(
                "AuthorizerFailures",
                authorizer_failures,
                threshold=AUTHORIZER_FAILURES,
                periods=1,
                description="The authorizer could not check sessions: customers get 503 "
                "(identity provider or Opower unreachable).",
            ),
            self._alarm(
                "GatewayMisconfigured",
                self._count(m.GATEWAY_MISCONFIGURED),
                threshold=1,
                periods=1,
                description="A setting or the Opower secret is missing or invalid (an empty "
                "secret after the first deploy: run make fill-secret).",
            ),
            self._alarm(
                "SharedStoreDegraded",
                self._sum(STORE_DEGRADED_METRICS, "Store degraded"),
                threshold=1,
                periods=2,
                description="DynamoDB or KMS is failing: tokens, bindings and budget are "
                "kept per container meanwhile (more token requests, looser budget).",
            ),
            self._alarm(
                "SecretsDegraded",
                self._sum(SECRETS_DEGRADED_METRICS, "Secrets degraded"),
                threshold=1,
                periods=2,
                description="Secrets Manager is failing: warm containers use the last "
                "credentials they read; new containers cannot get any.",
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
            # The day's plan (gateway.budgets.day) sheds optional screens first: the
            # warning that the day runs ahead of its pace, before anything else is refused.
            self._alarm(
                "OptionalScreensShed",
                self._count("BudgetShed_optional"),
                threshold=1,
                periods=3,
                description="For 15 minutes the day's budget refused optional screens "
                "(forecast, neighbors, tips, breakdowns; served from cache where held): the "
                "day runs ahead of its pace. Logins and the bill screen still have their "
                "reserves (docs/opower-limits.md).",
            ),
            self._alarm(
                "ReservesSpent",
                cloudwatch.MathExpression(
                    expression="FILL(bill, 0) + FILL(login, 0) + FILL(unbound, 0)",
                    using_metrics={
                        "bill": self._count("BudgetShed_bill"),
                        "login": self._count("BudgetShed_login"),
                        "unbound": self._count("AuthBudgetWait"),
                    },
                    label="bill screens and logins refused for the day's budget",
                    period=PERIOD,
                ),
                threshold=1,
                periods=1,
                description="The day's budget refused a bill screen or a login: its reserves "
                "are spent, and customers are told to come back at the next allowance "
                "(Retry-After). Ask Oracle for a larger quota, lengthen cache lifetimes, or "
                "hold back the service API (docs/opower-limits.md).",
            ),
            self._alarm(
                "LatencyP99",
                latency_p99,
                threshold=LATENCY_P99_MS,
                periods=3,
                description="p99 latency of the API above 5 s for 15 minutes (periods of "
                f"at least {LATENCY_P99_MIN_REQUESTS} requests: fewer make no p99).",
            ),
        ]
        # The day's Opower calls against the quota: one alarm per company's budget (one for
        # a single company), before the day's budget runs out and customers see 429s
        # that the cache cannot cover.
        self._daily_budgets = dict(daily_budgets or {})
        self._group = len(companies) > 1
        for code, per_day in self._daily_budgets.items():
            self.alarms.append(
                self._alarm(
                    f"DailyQuota{code if self._group else ''}",
                    self._calls_today(code),
                    threshold=math.floor(per_day * quota_alarm_fraction),
                    periods=1,
                    description=f"Opower calls of the quota day ({code}) reached "
                    f"{quota_alarm_fraction:.0%} of budget_per_day ({per_day}, the service "
                    "API's included): optional screens are being shed or soon will be, and "
                    "the day's reserves are what is left for logins and the bill screen "
                    "(docs/opower-limits.md). Look at the cache's hit ratio and the busiest "
                    "customers on the dashboard.",
                    # The gauge is sent on each reservation of a slice of the day: a quiet
                    # period says nothing about the day's count, so it keeps the state.
                    missing=cloudwatch.TreatMissingData.IGNORE,
                )
            )
        # Oracle's cap on designated customers (gateway.designated): warned at 80 %, before
        # new customers start being refused.
        for code, cap in (designated_caps or {}).items():
            self.alarms.append(
                self._alarm(
                    f"DesignatedCustomers{code if self._group else ''}",
                    self._designated(code),
                    threshold=math.ceil(cap * DESIGNATED_ALARM_FRACTION),
                    periods=1,
                    description=f"Distinct customers served ({code}) reached "
                    f"{DESIGNATED_ALARM_FRACTION:.0%} of designated_customers_max ({cap}): "
                    "past the cap, new customers are refused (403 not_designated). Raise the "
                    "cap with Oracle and in the configuration, or release customers "
                    "(docs: operations).",
                    # Sent when a customer is counted or refused: quiet periods keep the state.
                    missing=cloudwatch.TreatMissingData.IGNORE,
                )
            )
        rate_blocked = None
        if waf is not None:
            blocked = {
                f"rule{i}": self._waf_blocked(waf, rule) for i, rule in enumerate(RATE_RULE_NAMES)
            }
            rate_blocked = cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({name}, 0)" for name in blocked),
                using_metrics=blocked,
                label="WAF rate-limit blocks",
                period=PERIOD,
            )
            self.alarms.append(
                self._alarm(
                    "ClientsRateLimited",
                    rate_blocked,
                    threshold=1,
                    periods=2,
                    description="WAF blocked a client IP or a session over its rate limit for "
                    "two periods: a misbehaving client or an attack (see the WAF log).",
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
        self._cache_widgets(cached_routes, quota_alarm_fraction)
        if service_budget_per_day:
            self._service_api(service_budget_per_day, quota_alarm_fraction)
        if len(companies) > 1:
            self._company_widgets(companies)
        if self.topic is not None:
            self._allow_alarms_to_publish(self.topic)

    def _service_api(self, per_day: int, fraction: float) -> None:
        """The service API's own alarm (its share of the day nearly spent) and a row of
        its calls, outcomes, sheds and day's count (gateway.service)."""
        calls_today = cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=f"Service{OPOWER_CALLS_TODAY}",
            dimensions_map={"service": self._service},
            statistic="Maximum",
            period=QUOTA_PERIOD,
        )
        self.alarms.append(
            self._alarm(
                "ServiceDailyQuota",
                calls_today,
                threshold=math.floor(per_day * fraction),
                periods=1,
                description=f"The service API's Opower calls of the day reached "
                f"{fraction:.0%} of service_budget_per_day ({per_day}): past it, service "
                "calls get 429 until midnight UTC (customers keep their share). See the "
                "ServiceCalls_<principal> metrics for the busiest workload.",
                missing=cloudwatch.TreatMissingData.IGNORE,
            )
        )
        graph = cloudwatch.GraphWidget
        self.dashboard.add_widgets(
            graph(
                title="Service API: calls and outcomes",
                left=[self._count(n) for n in SERVICE_COUNTS],
                width=8,
            ),
            graph(
                title="Service API: budget",
                left=[self._count(n) for n in SERVICE_BUDGET_COUNTS],
                right=[calls_today.with_(label="Opower calls today")],
                right_annotations=[
                    cloudwatch.HorizontalAnnotation(value=per_day, label="service_budget_per_day")
                ],
                width=8,
            ),
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

    def _calls_today(self, code: str, *, labelled: bool = False) -> cloudwatch.Metric:
        """The fleet's reserved count of the day: a gauge, its Maximum per period."""
        dimensions = {"service": self._service}
        if self._group:
            dimensions[COMPANY_DIMENSION] = code
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=OPOWER_CALLS_TODAY,
            dimensions_map=dimensions,
            statistic="Maximum",
            period=QUOTA_PERIOD,
            label=f"Opower calls today ({code})" if labelled else None,
        )

    def _designated(self, code: str) -> cloudwatch.Metric:
        """The company's count of designated customers: a gauge, its Maximum per period."""
        dimensions = {"service": self._service}
        if self._group:
            dimensions[COMPANY_DIMENSION] = code
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name="DesignatedCustomers",
            dimensions_map=dimensions,
            statistic="Maximum",
            period=QUOTA_PERIOD,
        )

    def _cache_widgets(self, cached_routes: Sequence[str], fraction: float) -> None:
        """A row for the response cache: outcomes, hit ratio, each route's outcomes, and
        the day's Opower calls against the quota."""
        hits = self._count(rc.outcome_metric("Hit"))
        misses = self._count(rc.outcome_metric("Miss"))
        ratio = cloudwatch.MathExpression(
            expression="IF(hits + misses > 0, 100 * hits / (hits + misses), 0)",
            using_metrics={"hits": hits, "misses": misses},
            label="hit ratio %",
            period=PERIOD,
        )
        graph = cloudwatch.GraphWidget
        per_day = max(self._daily_budgets.values(), default=0)
        self.dashboard.add_widgets(
            graph(
                title="Response cache",
                left=[self._count(n) for n in CACHE_COUNTS],
                right=[ratio],
                width=8,
            ),
            graph(
                title="Opower calls today vs the day's budget; what the day's plan refused",
                left=[self._calls_today(code, labelled=True) for code in self._daily_budgets],
                # Refused by kind (gateway.budgets.day): optional first on a day ahead of
                # its pace; bill and login only once the reserves are spent.
                right=[self._count(f"BudgetShed_{kind}") for kind in PRIORITIES]
                + [self._count("AuthBudgetWait")],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=per_day, label="budget_per_day"),
                    cloudwatch.HorizontalAnnotation(
                        value=math.floor(per_day * fraction), label="DailyQuota alarm"
                    ),
                ]
                if per_day
                else None,
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            *[
                graph(
                    title=f"Cache {name}",
                    left=[self._count(rc.outcome_metric(o, name)) for o in rc.OUTCOMES],
                    width=6,
                )
                for name in cached_routes
            ]
        )

    def _sum(self, names: Sequence[str], label: str) -> cloudwatch.MathExpression:
        using = {f"m{i}": self._count(name) for i, name in enumerate(names)}
        return cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({key}, 0)" for key in using),
            using_metrics=using,
            label=label,
            period=PERIOD,
        )

    @staticmethod
    def _waf_blocked(waf: GatewayWaf, rule: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={
                "WebACL": waf.web_acl_metric_name,
                "Rule": waf.rule_metric_names[rule],
                "Region": cdk.Stack.of(waf).region,
            },
            statistic="Sum",
            period=PERIOD,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        description: str,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
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
            treat_missing_data=missing,
            alarm_description=description,
        )
        if self.topic is not None:
            self.notify(alarm)
        return alarm

    def _topic(self, alarm_email: str) -> sns.Topic:
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key (its policy
        # cannot admit CloudWatch), hence a key of the topic's own, kept apart from the
        # token store's key so that CloudWatch gains no use of the latter. CloudWatch
        # encrypts what it publishes with it ("Managing Amazon SNS encryption keys",
        # compatibility with AWS services): only for this account's alarms of this region
        # (the alarms' own ARNs would make the key depend on the alarms, which depend on
        # the topic, which depends on the key).
        stack = cdk.Stack.of(self)
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Opower gateway: alarm topic",
            enable_key_rotation=True,
            # as every other resource of the stack (the key holds nothing once the topic
            # is gone: alarms' notifications are not kept)
            removal_policy=self._removal_policy,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountEncrypt",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:"
                        f"{stack.account}:alarm:*"
                    },
                },
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def notify(self, alarm: cloudwatch.Alarm) -> None:
        """Send ``alarm``'s changes (to ALARM and back to OK) to the alarm topic, which
        lets CloudWatch publish for it (an alarm of the utility's own, on the gateway)."""
        if self.topic is None:
            raise ValueError("no alarm topic: set alarm_email or alarm_topic_enabled")
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self._notifying.append(alarm)

    def _allow_alarms_to_publish(self, topic: sns.Topic) -> None:
        """A topic policy replaces SNS's default one: enforce_ssl's statement alone is
        only a Deny, and CloudWatch, publishing for an alarm, needs an Allow ("Amazon SNS
        access control case examples": Principal cloudwatch.amazonaws.com, aws:SourceArn
        the alarm). Only the alarms that notify it, of this account (read at synthesis:
        ``notify`` adds more)."""
        stack = cdk.Stack.of(topic)
        arns = cdk.Lazy.list(_AlarmArns(self._notifying))
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisGatewayPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": arns},
                },
            )
        )

    def _company_widgets(self, companies: Sequence[str]) -> None:
        """A group's dashboard row: each company's Opower calls, budget and tokens (the
        functions add the `utility` dimension to these metrics, gateway.observability)."""
        self.dashboard.add_widgets(
            *[
                cloudwatch.GraphWidget(
                    title=f"{name} by company",
                    left=[
                        cloudwatch.Metric(
                            namespace=self._namespace,
                            metric_name=name,
                            dimensions_map={"service": self._service, COMPANY_DIMENSION: code},
                            statistic="Maximum" if name == OPOWER_CALLS_TODAY else "Sum",
                            period=PERIOD,
                            label=code,
                        )
                        for code in companies
                    ],
                    width=6,
                )
                for name in sorted(PER_COMPANY)
            ]
        )

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
            graph(
                title="Degraded tiers, misconfiguration",
                left=[self._count(n) for n in DEGRADED_COUNTS],
            ),
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


@jsii.implements(cdk.IStableListProducer)
class _AlarmArns:
    """The ARNs of the alarms that notify the topic, as they are at synthesis."""

    def __init__(self, alarms: list[cloudwatch.Alarm]) -> None:
        self._alarms = alarms

    def produce(self) -> list[str]:
        return [alarm.alarm_arn for alarm in self._alarms]

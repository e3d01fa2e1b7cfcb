"""Powertools Logger and Metrics shared by the handlers, configured from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL)."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric


class GatewayMetrics(Metrics):
    """Powertools' metrics, plus one metric at a time with extra dimensions (an operating
    company's `utility`), printed at once as its own EMF record."""

    def add_dimensioned_metric(
        self, name: str, unit: str, value: float, dimensions: dict[str, str]
    ) -> None:
        with single_metric(
            name=name,
            unit=MetricUnit(unit),
            value=value,
            namespace=self.namespace,
            default_dimensions=dict(self.default_dimensions or {}),
        ) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)


def _apply_configured_level(logger: Logger) -> None:
    """The log level the stack configured (POWERTOOLS_LOG_LEVEL), applied by the Logger
    itself.

    Lambda's own filter stays at INFO whatever the level (infra/functions.py): it gives
    a line without a "level" the level INFO ("Log-level filtering"), and the metrics'
    EMF lines have none, so a stricter filter would drop every metric. Powertools would
    follow the AWS_LAMBDA_LOG_LEVEL that Lambda sets from that filter, before
    POWERTOOLS_LOG_LEVEL: the configured level is set on the Logger's own logger here.
    """
    configured = os.environ.get("POWERTOOLS_LOG_LEVEL", "").strip().upper()
    level = logging.getLevelName(configured) if configured else None
    if isinstance(level, int):
        logging.getLogger(logger.service).setLevel(level)
        logger.initial_log_level = level  # what a sampled invocation returns to


logger = Logger()
metrics = GatewayMetrics()
_apply_configured_level(logger)

# The library logs through standard loggers under "gateway": give them Powertools' JSON
# handler (and the Logger's level), so their records carry the correlation id and land
# in one structured stream.
logging.getLogger("gateway")
copy_config_to_registered_loggers(source_logger=logger, include={"gateway"})

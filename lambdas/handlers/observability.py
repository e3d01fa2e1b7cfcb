"""Powertools Logger and Metrics shared by the handlers, configured from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL)."""

from __future__ import annotations

import logging

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


logger = Logger()
metrics = GatewayMetrics()

# The library logs through standard loggers under "gateway": give them Powertools' JSON
# handler, so their records carry the correlation id and land in one structured stream.
logging.getLogger("gateway")
copy_config_to_registered_loggers(source_logger=logger, include={"gateway"})

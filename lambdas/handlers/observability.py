"""Powertools Logger and Metrics shared by the handlers, configured from the environment
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL)."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger()
metrics = Metrics()

# The library logs through standard loggers under "gateway": give them Powertools' JSON
# handler, so their records carry the correlation id and land in one structured stream.
logging.getLogger("gateway")
copy_config_to_registered_loggers(source_logger=logger, include={"gateway"})

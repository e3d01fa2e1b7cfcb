"""The customer API: forwards allowed, customer-scoped calls to Opower."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway import wiring
from handlers.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    customer = ((event.get("requestContext") or {}).get("authorizer") or {}).get("customerHash")
    logger.append_keys(customer=customer)  # a hash, never the customer's ids
    return wiring.proxy(metrics).handle(event, remaining_ms=context.get_remaining_time_in_millis())

"""The REQUEST authorizer: verifies the customer's session, binds it to their Opower ids."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway import wiring
from gateway.auth.entry import handle_event
from handlers.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(
        event,
        remaining_ms=context.get_remaining_time_in_millis(),
        authorizer=wiring.authorizer(metrics),
        metrics=metrics,
        clock=wiring.clock(),
    )

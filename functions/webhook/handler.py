"""Function URL (payload format 2.0) -> status queue. Thin: Powertools logger and metrics, one call."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from messaging.settings import ConfigurationError
from observability import logger, metrics
from webhook.pipeline import handle_call
from webhook.wiring import get_dependencies


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        deps = get_dependencies()
    except ConfigurationError as error:
        logger.error("webhook is misconfigured", extra={"reason": str(error)})
        return {"statusCode": 503, "headers": {"Retry-After": "60"}, "body": '{"message":"temporarily unavailable"}'}
    return handle_call(event, deps)

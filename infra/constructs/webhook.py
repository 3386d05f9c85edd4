"""The receipts webhook: a Lambda Function URL that Telegent calls, putting each receipt on the status queue."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings
from infra.constructs.callback_secret import CallbackCredentials
from infra.constructs.python_function import FunctionPlatform, PythonFunction
from messaging import names as constants

PUBLIC_URL_REASON = (
    "Telegent calls the receipt URL from its own platform and cannot sign requests with SigV4, so the URL "
    "uses AuthType NONE. The function authenticates every call itself: the route's Basic/Bearer credential "
    "from Secrets Manager, compared in constant time, 401 without it; bodies are capped at 64 KB, reserved "
    "concurrency bounds what a flood of fake calls can use, and the function can only put receipts on the "
    "status queue (no table access)."
)


class ReceiptsWebhook(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        platform: FunctionPlatform,
        status_queue: sqs.IQueue,
        credentials: CallbackCredentials,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            settings=settings,
            platform=platform,
            description="Receives Telegent delivery receipts on a Function URL and queues them for the tracker",
            handler=constants.WEBHOOK_HANDLER,
            timeout=Duration.seconds(10),
            # Caps what unauthenticated calls can take from the account's concurrency.
            reserved_concurrency=settings.webhook_reserved_concurrency,
            environment={
                constants.ENV_CALLBACK_SECRET_ID: credentials.secret_id,
                constants.ENV_STATUS_QUEUE_URL: status_queue.queue_url,
            },
            checkov_skips={
                "CKV_AWS_116": "Invoked synchronously through its Function URL; a function DLQ applies to "
                "asynchronous invokes only. When the receipt cannot be queued the function answers 503 and "
                "Telegent retries the call.",
            },
        )
        self.function = self.handler.function
        credentials.secret.grant_read(self.function)
        self.handler.allow(["sqs:SendMessage"], [status_queue.queue_arn])

        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        cfn_url = self.url.node.default_child
        assert isinstance(cfn_url, CfnResource)
        skip_checks(cfn_url, {"CKV_AWS_258": PUBLIC_URL_REASON})
        # The two resource-policy statements (InvokeFunctionUrl, and InvokeFunction only when invoked
        # through the URL) that let anyone call an AuthType NONE URL.
        for child in self.function.node.children:
            if isinstance(child, lambda_.CfnPermission):
                skip_checks(child, {"CKV_AWS_301": PUBLIC_URL_REASON})

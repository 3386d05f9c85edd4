"""One Python Lambda of the status-tracking path: own role, encrypted log group, shared code and layer.

Every function of the stack runs from the same asset (the functions/ folder, whose packages are
what Lambda imports) and the same Powertools layer; each one gets its own role, so each role holds
exactly the grants its function's code needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Acknowledgment, ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import FUNCTIONS_DIR
from infra.checkov_skips import skip_checks
from infra.config import Settings
from infra.constructs.sender_function import ASSET_EXCLUDES, LOGS_KEY_ACTIONS

XRAY_ONLY_STAR_REASON = (
    "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; the statement has "
    "only those two actions."
)
NO_VPC_REASON = (
    "The function calls only AWS APIs (and, for the poller, the Telegent mPaaS API on the internet); it reaches "
    "no resource inside a VPC. Attaching it to one would need a NAT gateway plus interface endpoints, with "
    "nothing private to protect."
)
NO_SECRETS_IN_ENV_REASON = (
    "The environment holds no secrets: resource names, queue URLs, the secret's ARN or name (not its value), "
    "the event bus name and tuning numbers. Lambda encrypts it at rest with the AWS managed key; credentials "
    "are read from Secrets Manager at run time."
)


@dataclass(frozen=True)
class FunctionPlatform:
    """What all functions of the stack share: runtime, architecture, Powertools layer, log key."""

    runtime: lambda_.Runtime
    architecture: lambda_.Architecture
    layer: lambda_.ILayerVersion
    log_key: kms.IKey


def tracking_log_key(scope: Construct, construct_id: str, settings: Settings) -> kms.Key:
    """A customer managed key for the tracking functions' log groups, usable only by CloudWatch Logs.

    Same shape as the sender's log key (see SenderFunction._log_key): the roles get no kms: actions.
    """
    key = kms.Key(
        scope,
        construct_id,
        description=f"Encrypts the CloudWatch log groups of the {settings.service_name} status-tracking functions",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
        pending_window=Duration.days(7) if settings.ephemeral else None,
    )
    log_groups_here = Stack.of(scope).format_arn(
        service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisAccountAndRegion",
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.{Aws.URL_SUFFIX}")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_here}},
        )
    )
    return key


class PythonFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        platform: FunctionPlatform,
        description: str,
        handler: str,
        environment: Mapping[str, str],
        checkov_skips: Mapping[str, str],
        timeout: Duration,
        memory_mb: int = 256,
        reserved_concurrency: int | None = None,
        resource_star_reason: str = XRAY_ONLY_STAR_REASON,
    ) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN
        self.log_group = logs.LogGroup(self, "LogGroup", encryption_key=platform.log_key, removal_policy=removal_policy)
        cfn_log_group = self.log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = settings.log_retention_days

        # An own role, not the AWSLambdaBasicExecutionRole managed policy (logs:* on every group).
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=platform.runtime,
            architecture=platform.architecture,
            handler=handler,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDES),
            layers=[platform.layer],
            memory_size=memory_mb,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": settings.service_name,
                "POWERTOOLS_LOG_LEVEL": settings.log_level,
                "POWERTOOLS_METRICS_NAMESPACE": settings.metrics_namespace,
            },
        )
        skip_checks(
            self.function, {"CKV_AWS_117": NO_VPC_REASON, "CKV_AWS_173": NO_SECRETS_IN_ENV_REASON, **checkov_skips}
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=resource_star_reason)
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Emulator target: the emulator runs the function as a local process with this machine's "
                    "Python, so the runtime names that version."
                    if settings.is_emulator
                    else "The runtime is pinned on purpose (context python_version, the version the code is "
                    "tested on, the same as the sender's); moving to a newer runtime is a deliberate change "
                    "made together with the tests."
                ),
            )
        )

    def allow(self, actions: list[str], resources: list[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))

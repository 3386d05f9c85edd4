"""Delivery status tracking in the stack (DESIGN.md section 8): webhook, queues, tracker, poller, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match

from infra.constructs.sender_function import ASSET_EXCLUDES
from messaging import names as constants
from tests.infra.helpers import DENY_INSECURE_TRANSPORT, Synthesized, logical_id, resources_of

pytestmark = pytest.mark.infra

FOURTEEN_DAYS = 14 * 24 * 3600
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
SECRET_READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
SQS_CONSUME = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}


def function_by_handler(stack: Synthesized, handler: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, resource["Properties"])
        for name, resource in resources_of(stack, "AWS::Lambda::Function").items()
        if resource["Properties"].get("Handler") == handler
    ]
    return found


def environment(stack: Synthesized, handler: str) -> dict[str, Any]:
    return function_by_handler(stack, handler)[1]["Environment"]["Variables"]


def role_grants(stack: Synthesized, handler: str) -> dict[str, set[str]]:
    """Every action the function's role may perform, keyed by the JSON of the resource it applies to."""
    role = function_by_handler(stack, handler)[1]["Role"]["Fn::GetAtt"][0]
    grants: dict[str, set[str]] = {}
    for policy in resources_of(stack, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                grants.setdefault(json.dumps(target, sort_keys=True), set()).update(actions)
    return grants


def arn(stack: Synthesized, resource_type: str, fragment: str, attribute: str = "Arn") -> str:
    return json.dumps({"Fn::GetAtt": [logical_id(stack, resource_type, fragment), attribute]}, sort_keys=True)


def ref(stack: Synthesized, resource_type: str, fragment: str) -> str:
    return json.dumps({"Ref": logical_id(stack, resource_type, fragment)}, sort_keys=True)


def index(stack: Synthesized, name: str) -> str:
    table = {"Fn::GetAtt": [logical_id(stack, "AWS::DynamoDB::Table", "Messages"), "Arn"]}
    return json.dumps({"Fn::Join": ["", [table, f"/index/{name}"]]}, sort_keys=True)


def default_bus(_: Synthesized) -> str:
    parts = ["arn:", {"Ref": "AWS::Partition"}, ":events:", {"Ref": "AWS::Region"}, ":"]
    return json.dumps({"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, ":event-bus/default"]]}, sort_keys=True)


def without_basics(grants: dict[str, set[str]]) -> dict[str, set[str]]:
    """The grants minus the function's own log stream writes and X-Ray (asserted once, below)."""
    return {
        target: actions
        for target, actions in grants.items()
        if not (actions <= LOGS and "LogGroup" in target) and actions != XRAY
    }


class TestStatusQueues:
    def test_status_queue_redrives_to_its_dlq(self, default_stack: Synthesized) -> None:
        dlq = logical_id(default_stack, "AWS::SQS::Queue", "StatusDeadLetterQueue")
        default_stack.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-status"]]},
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": FOURTEEN_DAYS,
                "VisibilityTimeout": 6 * 30,  # six times the tracker's timeout
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5},
            },
        )

    def test_status_dlq_accepts_only_the_status_queue(self, default_stack: Synthesized) -> None:
        dlq = default_stack.template_json["Resources"][
            logical_id(default_stack, "AWS::SQS::Queue", "StatusDeadLetterQueue")
        ]["Properties"]
        assert dlq["SqsManagedSseEnabled"] is True
        assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS
        assert dlq["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"
        assert "-status" in json.dumps(dlq["RedriveAllowPolicy"]["sourceQueueArns"])

    @pytest.mark.parametrize("fragment", ["StatusQueuesStatusQueue", "StatusQueuesStatusDeadLetterQueue"])
    def test_tls_only(self, default_stack: Synthesized, fragment: str) -> None:
        queue = logical_id(default_stack, "AWS::SQS::Queue", fragment)
        default_stack.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {"Queues": [{"Ref": queue}], "PolicyDocument": {"Statement": Match.array_with([DENY_INSECURE_TRANSPORT])}},
        )

    def test_max_receive_count_from_context(self, configured_stack: Synthesized) -> None:
        configured_stack.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-status"]]},
                "RedrivePolicy": Match.object_like({"maxReceiveCount": 2}),
            },
        )


class TestWebhook:
    def test_function_url_without_aws_auth(self, default_stack: Synthesized) -> None:
        function, _ = function_by_handler(default_stack, constants.WEBHOOK_HANDLER)
        default_stack.template.has_resource_properties(
            "AWS::Lambda::Url", {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [function, "Arn"]}}
        )

    def test_reserved_concurrency(self, default_stack: Synthesized, configured_stack: Synthesized) -> None:
        assert function_by_handler(default_stack, constants.WEBHOOK_HANDLER)[1]["ReservedConcurrentExecutions"] == 5
        assert function_by_handler(configured_stack, constants.WEBHOOK_HANDLER)[1]["ReservedConcurrentExecutions"] == 3

    def test_environment(self, default_stack: Synthesized) -> None:
        stack = default_stack
        assert environment(stack, constants.WEBHOOK_HANDLER) == {
            constants.ENV_CALLBACK_SECRET_ID: {"Ref": logical_id(stack, "AWS::SecretsManager::Secret", "Callback")},
            constants.ENV_STATUS_QUEUE_URL: {"Ref": logical_id(stack, "AWS::SQS::Queue", "StatusQueuesStatusQueue")},
            "POWERTOOLS_SERVICE_NAME": "telegent-sms",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_METRICS_NAMESPACE": "TelegentSms",
        }

    def test_reads_its_secret_and_sends_to_the_status_queue_only(self, default_stack: Synthesized) -> None:
        stack = default_stack
        assert without_basics(role_grants(stack, constants.WEBHOOK_HANDLER)) == {
            ref(stack, "AWS::SecretsManager::Secret", "Callback"): SECRET_READ,
            arn(stack, "AWS::SQS::Queue", "StatusQueuesStatusQueue"): {"sqs:SendMessage"},
        }

    def test_callback_secret_is_generated(self, default_stack: Synthesized) -> None:
        secret = default_stack.template_json["Resources"][
            logical_id(default_stack, "AWS::SecretsManager::Secret", "Callback")
        ]
        generated = secret["Properties"]["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"]) == {"Username": "telegent"}
        assert generated["GenerateStringKey"] == "Password"
        assert secret["DeletionPolicy"] == "Retain"

    def test_imported_callback_secret_is_read_by_name(self, configured_stack: Synthesized) -> None:
        assert environment(configured_stack, constants.WEBHOOK_HANDLER)[constants.ENV_CALLBACK_SECRET_ID] == (
            "telegent/callback"
        )
        grants = role_grants(configured_stack, constants.WEBHOOK_HANDLER)
        (secret_target,) = [target for target, actions in grants.items() if actions == SECRET_READ]
        assert "secret:telegent/callback-??????" in secret_target


class TestTracker:
    def test_consumes_the_status_queue_reporting_item_failures(self, default_stack: Synthesized) -> None:
        function, _ = function_by_handler(default_stack, constants.TRACKER_HANDLER)
        queue = logical_id(default_stack, "AWS::SQS::Queue", "StatusQueuesStatusQueue")
        default_stack.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": function},
                "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        )

    def test_environment(self, default_stack: Synthesized) -> None:
        stack = default_stack
        variables = environment(stack, constants.TRACKER_HANDLER)
        assert variables == {
            constants.ENV_MESSAGES_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "Messages")},
            constants.ENV_STATUS_DLQ_URL: {
                "Ref": logical_id(stack, "AWS::SQS::Queue", "StatusQueuesStatusDeadLetterQueue")
            },
            constants.ENV_EVENT_BUS_NAME: "default",
            # Inbound STOP/START keywords change the opt-out table (DESIGN 10).
            constants.ENV_OPTOUT_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "OptOuts")},
            **{name: variables[name] for name in POWERTOOLS},
        }

    def test_permissions(self, default_stack: Synthesized) -> None:
        stack = default_stack
        assert without_basics(role_grants(stack, constants.TRACKER_HANDLER)) == {
            arn(stack, "AWS::SQS::Queue", "StatusQueuesStatusQueue"): SQS_CONSUME,  # the event source mapping
            index(stack, constants.MESSAGES_MESSAGE_ID_INDEX): {"dynamodb:Query"},
            arn(stack, "AWS::DynamoDB::Table", "Messages"): {"dynamodb:UpdateItem"},
            arn(stack, "AWS::SQS::Queue", "StatusQueuesStatusDeadLetterQueue"): {"sqs:SendMessage"},
            default_bus(stack): {"events:PutEvents"},
            arn(stack, "AWS::DynamoDB::Table", "OptOuts"): {"dynamodb:PutItem", "dynamodb:DeleteItem"},
        }


class TestStatusPoller:
    def test_environment_defaults(self, default_stack: Synthesized) -> None:
        stack = default_stack
        variables = environment(stack, constants.STATUS_POLLER_HANDLER)
        assert variables == {
            constants.ENV_MESSAGES_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "Messages")},
            constants.ENV_TELEGENT_BASE_URL: constants.DEFAULT_TELEGENT_BASE_URL,
            constants.ENV_TELEGENT_SECRET_ID: {"Ref": logical_id(stack, "AWS::SecretsManager::Secret", "Vendor")},
            constants.ENV_RATE_LIMIT_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "RateLimit")},
            constants.ENV_RATE_LIMIT_PER_MINUTE: "50",
            constants.ENV_RATE_LIMIT_BURST: "1",
            constants.ENV_STATUS_TIMEOUT_HOURS: "72",
            constants.ENV_STATUS_POLL_AFTER_MINUTES: "15",
            constants.ENV_STATUS_POLL_MAX_SHARE: "0.2",
            constants.ENV_PRIORITY_RESERVE: "0.2",  # polls pace as the normal lane (DESIGN 11)
            **{name: variables[name] for name in POWERTOOLS},
        }

    def test_environment_from_context(self, configured_stack: Synthesized) -> None:
        variables = environment(configured_stack, constants.STATUS_POLLER_HANDLER)
        assert variables[constants.ENV_STATUS_TIMEOUT_HOURS] == "48"
        assert variables[constants.ENV_STATUS_POLL_AFTER_MINUTES] == "30"
        assert variables[constants.ENV_STATUS_POLL_MAX_SHARE] == "0.1"
        assert variables[constants.ENV_TELEGENT_SECRET_ID] == "telegent/account"
        # The sender sets the first PollAt from the same value.
        sender = environment(configured_stack, constants.SENDER_HANDLER)
        assert sender[constants.ENV_STATUS_POLL_AFTER_MINUTES] == "30"

    def test_permissions(self, default_stack: Synthesized) -> None:
        stack = default_stack
        assert without_basics(role_grants(stack, constants.STATUS_POLLER_HANDLER)) == {
            index(stack, constants.MESSAGES_POLL_INDEX): {"dynamodb:Query"},
            arn(stack, "AWS::DynamoDB::Table", "Messages"): {"dynamodb:UpdateItem"},
            arn(stack, "AWS::DynamoDB::Table", "RateLimit"): {"dynamodb:UpdateItem"},
            ref(stack, "AWS::SecretsManager::Secret", "Vendor"): SECRET_READ,
        }

    def test_scheduled_every_five_minutes_in_the_stack_group(self, default_stack: Synthesized) -> None:
        function, _ = function_by_handler(default_stack, constants.STATUS_POLLER_HANDLER)
        role = logical_id(default_stack, "AWS::IAM::Role", "StatusPollerScheduleRole")
        group = logical_id(default_stack, "AWS::Scheduler::ScheduleGroup", "Scheduling")
        (schedule,) = resources_of(default_stack, "AWS::Scheduler::Schedule").values()
        properties = schedule["Properties"]
        assert properties["ScheduleExpression"] == "rate(5 minutes)"
        assert properties["GroupName"] == default_stack.template_json["Resources"][group]["Properties"]["Name"]
        assert properties["Target"]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
        assert properties["Target"]["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
        assert properties["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0

    def test_schedule_role_may_only_invoke_the_poller(self, default_stack: Synthesized) -> None:
        function, _ = function_by_handler(default_stack, constants.STATUS_POLLER_HANDLER)
        role = logical_id(default_stack, "AWS::IAM::Role", "StatusPollerScheduleRole")
        statements = [
            statement
            for policy in resources_of(default_stack, "AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        function_arn = {"Fn::GetAtt": [function, "Arn"]}
        assert statements == [
            {
                "Action": "lambda:InvokeFunction",
                "Effect": "Allow",
                "Resource": [function_arn, {"Fn::Join": ["", [function_arn, ":*"]]}],
            }
        ]
        trust = default_stack.template_json["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


class TestStatusEvents:
    def test_stream_mapping(self, default_stack: Synthesized) -> None:
        function, _ = function_by_handler(default_stack, constants.STATUS_EVENTS_HANDLER)
        table = logical_id(default_stack, "AWS::DynamoDB::Table", "Messages")
        failures = logical_id(default_stack, "AWS::SQS::Queue", "StatusEventsFailureQueue")
        default_stack.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": function},
                "EventSourceArn": {"Fn::GetAtt": [table, "StreamArn"]},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": 5,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [failures, "Arn"]}}},
            },
        )

    def test_environment(self, default_stack: Synthesized) -> None:
        variables = environment(default_stack, constants.STATUS_EVENTS_HANDLER)
        assert variables == {
            constants.ENV_EVENT_BUS_NAME: "default",
            **{name: variables[name] for name in POWERTOOLS},
        }

    def test_permissions(self, default_stack: Synthesized) -> None:
        stack = default_stack
        grants = without_basics(role_grants(stack, constants.STATUS_EVENTS_HANDLER))
        assert grants == {
            # what the stream mapping needs: ListStreams has no resource-level permissions
            json.dumps("*"): {"dynamodb:ListStreams", *XRAY},
            arn(stack, "AWS::DynamoDB::Table", "Messages", "StreamArn"): {
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            },
            arn(stack, "AWS::SQS::Queue", "StatusEventsFailureQueue"): {
                "sqs:SendMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            },
            default_bus(stack): {"events:PutEvents"},
        }

    def test_publishes_on_the_configured_bus(self, configured_stack: Synthesized) -> None:
        for handler in (constants.STATUS_EVENTS_HANDLER, constants.TRACKER_HANDLER):
            assert environment(configured_stack, handler)[constants.ENV_EVENT_BUS_NAME] == "orders"


class TestEveryTrackingFunction:
    HANDLERS = (
        constants.WEBHOOK_HANDLER,
        constants.TRACKER_HANDLER,
        constants.STATUS_POLLER_HANDLER,
        constants.STATUS_EVENTS_HANDLER,
    )

    def test_own_role_per_function(self, default_stack: Synthesized) -> None:
        roles = [
            function_by_handler(default_stack, handler)[1]["Role"]
            for handler in (*self.HANDLERS, constants.SENDER_HANDLER)
        ]
        assert len({json.dumps(role) for role in roles}) == len(roles)

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_shares_the_sender_code_and_layer(self, any_stack: Synthesized, handler: str) -> None:
        sender = function_by_handler(any_stack, constants.SENDER_HANDLER)[1]
        properties = function_by_handler(any_stack, handler)[1]
        for key in ("Code", "Layers", "Runtime", "Architectures"):
            assert properties[key] == sender[key], key
        assert properties["TracingConfig"] == {"Mode": "Active"}

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_encrypted_log_group_and_only_basic_grants_on_star(self, default_stack: Synthesized, handler: str) -> None:
        properties = function_by_handler(default_stack, handler)[1]
        log_group = default_stack.template_json["Resources"][properties["LoggingConfig"]["LogGroup"]["Ref"]]
        key = logical_id(default_stack, "AWS::KMS::Key", "TrackingLogKey")
        assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
        assert log_group["Properties"]["RetentionInDays"] == 30
        grants = role_grants(default_stack, handler)
        assert grants[json.dumps({"Fn::GetAtt": [properties["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]})] == LOGS
        assert grants[json.dumps("*")] >= XRAY
        assert not [a for actions in grants.values() for a in actions if "*" in a or a.startswith("kms:")]


class TestMonitoring:
    def test_delivery_rate_alarm(self, default_stack: Synthesized, configured_stack: Synthesized) -> None:
        for stack, threshold in ((default_stack, 0.9), (configured_stack, 0.8)):
            (alarm,) = [
                a["Properties"]
                for a in resources_of(stack, "AWS::CloudWatch::Alarm").values()
                if "Metrics" in a["Properties"]
            ]
            assert alarm["Threshold"] == threshold
            assert alarm["ComparisonOperator"] == "LessThanThreshold"
            assert alarm["TreatMissingData"] == "notBreaching"
            (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
            names = {m["MetricStat"]["Metric"]["MetricName"]: m["Id"] for m in alarm["Metrics"] if "MetricStat" in m}
            assert set(names) == {
                constants.METRIC_DELIVERED,
                constants.METRIC_DELIVERY_FAILED,
                constants.METRIC_UNDELIVERABLE,
            }
            delivered = names[constants.METRIC_DELIVERED]
            assert f"FILL({delivered}, 0) / (" in expression
            assert all(f"FILL({metric_id}, 0)" in expression for metric_id in names.values())

    def test_no_metric_math_alarm_on_the_emulator(self, emulator_stack: Synthesized) -> None:
        # ministack refuses AWS::CloudWatch::Alarm with Metrics (metric math) and rolls the stack back.
        alarms = resources_of(emulator_stack, "AWS::CloudWatch::Alarm").values()
        assert not [a for a in alarms if "Metrics" in a["Properties"]]
        names = {a["Properties"].get("MetricName") for a in alarms}
        assert constants.METRIC_RECEIPTS_UNMATCHED in names

    def test_unmatched_receipts_alarm(self, default_stack: Synthesized) -> None:
        topic = logical_id(default_stack, "AWS::SNS::Topic", "AlarmTopic")
        default_stack.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "TelegentSms",
                "MetricName": constants.METRIC_RECEIPTS_UNMATCHED,
                "Dimensions": [{"Name": "service", "Value": "telegent-sms"}],
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": topic}],
            },
        )

    def test_dashboard_shows_delivery_rate_and_latency(self, default_stack: Synthesized) -> None:
        (dashboard,) = resources_of(default_stack, "AWS::CloudWatch::Dashboard").values()
        # The body is an Fn::Join of JSON text and references; the text is what names the widgets.
        body = "".join(
            part for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(part, str)
        )
        assert '"title":"Delivery rate"' in body
        assert "FILL(delivered, 0) / (" in body
        latency = f'"TelegentSms","{constants.METRIC_DELIVERY_LATENCY}","service","telegent-sms"'
        for statistic in ("p50", "p99"):
            assert f'[{latency},{{"stat":"{statistic}"}}]' in body


@pytest.mark.parametrize(
    "name", ["WebhookUrl", "StatusQueueUrl", "StatusDeadLetterQueueUrl", "StatusEventsFailureQueueUrl"]
)
def test_outputs(default_stack: Synthesized, name: str) -> None:
    default_stack.template.has_output(name, {"Value": Match.any_value()})


def test_webhook_url_output_is_the_function_url(default_stack: Synthesized) -> None:
    url = logical_id(default_stack, "AWS::Lambda::Url", "Webhook")
    default_stack.template.has_output("WebhookUrl", {"Value": {"Fn::GetAtt": [url, "FunctionUrl"]}})
    queue = logical_id(default_stack, "AWS::SQS::Queue", "StatusQueuesStatusQueue")
    default_stack.template.has_output("StatusQueueUrl", {"Value": {"Ref": queue}})
    dlq = logical_id(default_stack, "AWS::SQS::Queue", "StatusQueuesStatusDeadLetterQueue")
    default_stack.template.has_output("StatusDeadLetterQueueUrl", {"Value": {"Ref": dlq}})


# --- what the Lambda asset holds --------------------------------------------------------------

FUNCTION_PACKAGES = {
    "messaging",
    "telegent",
    "aws_adapters",
    "observability",
    "sender",
    "webhook",
    "tracker",
    "status_poller",
    "status_events",
}
NEVER_IN_THE_ASSET = {"tests", "infra", "local", "scripts", "__pycache__", ".mypy_cache", ".pytest_cache"}


def function_asset_dir(stack: Synthesized) -> Path:
    """The staged directory (cdk.out/asset.<hash>) that every function's Code points at."""
    keys = {properties["Code"]["S3Key"] for _, properties in _functions(stack)}
    (key,) = keys  # one asset for all functions
    manifest = json.loads(
        (stack.outdir / f"{stack.template_path.stem.removesuffix('.template')}.assets.json").read_text()
    )
    (entry,) = [
        asset
        for asset in manifest["files"].values()
        if any(d["objectKey"] == key for d in asset["destinations"].values())
    ]
    assert entry["source"]["packaging"] == "zip"
    return stack.outdir / entry["source"]["path"]


def _functions(stack: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    handlers = {
        constants.SENDER_HANDLER,
        constants.WEBHOOK_HANDLER,
        constants.TRACKER_HANDLER,
        constants.STATUS_POLLER_HANDLER,
        constants.STATUS_EVENTS_HANDLER,
    }
    return [function_by_handler(stack, handler) for handler in handlers]


def offending_entries(asset: Path) -> list[str]:
    """Everything in a function asset that Lambda does not run."""
    found = []
    for entry in asset.iterdir():
        if entry.is_file():
            found.append(entry.name)  # only packages at the top level
        elif entry.name in NEVER_IN_THE_ASSET or not (entry / "__init__.py").is_file():
            found.append(entry.name)
    for path in asset.rglob("*"):
        if path.name in NEVER_IN_THE_ASSET or path.suffix in {".pyc", ".pyo"}:
            found.append(str(path.relative_to(asset)))
    return sorted(set(found))


@pytest.mark.parametrize("variant", ["default_stack", "emulator_stack"])
def test_lambda_asset_holds_only_the_function_packages(request: pytest.FixtureRequest, variant: str) -> None:
    stack: Synthesized = request.getfixturevalue(variant)
    asset = function_asset_dir(stack)
    assert offending_entries(asset) == []
    packages = {entry.name for entry in asset.iterdir()}
    # Every package the stack's handlers and shared code live in, whatever else gets added later.
    present = {name for name in FUNCTION_PACKAGES if (Path(__file__).parents[2] / "functions" / name).is_dir()}
    assert present <= packages
    assert {"messaging", "sender"} <= packages


def test_asset_check_finds_what_must_not_ship(tmp_path: Path) -> None:
    """The check above catches a test folder, a stray module, a non-package dir and bytecode."""
    (tmp_path / "sender").mkdir()
    (tmp_path / "sender" / "__init__.py").write_text("")
    (tmp_path / "sender" / "__pycache__").mkdir()
    (tmp_path / "sender" / "handler.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "notes").mkdir()
    (tmp_path / "conftest.py").write_text("")
    assert offending_entries(tmp_path) == [
        "conftest.py",
        "notes",
        "sender/__pycache__",
        "sender/handler.cpython-311.pyc",
        "tests",
    ]


def test_asset_excludes_drop_bytecode_and_tool_caches(tmp_path: Path) -> None:
    """ASSET_EXCLUDES, as the functions use them, keep build leftovers out of a staged asset."""
    source = tmp_path / "functions"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("")
    (source / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"")
    (source / "pkg" / "stray.pyc").write_bytes(b"")
    (source / ".mypy_cache").mkdir()
    outdir = tmp_path / "out"
    app = App(outdir=str(outdir))
    lambda_.Function(
        Stack(app, "AssetProbe"),
        "Probe",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="pkg.handler",
        code=lambda_.Code.from_asset(str(source), exclude=ASSET_EXCLUDES),
    )
    app.synth()
    (staged,) = [p for p in outdir.iterdir() if p.name.startswith("asset.")]
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*")) == ["pkg", "pkg/__init__.py"]

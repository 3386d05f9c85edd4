"""The stack as `cdk synth` builds it for real AWS with no context at all."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from messaging import names as constants
from tests.infra.helpers import (
    DENY_INSECURE_TRANSPORT,
    FOURTEEN_DAYS,
    Synthesized,
    function_properties,
    logical_id,
    policy_statements,
    resources_of,
)

pytestmark = pytest.mark.infra


def test_resource_counts(default_stack: Synthesized) -> None:
    template = default_stack.template
    # requests + DLQ, priority + its DLQ, status + status DLQ, status-events failures
    template.resource_count_is("AWS::SQS::Queue", 7)
    template.resource_count_is("AWS::DynamoDB::Table", 4)  # messages, idempotency, rate limit, opt-outs
    template.resource_count_is("AWS::S3::Bucket", 2)  # media + its access logs
    # sender, webhook, tracker, status poller, status events (no auto-delete handler without ephemeral)
    template.resource_count_is("AWS::Lambda::Function", 5)
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.resource_count_is("AWS::KMS::Key", 3)  # alarm topic, sender logs, tracking functions' logs
    # request queue, priority queue (same sender), status queue, stream
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 4)
    template.resource_count_is("AWS::SecretsManager::Secret", 2)  # vendor account, webhook credential
    template.resource_count_is("AWS::Scheduler::ScheduleGroup", 1)
    template.resource_count_is("AWS::Scheduler::Schedule", 1)  # the status poller's
    template.resource_count_is("AWS::Events::Rule", 2)  # send requests: normal, Priority "high"
    template.resource_count_is("AWS::Events::EventBus", 0)  # status events go to the ingress bus
    template.resource_count_is("AWS::CloudWatch::Alarm", 11)  # + the priority lane's DLQ and age
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::SNS::Subscription", 0)


class TestQueues:
    def test_request_queue(self, default_stack: Synthesized) -> None:
        dlq = logical_id(default_stack, "AWS::SQS::Queue", "QueuesDeadLetterQueue")
        default_stack.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-requests"]]},
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": FOURTEEN_DAYS,
                # 6 x function timeout (60 s) + batching window (5 s)
                "VisibilityTimeout": 6 * 60 + 5,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5},
            },
        )

    def test_dead_letter_queue_only_accepts_the_request_queue(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": FOURTEEN_DAYS,
                "RedriveAllowPolicy": {
                    "redrivePermission": "byQueue",
                    "sourceQueueArns": [{"Fn::Join": ["", Match.array_with([{"Ref": "AWS::StackName"}, "-requests"])]}],
                },
            },
        )

    def test_every_queue_refuses_plain_http(self, default_stack: Synthesized) -> None:
        policies = resources_of(default_stack, "AWS::SQS::QueuePolicy")
        assert len(policies) == 7
        default_stack.template.all_resources_properties(
            "AWS::SQS::QueuePolicy",
            {"PolicyDocument": {"Statement": Match.array_with([DENY_INSECURE_TRANSPORT])}},
        )

    def test_no_producer_statement_without_configured_principals(self, default_stack: Synthesized) -> None:
        for policy in resources_of(default_stack, "AWS::SQS::QueuePolicy").values():
            sids = [s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
            assert "AllowConfiguredProducers" not in sids


class TestSenderFunction:
    def test_runtime_and_code(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Runtime": "python3.13",
                "Architectures": ["arm64"],
                "Handler": constants.SENDER_HANDLER,
                "MemorySize": 256,
                "Timeout": 60,
                "TracingConfig": {"Mode": "Active"},
            },
        )

    def test_environment_is_exactly_the_contract(self, default_stack: Synthesized) -> None:
        variables = function_properties(default_stack)["Environment"]["Variables"]
        assert set(variables) == {
            constants.ENV_TELEGENT_BASE_URL,
            constants.ENV_TELEGENT_SECRET_ID,
            constants.ENV_MESSAGES_TABLE,
            constants.ENV_IDEMPOTENCY_TABLE,
            constants.ENV_MEDIA_BUCKET,
            constants.ENV_MEDIA_PREFIX,
            constants.ENV_DLQ_URL,
            constants.ENV_RATE_LIMIT_TABLE,
            constants.ENV_RATE_LIMIT_PER_MINUTE,
            constants.ENV_RATE_LIMIT_BURST,
            constants.ENV_STATUS_POLL_AFTER_MINUTES,
            constants.ENV_AMBIGUOUS_SEARCH_DELAY_SECONDS,
            constants.ENV_AMBIGUOUS_RECONCILE_MAX_MINUTES,
            constants.ENV_AMBIGUOUS_POLICY,
            constants.ENV_OPTOUT_TABLE,
            constants.ENV_PRIORITY_QUEUE_ARN,
            constants.ENV_PRIORITY_RESERVE,
            constants.ENV_SCHEDULE_GROUP_NAME,
            constants.ENV_SCHEDULER_ROLE_ARN,
            constants.ENV_QUEUE_ARN,
            constants.ENV_MAX_SEGMENTS,
            constants.ENV_SMART_ENCODING,
            constants.ENV_SENDAT_DELAY_MAX_SECONDS,
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_LOG_LEVEL",
            "POWERTOOLS_METRICS_NAMESPACE",
        }
        stack = default_stack
        assert variables == {
            constants.ENV_TELEGENT_BASE_URL: constants.DEFAULT_TELEGENT_BASE_URL,
            constants.ENV_TELEGENT_SECRET_ID: {"Ref": logical_id(stack, "AWS::SecretsManager::Secret", "Vendor")},
            constants.ENV_MESSAGES_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "Messages")},
            constants.ENV_IDEMPOTENCY_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "Idempotency")},
            constants.ENV_RATE_LIMIT_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "RateLimit")},
            constants.ENV_MEDIA_BUCKET: {"Ref": logical_id(stack, "AWS::S3::Bucket", "MediaMediaBucket")},
            constants.ENV_MEDIA_PREFIX: "mms/",
            constants.ENV_DLQ_URL: {"Ref": logical_id(stack, "AWS::SQS::Queue", "QueuesDeadLetterQueue")},
            constants.ENV_RATE_LIMIT_PER_MINUTE: "50",
            constants.ENV_RATE_LIMIT_BURST: "1",
            constants.ENV_STATUS_POLL_AFTER_MINUTES: "15",
            constants.ENV_AMBIGUOUS_SEARCH_DELAY_SECONDS: "20",
            constants.ENV_AMBIGUOUS_RECONCILE_MAX_MINUTES: "30",
            constants.ENV_AMBIGUOUS_POLICY: "resend",
            constants.ENV_OPTOUT_TABLE: {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "OptOuts")},
            constants.ENV_PRIORITY_QUEUE_ARN: {
                "Fn::GetAtt": [logical_id(stack, "AWS::SQS::Queue", "PriorityLaneQueue"), "Arn"]
            },
            constants.ENV_PRIORITY_RESERVE: "0.2",
            # Send-time options (DESIGN 9; the Scheduler grants: tests/infra/test_send_time_options.py).
            constants.ENV_SCHEDULE_GROUP_NAME: variables[constants.ENV_SCHEDULE_GROUP_NAME],
            constants.ENV_SCHEDULER_ROLE_ARN: {
                "Fn::GetAtt": [logical_id(stack, "AWS::IAM::Role", "SchedulingRole"), "Arn"]
            },
            constants.ENV_QUEUE_ARN: {"Fn::GetAtt": [logical_id(stack, "AWS::SQS::Queue", "RequestQueue"), "Arn"]},
            constants.ENV_MAX_SEGMENTS: "10",
            constants.ENV_SMART_ENCODING: "false",
            constants.ENV_SENDAT_DELAY_MAX_SECONDS: "900",
            "POWERTOOLS_SERVICE_NAME": "telegent-sms",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_METRICS_NAMESPACE": "TelegentSms",
        }

    def test_public_powertools_layer_from_ssm(self, default_stack: Synthesized) -> None:
        (layer,) = function_properties(default_stack)["Layers"]
        parameter = default_stack.template_json["Parameters"][layer["Ref"]]
        assert parameter == {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/aws/service/powertools/python/arm64/python3.13/latest",
        }
        default_stack.template.resource_count_is("AWS::Lambda::LayerVersion", 0)

    def test_log_group_with_retention(self, default_stack: Synthesized) -> None:
        log_group = logical_id(default_stack, "AWS::Logs::LogGroup", "Sender")
        default_stack.template.has_resource(
            "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Retain"}
        )
        assert function_properties(default_stack)["LoggingConfig"] == {"LogGroup": {"Ref": log_group}}

    def test_log_group_is_encrypted_with_a_key_only_cloudwatch_logs_uses(self, default_stack: Synthesized) -> None:
        key = logical_id(default_stack, "AWS::KMS::Key", "SenderLogKey")
        default_stack.template.has_resource_properties(
            "AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [key, "Arn"]}}
        )
        resource = default_stack.template_json["Resources"][key]
        assert resource["Properties"]["EnableKeyRotation"] is True
        assert resource["DeletionPolicy"] == "Retain"
        (logs_statement,) = [
            statement
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]
            if "Service" in statement["Principal"]
        ]
        assert logs_statement["Principal"] == {
            "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}
        }
        assert logs_statement["Condition"] == {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":logs:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":log-group:*",
                        ],
                    ]
                }
            }
        }
        # CloudWatch Logs uses the key itself: the function's role gets no kms: actions.
        assert not [s for s in policy_statements(default_stack, "SenderRole") if "kms:" in str(s["Action"])]

    def test_event_source_mapping(self, default_stack: Synthesized) -> None:
        queue = logical_id(default_stack, "AWS::SQS::Queue", "RequestQueue")
        default_stack.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
                "BatchSize": 10,
                "MaximumBatchingWindowInSeconds": 5,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": 2},
            },
        )


class TestLeastPrivilege:
    def test_no_wildcard_actions_anywhere(self, default_stack: Synthesized) -> None:
        for policy in resources_of(default_stack, "AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not [a for a in actions if "*" in a], statement

    def test_only_xray_has_resource_star(self, default_stack: Synthesized) -> None:
        starred = [s for s in policy_statements(default_stack, "SenderRole") if s["Resource"] == "*"]
        assert starred == [
            {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": "*"}
        ]

    def test_function_permissions(self, default_stack: Synthesized) -> None:
        stack = default_stack
        statements = policy_statements(stack, "SenderRole")

        def actions_on(resource: object) -> set[str]:
            found: set[str] = set()
            for statement in statements:
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                if resource in targets:
                    actions = statement["Action"]
                    found |= set(actions if isinstance(actions, list) else [actions])
            return found

        def arn(fragment: str, resource_type: str) -> dict[str, list[str]]:
            return {"Fn::GetAtt": [logical_id(stack, resource_type, fragment), "Arn"]}

        assert actions_on(arn("RequestQueue", "AWS::SQS::Queue")) == {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:SendMessage",
        }
        assert actions_on(arn("QueuesDeadLetterQueue", "AWS::SQS::Queue")) == {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }
        # The priority lane's queue: consumed by its own mapping, throttled records requeued on it (DESIGN 11).
        assert actions_on(arn("PriorityLaneQueue", "AWS::SQS::Queue")) == actions_on(
            arn("RequestQueue", "AWS::SQS::Queue")
        )
        assert actions_on(arn("OptOuts", "AWS::DynamoDB::Table")) == {"dynamodb:BatchGetItem"}  # read only (DESIGN 10)
        crud = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
        assert actions_on(arn("Messages", "AWS::DynamoDB::Table")) == crud
        assert actions_on(arn("RateLimit", "AWS::DynamoDB::Table")) == crud
        assert actions_on(arn("Idempotency", "AWS::DynamoDB::Table")) == crud | {"dynamodb:DeleteItem"}
        message_id_index = {"Fn::Join": ["", [arn("Messages", "AWS::DynamoDB::Table"), "/index/MessageIdIndex"]]}
        assert actions_on(message_id_index) == {"dynamodb:Query"}  # reconciling ambiguous sends (4b)
        assert actions_on({"Ref": logical_id(stack, "AWS::SecretsManager::Secret", "Vendor")}) == {
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        }
        media_prefix = {"Fn::Join": ["", [arn("MediaMediaBucket", "AWS::S3::Bucket"), "/mms/*"]]}
        assert actions_on(media_prefix) == {"s3:GetObject"}
        # Oversized DLQ copies: their bodies are written (and read back on redrive) under this prefix only.
        dlq_payloads = {"Fn::Join": ["", [arn("MediaMediaBucket", "AWS::S3::Bucket"), "/dlq-payloads/*"]]}
        assert actions_on(dlq_payloads) == {"s3:PutObject", "s3:GetObject"}
        assert {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == (
            actions_on(arn("RequestQueue", "AWS::SQS::Queue"))
            | actions_on(arn("QueuesDeadLetterQueue", "AWS::SQS::Queue"))
            | crud
            | {"dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
            | {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
            | {"s3:GetObject", "s3:PutObject", "logs:CreateLogStream", "logs:PutLogEvents"}
            | {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
            # One-time SendAt schedules (DESIGN 9): tests/infra/test_send_time_options.py checks their resources.
            | {"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "iam:PassRole"}
        )

    def test_function_role_has_no_managed_policies(self, default_stack: Synthesized) -> None:
        role = default_stack.template_json["Resources"][logical_id(default_stack, "AWS::IAM::Role", "SenderRole")]
        assert "ManagedPolicyArns" not in role["Properties"]


class TestTables:
    def test_messages_table(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": {
                    "KeySchema": [{"AttributeName": constants.MESSAGES_PARTITION_KEY, "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                    "TimeToLiveSpecification": {
                        "AttributeName": constants.MESSAGES_TTL_ATTRIBUTE,
                        "Enabled": True,
                    },
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": constants.MESSAGES_MESSAGE_ID_INDEX,
                            "KeySchema": [
                                {"AttributeName": constants.MESSAGES_MESSAGE_ID_ATTRIBUTE, "KeyType": "HASH"}
                            ],
                            "Projection": {"ProjectionType": "ALL"},
                        },
                        {
                            "IndexName": constants.MESSAGES_POLL_INDEX,
                            "KeySchema": [
                                {"AttributeName": constants.MESSAGES_POLL_SHARD_ATTRIBUTE, "KeyType": "HASH"},
                                {"AttributeName": constants.MESSAGES_POLL_AT_ATTRIBUTE, "KeyType": "RANGE"},
                            ],
                            "Projection": {
                                "ProjectionType": "INCLUDE",
                                "NonKeyAttributes": list(constants.MESSAGES_POLL_INDEX_PROJECTION),
                            },
                        },
                        {
                            "IndexName": constants.MESSAGES_CREATED_DAY_INDEX,
                            "KeySchema": [
                                {"AttributeName": constants.MESSAGES_CREATED_DAY_ATTRIBUTE, "KeyType": "HASH"},
                                {"AttributeName": constants.MESSAGES_CREATED_AT_ATTRIBUTE, "KeyType": "RANGE"},
                            ],
                            "Projection": {
                                "ProjectionType": "INCLUDE",
                                "NonKeyAttributes": list(constants.MESSAGES_CREATED_DAY_INDEX_PROJECTION),
                            },
                        },
                    ],
                    "AttributeDefinitions": Match.array_equals(
                        [
                            {"AttributeName": constants.MESSAGES_PARTITION_KEY, "AttributeType": "S"},
                            {"AttributeName": constants.MESSAGES_MESSAGE_ID_ATTRIBUTE, "AttributeType": "S"},
                            {"AttributeName": constants.MESSAGES_POLL_SHARD_ATTRIBUTE, "AttributeType": "S"},
                            {"AttributeName": constants.MESSAGES_POLL_AT_ATTRIBUTE, "AttributeType": "S"},
                            {"AttributeName": constants.MESSAGES_CREATED_DAY_ATTRIBUTE, "AttributeType": "S"},
                            {"AttributeName": constants.MESSAGES_CREATED_AT_ATTRIBUTE, "AttributeType": "S"},
                        ]
                    ),
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            },
        )

    def test_idempotency_table_has_the_powertools_layout(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": {
                    "KeySchema": [{"AttributeName": constants.IDEMPOTENCY_PARTITION_KEY, "KeyType": "HASH"}],
                    "AttributeDefinitions": [
                        {"AttributeName": constants.IDEMPOTENCY_PARTITION_KEY, "AttributeType": "S"}
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "TimeToLiveSpecification": {
                        "AttributeName": constants.IDEMPOTENCY_TTL_ATTRIBUTE,
                        "Enabled": True,
                    },
                },
                "DeletionPolicy": "Retain",
            },
        )

    def test_rate_limit_table(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": {
                    "KeySchema": [{"AttributeName": constants.RATE_LIMIT_PARTITION_KEY, "KeyType": "HASH"}],
                    "AttributeDefinitions": [
                        {"AttributeName": constants.RATE_LIMIT_PARTITION_KEY, "AttributeType": "S"}
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "TimeToLiveSpecification": Match.absent(),
                },
                "DeletionPolicy": "Retain",
            },
        )


class TestMediaBucket:
    def test_media_bucket(self, default_stack: Synthesized) -> None:
        logs_bucket = logical_id(default_stack, "AWS::S3::Bucket", "AccessLogs")
        default_stack.template.has_resource(
            "AWS::S3::Bucket",
            {
                "Properties": {
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "LifecycleConfiguration": {
                        "Rules": [Match.object_like({"ExpirationInDays": 30, "Status": "Enabled"})]
                    },
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": logs_bucket},
                        "LogFilePrefix": Match.any_value(),
                    },
                    "VersioningConfiguration": Match.absent(),
                },
                "DeletionPolicy": "Retain",
            },
        )

    def test_buckets_refuse_plain_http(self, default_stack: Synthesized) -> None:
        default_stack.template.resource_count_is("AWS::S3::BucketPolicy", 2)
        default_stack.template.all_resources_properties(
            "AWS::S3::BucketPolicy",
            {"PolicyDocument": {"Statement": Match.array_with([DENY_INSECURE_TRANSPORT])}},
        )


def test_secret_is_created_with_a_placeholder(default_stack: Synthesized) -> None:
    default_stack.template.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "Properties": {
                "GenerateSecretString": Match.object_like(
                    {
                        "SecretStringTemplate": Match.string_like_regexp('"AccountKey"'),
                        "GenerateStringKey": "AccountSecret",
                    }
                )
            },
            "DeletionPolicy": "Retain",
        },
    )


class TestIngress:
    def test_scheduler_role_may_only_send_to_the_queue(self, default_stack: Synthesized) -> None:
        queue = logical_id(default_stack, "AWS::SQS::Queue", "RequestQueue")
        default_stack.template.has_resource_properties(
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        Match.object_like(
                            {"Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
                        )
                    ]
                }
            },
        )
        priority = logical_id(default_stack, "AWS::SQS::Queue", "PriorityLaneQueue")
        (statement,) = policy_statements(default_stack, "SchedulingRole")
        # The request queue, and the priority queue for a priority request's SendAt schedule (DESIGN 9, 11).
        assert statement["Action"] == "sqs:SendMessage"
        assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted([queue, priority])

    def test_event_rule_on_default_bus_targets_the_queue(self, default_stack: Synthesized) -> None:
        queue = logical_id(default_stack, "AWS::SQS::Queue", "RequestQueue")
        default_stack.template.has_resource_properties(
            "AWS::Events::Rule",
            {
                "EventBusName": "default",
                "EventPattern": {"detail-type": ["telegent.sms.send"]},
                "Targets": [
                    Match.object_like(
                        # No InputPath/InputTransformer: the whole event goes on the queue.
                        {"Arn": {"Fn::GetAtt": [queue, "Arn"]}, "InputPath": Match.absent(), "Input": Match.absent()}
                    )
                ],
            },
        )


class TestMonitoring:
    @pytest.mark.parametrize(
        ("namespace", "metric_name", "threshold"),
        [
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", 1),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", 900),
            ("AWS/Lambda", "Errors", 1),
            ("AWS/Lambda", "Throttles", 1),
        ],
    )
    def test_service_alarms(self, default_stack: Synthesized, namespace: str, metric_name: str, threshold: int) -> None:
        topic = logical_id(default_stack, "AWS::SNS::Topic", "AlarmTopic")
        default_stack.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": namespace,
                "MetricName": metric_name,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": topic}],
            },
        )

    @pytest.mark.parametrize(("metric_name", "threshold"), [("TransientFailures", 10), ("MessagesRejected", 1)])
    def test_sender_metric_alarms(self, default_stack: Synthesized, metric_name: str, threshold: int) -> None:
        default_stack.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "TelegentSms",
                "MetricName": metric_name,
                "Dimensions": [{"Name": "service", "Value": "telegent-sms"}],
                "Statistic": "Sum",
                "Threshold": threshold,
            },
        )

    def test_request_age_alarm_counts_across_requeues(self, default_stack: Synthesized) -> None:
        topic = logical_id(default_stack, "AWS::SNS::Topic", "AlarmTopic")
        default_stack.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "TelegentSms",
                "MetricName": constants.METRIC_MESSAGE_AGE,
                "Dimensions": [{"Name": "service", "Value": "telegent-sms"}],
                "Statistic": "Maximum",
                "Threshold": 900,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": topic}],
            },
        )

    def test_alarm_topic_is_encrypted_and_tls_only(self, default_stack: Synthesized) -> None:
        key = logical_id(default_stack, "AWS::KMS::Key", "AlarmTopicKey")
        default_stack.template.has_resource_properties(
            "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
        )
        default_stack.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
        default_stack.template.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            DENY_INSECURE_TRANSPORT,
                            Match.object_like(
                                {"Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish"}
                            ),
                        ]
                    )
                }
            },
        )


@pytest.mark.parametrize(
    "name",
    [
        "QueueUrl",
        "QueueArn",
        "DeadLetterQueueUrl",
        "MessagesTableName",
        "IdempotencyTableName",
        "RateLimitTableName",
        "MediaBucketName",
        "SecretArn",
        "ScheduleGroupName",
        "SchedulerRoleArn",
        "EventBusName",
        "SenderFunctionName",
        "AlarmTopicArn",
    ],
)
def test_outputs(default_stack: Synthesized, name: str) -> None:
    default_stack.template.has_output(name, {"Value": Match.any_value()})

"""The bucket that `MmsS3` media is read from, and the bucket that receives its access logs."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings

# Where CDK puts the one Lambda function behind every `auto_delete_objects` bucket of a stack.
AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


class MediaStorage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN
        # Emptying a bucket on delete needs CDK's auto-delete custom resource, a Node.js Lambda.
        # Only on real AWS: in the emulator the whole world is thrown away instead.
        auto_delete_objects = settings.ephemeral and not settings.is_emulator

        # Not logged itself (cdk-nag S1 knows a log destination when it sees one); logging it would
        # only need yet another bucket.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption S3 log delivery supports
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(settings.access_log_expiry_days))],
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete_objects,
        )
        skip_checks(
            self.access_logs_bucket,
            {
                "CKV_AWS_18": "This bucket is the server access log destination of the media bucket; logging it "
                "as well would need yet another bucket (S3 must not log a bucket into itself).",
                "CKV_AWS_21": "Holds only S3 server access logs, written once by the log delivery service and "
                "deleted by the lifecycle rule after access_log_expiry_days; nothing overwrites an object "
                "here, so versioning would only keep expired logs as noncurrent copies.",
            },
        )
        lifecycle = s3.LifecycleRule(
            # Media only needs to live until the message is sent; producers upload just before.
            expiration=Duration.days(settings.media_expiry_days),
            noncurrent_version_expiration=(
                Duration.days(settings.media_expiry_days) if settings.media_versioning else None
            ),
            abort_incomplete_multipart_upload_after=Duration.days(1),
        )
        self.bucket = s3.Bucket(
            self,
            "MediaBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=settings.media_versioning,
            lifecycle_rules=[lifecycle],
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="media-bucket/",
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete_objects,
        )
        if not settings.media_versioning:
            skip_checks(
                self.bucket,
                {
                    "CKV_AWS_21": "Media objects are transient inputs: producers upload them just before a send, "
                    "the sender reads each once, and they expire after media_expiry_days. Versioning is "
                    "available with context media_versioning=true (with noncurrent-version expiry); it is off "
                    "by default so replaced media are not kept and paid for.",
                },
            )
        if auto_delete_objects:
            self._skip_auto_delete_handler_checks()
        self.media_prefix = settings.media_prefix

    def _skip_auto_delete_handler_checks(self) -> None:
        """CDK's auto-delete handler (ephemeral stacks on AWS only) is a stack-level singleton."""
        provider = Stack.of(self).node.find_child(AUTO_DELETE_PROVIDER_ID)
        handler = provider.node.find_child("Handler")
        assert isinstance(handler, CfnResource)
        skip_checks(
            handler,
            {
                "CKV_AWS_115": "CDK's auto-delete-objects handler, deployed only with ephemeral=true: "
                "CloudFormation invokes it once per bucket when the stack is deleted, so there is no load "
                "to cap with reserved concurrency.",
                "CKV_AWS_116": "Its only caller is CloudFormation (custom resource events); the handler reports "
                "a failure back to CloudFormation, which fails the stack deletion visibly. A dead-letter "
                "copy of a delete event could not be replayed usefully.",
                "CKV_AWS_117": "It only calls the S3 API to empty this stack's own buckets; there is no private "
                "resource to reach, so a VPC would only add NAT or endpoint cost.",
            },
        )

    def media_objects_arn(self) -> str:
        """ARN pattern of the objects the function may read: `<bucket>/<prefix>*` only."""
        return self.bucket.arn_for_objects(f"{self.media_prefix}*")

"""The bucket that `MmsS3` media is read from, and the bucket that receives its access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import Settings


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
        self.media_prefix = settings.media_prefix

    def media_objects_arn(self) -> str:
        """ARN pattern of the objects the function may read: `<bucket>/<prefix>*` only."""
        return self.bucket.arn_for_objects(f"{self.media_prefix}*")

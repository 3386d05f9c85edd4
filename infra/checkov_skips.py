"""Checkov suppressions, written into the synthesized template next to the resource they concern.

Checkov reads `Metadata.checkov.skip` of a CloudFormation resource (`[{"id": ..., "comment": ...}]`)
and reports those checks as SKIPPED with the comment. As with the cdk-nag acknowledgments, each
one is added by the construct that owns the resource, with the reason it does not apply.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource
from constructs import IConstruct

METADATA_KEY = "checkov"


def skip_checks(target: IConstruct, reasons: Mapping[str, str]) -> None:
    """Skip checkov checks (`{"CKV_AWS_27": "why", ...}`) on `target`'s CloudFormation resource.

    `target` is an L1 resource or an L2 construct whose default child is one; calling this again
    for the same resource adds to its list.
    """
    resource = target if isinstance(target, CfnResource) else target.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{target.node.path} has no CloudFormation resource to annotate")
    for check_id, reason in reasons.items():
        if not check_id.startswith("CKV_") or not reason.strip():
            raise ValueError(f"{target.node.path}: a skip needs a CKV_ id and a reason, got {check_id!r}")
    existing = resource.get_metadata(METADATA_KEY) or {}
    skips = [*existing.get("skip", []), *({"id": i, "comment": r} for i, r in reasons.items())]
    resource.add_metadata(METADATA_KEY, {**existing, "skip": skips})

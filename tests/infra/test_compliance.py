"""cdk-nag AwsSolutions findings and cfn-lint on every synthesized variant."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import aws_cdk
import pytest

from infra.app import create_app
from tests.infra.helpers import CDK_JSON_CONTEXT, SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infra

# CDK adds an explicit DependsOn on the function's role next to the GetAtt of that role.
CFN_LINT_IGNORED = ["W3005"]


def test_no_unacknowledged_nag_findings(any_stack: Synthesized) -> None:
    # synthesize() already fails on findings; the report says so explicitly as well.
    violations = [
        violation
        for plugin in any_stack.validation_report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert violations == []


def test_synth_fails_on_a_finding_that_is_not_acknowledged(tmp_path: Path) -> None:
    """Proof that the AwsSolutions checks run at all: without acknowledgments synth must fail."""
    with mock.patch.object(aws_cdk.Validations, "acknowledge"):
        app = create_app({**CDK_JSON_CONTEXT, **SKIP_BUNDLING}, outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match="Validation"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert {"AwsSolutions-SMG4", "AwsSolutions-DDB3", "AwsSolutions-IAM5[Resource::*]"} <= rules


def test_cfn_lint(any_stack: Synthesized, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(any_stack.template_json))
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or "cfn-lint"
    result = subprocess.run(
        [cfn_lint, "--ignore-checks", *CFN_LINT_IGNORED, "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

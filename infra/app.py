"""CDK entry point: `cdk synth` runs `python -m infra.app` (see cdk.json)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import Settings
from infra.stack import TelegentSmsStack


def create_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """The app with its one stack and the cdk-nag AwsSolutions checks.

    Synth fails on any finding that is not acknowledged (with a reason) next to its construct.
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    settings = Settings.from_context(app.node)
    TelegentSmsStack(
        app,
        settings.stack_name,
        settings=settings,
        # Environment-agnostic unless the CLI supplies an account/region (cdk deploy does).
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


def main() -> None:
    create_app().synth()


if __name__ == "__main__":
    main()

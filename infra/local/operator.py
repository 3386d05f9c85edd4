"""The operator CLI (`telegent-sms`, infra/cli) pointed at the stack deployed on ministack.

The CLI finds everything from the stack's CloudFormation outputs, like it does on AWS; only the
usual AWS settings change: AWS_ENDPOINT_URL (and the CA bundle when ministack serves TLS), the
region, fake credentials, and the stack's name.
"""

from __future__ import annotations

import os
import subprocess
import sys

from infra.cli.stack import ENV_STACK
from infra.local.deploy import DEFAULT_STACK_NAME, DeployedStack

# Variables of the operator's own shell that would point the CLI at a real account.
_REAL_ACCOUNT = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def cli_env(stack: DeployedStack, stack_name: str = DEFAULT_STACK_NAME) -> dict[str, str | None]:
    """Environment changes for `telegent-sms` on the deployed stack (None: unset), e.g. CliRunner(env=...)."""
    return {**stack.server.aws_env(), ENV_STACK: stack_name, **dict.fromkeys(_REAL_ACCOUNT)}


def run_cli(stack: DeployedStack, *args: str) -> subprocess.CompletedProcess[str]:
    """`telegent-sms ARGS` as an operator runs it (a process of its own), on the deployed stack."""
    env = dict(os.environ)
    for name, value in cli_env(stack).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def show_operator_cli(stack: DeployedStack, delivered_request_id: str) -> bool:
    """`make demo`'s last word: what an operator sees with `telegent-sms`, for a delivered message and the DLQ."""
    print("\nThe operator CLI on the deployed stack (telegent-sms, found through the stack's outputs):", flush=True)
    ok = True
    for args, expected in (
        (("status", delivered_request_id), f"{delivered_request_id}: DELIVERED"),
        (("dlq", "list"), "DLQ:"),
    ):
        result = run_cli(stack, *args)
        print(f"\n$ telegent-sms {' '.join(args)}\n{result.stdout.rstrip()}", flush=True)
        if result.returncode != 0 or expected not in result.stdout:
            print(f"(exit {result.returncode}) {result.stderr.strip()}", flush=True)
            ok = False
    return ok

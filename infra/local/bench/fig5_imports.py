"""Figure 5: cold import of the handler vs a bare `import boto3`, and a breakdown of the Powertools pieces."""

from __future__ import annotations

import os
import subprocess
import sys

from infra import FUNCTIONS_DIR, REPO_ROOT
from infra.local.bench.report import Report, Row, log, median
from infra.local.bench.stack import Ctx

IMPORT_SNIPPET = "{pre}\nimport time\n_t = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - _t)\n"


def import_env(lambda_like: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN"))}
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": "telegent-sms",
            "POWERTOOLS_METRICS_NAMESPACE": "TelegentSms",
            "PYTHONPATH": str(FUNCTIONS_DIR),
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    if lambda_like:  # Powertools Tracer turns itself on only inside Lambda (the stack has active tracing)
        env["LAMBDA_TASK_ROOT"] = str(FUNCTIONS_DIR)
        env["AWS_LAMBDA_FUNCTION_NAME"] = "telegent-sms-sender"
    return env


def time_import(stmt: str, env: dict[str, str], pre: str = "") -> float:
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_SNIPPET.format(pre=pre, stmt=stmt)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"timing {stmt!r} failed:\n{completed.stderr[-2000:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def figure_5(ctx: Ctx, report: Report) -> None:
    sizes = ctx.sizes
    log(f"figure 5: cold imports, {sizes.import_reps} fresh processes each")
    env = import_env()
    handler_stmt, boto3_stmt = "import sender.handler", "import boto3"
    time_import(handler_stmt, env)  # compiles bytecode; not measured
    handler_times, boto3_times = [], []
    for _ in range(sizes.import_reps):  # interleaved, so drift hits both alike
        boto3_times.append(time_import(boto3_stmt, env))
        handler_times.append(time_import(handler_stmt, env))
    handler_ms, boto3_ms = median(handler_times) * 1000, median(boto3_times) * 1000
    ratio = handler_ms / boto3_ms
    report.rows.append(
        Row(
            "5",
            "cold import of sender.handler / bare import boto3",
            f"{ratio:.2f}x",
            "<= 2x",
            ratio <= 2,
            f"handler median {handler_ms:.0f} ms vs boto3 {boto3_ms:.0f} ms (n={sizes.import_reps}; "
            "outside Lambda, so the Tracer is off)",
        )
    )

    pieces: list[tuple[str, str, bool]] = [
        ("import aws_lambda_powertools (package)", "import aws_lambda_powertools", False),
        ("Logger()", "from aws_lambda_powertools import Logger\nLogger()", False),
        ("Metrics()", "from aws_lambda_powertools import Metrics\nMetrics()", False),
        ("Tracer() outside Lambda (disabled)", "from aws_lambda_powertools import Tracer\nTracer()", False),
        ("Tracer() as in Lambda (X-Ray on)", "from aws_lambda_powertools import Tracer\nTracer()", True),
        (
            "utilities.batch",
            "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response",
            False,
        ),
        (
            "utilities.idempotency",
            "from aws_lambda_powertools.utilities.idempotency import "
            "DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function",
            False,
        ),
        ("utilities.parameters", "from aws_lambda_powertools.utilities.parameters import SecretsProvider", False),
        ("import urllib3", "import urllib3", False),
        ("import sender.handler as in Lambda (X-Ray on)", handler_stmt, True),
    ]
    deferred = "from aws_lambda_powertools import Tracer\nTracer()"
    table_rows: list[list[str]] = []
    for label, stmt, lambda_like in pieces:
        piece_env = import_env(lambda_like)
        time_import(stmt, piece_env)
        alone = [time_import(stmt, piece_env) for _ in range(sizes.breakdown_reps)]
        after = [time_import(stmt, piece_env, pre="import boto3") for _ in range(sizes.breakdown_reps)]
        table_rows.append([label, f"{median(alone) * 1000:.0f}", f"{median(after) * 1000:.0f}"])
    lambda_env = import_env(lambda_like=True)
    time_import(deferred, lambda_env, pre=handler_stmt)
    late = [time_import(deferred, lambda_env, pre=handler_stmt) for _ in range(sizes.breakdown_reps)]
    table_rows.append(["Tracer() as in Lambda, after import sender.handler", "", f"{median(late) * 1000:.0f} (*)"])
    table_rows.append(["import boto3 (reference)", f"{boto3_ms:.0f}", "0"])
    table_rows.append(["import sender.handler (figure 5)", f"{handler_ms:.0f}", ""])
    report.extra_tables.append(
        (
            f"Figure 5 breakdown: import cost in fresh processes, median ms of {sizes.breakdown_reps} "
            "(columns overlap: pieces share modules, they do not add up; "
            "(*) = after import sender.handler instead of boto3: what a Tracer created later still costs)",
            ["piece", "alone ms", "after import boto3 ms"],
            table_rows,
        )
    )

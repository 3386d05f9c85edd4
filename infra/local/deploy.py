"""`cdk bootstrap` / `cdk deploy` / `cdk destroy` of the real stack against a local emulator (ministack).

Every function takes `env`: a complete subprocess environment pointing at the emulator, as
`MinistackServer.env()` returns it (AWS_ENDPOINT_URL, fake credentials, region). The cdk CLI runs
from the repo root (cdk.json there), so the app is the real one: `python -m infra.app`.

    from infra.local.ministack import MinistackServer
    from infra.local.deploy import bootstrap, deploy, destroy

    with MinistackServer() as ms:
        env = ms.env()
        bootstrap(env)
        outputs = deploy(env, {"telegent_base_url": "http://127.0.0.1:8765/v1.0"})
        ...                       # outputs["QueueUrl"], outputs["MessagesTableName"], ...
        destroy(env)              # optional: stopping the server throws everything away

The whole round trip, seen through the same World helpers as the integration tests:

    with TelegentSandbox() as sandbox, deployed_stack(sandbox.base_url) as stack:
        stack.world.send_bodies([...])
        stack.wait_until_processed(16)

From a shell (starts its own ministack, deploys, keeps serving until Ctrl-C):

    python -m infra.local.deploy up [-c key=value ...]
    python -m infra.local.deploy deploy --endpoint http://127.0.0.1:4566 [-c key=value ...]
    python -m infra.local.deploy destroy --endpoint http://127.0.0.1:4566

Notes on what works in the emulator and why the context below is needed: docs/ministack.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import REPO_ROOT
from infra.local.aws_env import FAKE_CREDENTIAL, REGION, client_env
from infra.local.ministack import ACCOUNT_ID, MinistackServer
from infra.local.world import DEFAULT_SECRET_VALUE, World

logger = logging.getLogger(__name__)

# A cloud assembly of its own, so an emulator deploy never races a `cdk synth` into cdk.out/.
DEFAULT_OUTPUT_DIR = REPO_ROOT / "build" / "ministack-cdk.out"
DEFAULT_STACK_NAME = "TelegentSms"

# What the stack needs to run on the emulator (see infra/config.py): the Powertools layer built
# locally for this machine's python/arch instead of the public layer (no code offline), no Node.js
# custom resources, and removal policies that let `cdk destroy` clean up.
EMULATOR_CONTEXT: dict[str, str] = {"target": "emulator", "ephemeral": "true"}

BOOTSTRAP_TIMEOUT = 300.0
DEPLOY_TIMEOUT = 900.0
DESTROY_TIMEOUT = 300.0
NPM_TIMEOUT = 600.0


class CdkCommandError(RuntimeError):
    """A cdk CLI command failed or timed out; `output` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(f"{message}\n{_tail(output)}" if output else message)
        self.output = output


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# -- the cdk CLI ------------------------------------------------------------------------------------


def _pinned_cli_version() -> str | None:
    package_json = REPO_ROOT / "package.json"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        spec = json.loads(package_json.read_text())["devDependencies"]["aws-cdk"]
        return str(spec).lstrip("^~=")
    return None


def cdk_command(*, install: bool = True) -> list[str]:
    """The cdk CLI as an argv prefix: the repo's node_modules/.bin/cdk (installed with `npm ci`
    from package-lock.json when missing and `install` is set), else `npx --yes aws-cdk@<pin>`."""
    local = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not local.exists() and install and shutil.which("npm") and (REPO_ROOT / "package.json").exists():
        lock = (REPO_ROOT / "package-lock.json").exists()
        command = ["npm", "ci" if lock else "install", "--no-audit", "--no-fund", "--loglevel=error"]
        logger.info("installing the cdk CLI: %s", " ".join(command))
        subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=NPM_TIMEOUT)
    if local.exists():
        return [str(local)]
    npx = shutil.which("npx")
    if npx is None:
        raise FileNotFoundError("no cdk CLI: run `npm ci` in the repo root (needs Node.js)")
    version = _pinned_cli_version()
    return [npx, "--yes", f"aws-cdk@{version}" if version else "aws-cdk@2"]


def cdk_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` plus the switches that keep the cdk CLI off the internet and quiet."""
    result = dict(env)
    result.setdefault("CDK_DISABLE_VERSION_CHECK", "true")  # no npm registry look-up per run
    result.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")  # no telemetry upload attempts
    result.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    result.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    result.setdefault("CI", "true")  # plain progress output, no TTY animations
    return result


def _context_args(context: Mapping[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in context.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            text = json.dumps(value, separators=(",", ":"))
        else:
            text = str(value)
        args += ["-c", f"{key}={text}"]
    return args


def run_cdk(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float,
    log_path: Path | None = None,
    echo: bool = False,
    app_dir: Path = REPO_ROOT,
) -> str:
    """Run `cdk <args>` in `app_dir` (the repo root: its cdk.json names the app); return the
    combined output. Raises CdkCommandError.

    The CLI runs in its own process group so that a timeout also ends the app it synthesizes.
    With `echo`, its output is copied to stdout as it comes.
    """
    command = [*cdk_command(), *args, "--no-notices"]
    logger.info("cdk %s", " ".join(args))
    with tempfile.NamedTemporaryFile(prefix="cdk-", suffix=".log") as captured:
        process = subprocess.Popen(
            command,
            cwd=app_dir,
            env=cdk_env(env),
            stdin=subprocess.DEVNULL,
            stdout=captured,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        timed_out = False
        with open(captured.name, "rb") as reader:
            try:
                while process.poll() is None:
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    if echo:
                        _copy_to_stdout(reader)
                    time.sleep(0.2)
            finally:  # timeout, Ctrl-C, SIGTERM turned into an exception: end the CLI and its app
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            if echo:
                _copy_to_stdout(reader)
            reader.seek(0)
            output = reader.read().decode(errors="replace")
    _write_log(log_path, output)
    if timed_out:
        raise CdkCommandError(f"cdk {' '.join(args)}: timed out after {timeout:.0f}s", output)
    if process.returncode != 0:
        raise CdkCommandError(f"cdk {' '.join(args)}: exit code {process.returncode}", output)
    return output


def _copy_to_stdout(reader: Any) -> None:
    chunk = reader.read()
    if chunk:
        sys.stdout.write(chunk.decode(errors="replace"))
        sys.stdout.flush()


def _write_log(path: Path | None, text: str) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# -- bootstrap / deploy / destroy -----------------------------------------------------------------


def bootstrap(
    env: Mapping[str, str],
    *,
    account: str = ACCOUNT_ID,
    region: str | None = None,
    timeout: float = BOOTSTRAP_TIMEOUT,
    log_path: Path | None = None,
    echo: bool = False,
    app_dir: Path = REPO_ROOT,
) -> str:
    """`cdk bootstrap aws://<account>/<region>`: the CDKToolkit stack (asset bucket, roles, version
    parameter). Safe to repeat (no changes the second time). Returns the CLI output."""
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or REGION
    return run_cdk(
        ["bootstrap", f"aws://{account}/{region}"],
        env,
        timeout=timeout,
        log_path=log_path,
        echo=echo,
        app_dir=app_dir,
    )


def deploy(
    env: Mapping[str, str],
    context: Mapping[str, Any] | None = None,
    *,
    stack_name: str | None = None,
    output_dir: Path = DEFAULT_OUTPUT_DIR,
    outputs_file: Path | None = None,
    emulator_defaults: bool = True,
    timeout: float = DEPLOY_TIMEOUT,
    log_path: Path | None = None,
    echo: bool = False,
    app_dir: Path = REPO_ROOT,
) -> dict[str, str]:
    """`cdk deploy --require-approval never --outputs-file ... -c key=value ...`; returns the
    stack's outputs ({"QueueUrl": ..., ...}).

    `context` is laid over EMULATOR_CONTEXT (target=emulator, ephemeral=true) unless
    emulator_defaults is False. Values: str/int/bool as `-c key=value`, lists/dicts as JSON.
    """
    full_context: dict[str, Any] = dict(EMULATOR_CONTEXT) if emulator_defaults else {}
    full_context.update(context or {})
    stack_name = stack_name or str(full_context.get("stack_name") or DEFAULT_STACK_NAME)
    output_dir = Path(output_dir)
    outputs_file = Path(outputs_file) if outputs_file else output_dir.parent / f"{output_dir.name}-outputs.json"
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        outputs_file.unlink()
    run_cdk(
        [
            "deploy",
            stack_name,
            "--require-approval",
            "never",
            "--output",
            str(output_dir),
            "--outputs-file",
            str(outputs_file),
            *_context_args(full_context),
        ],
        env,
        timeout=timeout,
        log_path=log_path,
        echo=echo,
        app_dir=app_dir,
    )
    return dict(json.loads(outputs_file.read_text()).get(stack_name, {}))


def destroy(
    env: Mapping[str, str],
    context: Mapping[str, Any] | None = None,
    *,
    stack_name: str | None = None,
    output_dir: Path = DEFAULT_OUTPUT_DIR,
    emulator_defaults: bool = True,
    timeout: float = DESTROY_TIMEOUT,
    log_path: Path | None = None,
    echo: bool = False,
    app_dir: Path = REPO_ROOT,
) -> str:
    """`cdk destroy --force <stack>` with the same context as deploy() (the app is synthesized
    again to find the stack). Returns the CLI output."""
    full_context: dict[str, Any] = dict(EMULATOR_CONTEXT) if emulator_defaults else {}
    full_context.update(context or {})
    stack_name = stack_name or str(full_context.get("stack_name") or DEFAULT_STACK_NAME)
    return run_cdk(
        ["destroy", stack_name, "--force", "--output", str(output_dir), *_context_args(full_context)],
        env,
        timeout=timeout,
        log_path=log_path,
        echo=echo,
        app_dir=app_dir,
    )


def stack_outputs(env: Mapping[str, str], stack_name: str = DEFAULT_STACK_NAME) -> dict[str, str]:
    """Outputs of a deployed stack read back from CloudFormation (needs boto3 in this interpreter)."""
    import boto3

    client = boto3.client(
        "cloudformation",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_REGION") or REGION,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", FAKE_CREDENTIAL),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIAL),
    )
    stack = client.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


# -- the deployed stack as a World ------------------------------------------------------------------

# Quick enough to show every sample in seconds; the sandbox enforces no limit in the demo. The samples
# expect smart encoding (events/expected.json); a SendAt more than 10 s ahead is scheduled through
# EventBridge Scheduler instead of a delayed requeue, so the demo shows a schedule firing in seconds.
DEMO_CONTEXT = {
    "rate_limit_per_minute": "600",
    "rate_limit_burst": "10",
    "max_batching_window_seconds": "0",
    "smart_encoding": "true",
    "sendat_delay_max_seconds": "10",
}


@dataclass
class DeployedStack:
    server: MinistackServer
    env: dict[str, str]
    outputs: dict[str, str]
    world: World
    timings: dict[str, float]

    def client(self, service: str) -> Any:
        return self.world.client(service)

    def put_event(self, request: Mapping[str, Any], detail_type: str = "telegent.sms.send") -> None:
        """A send request through the EventBridge bus, as any service would."""
        self.client("events").put_events(
            Entries=[
                {
                    "Source": "com.example.demo",
                    "DetailType": detail_type,
                    "Detail": json.dumps(request),
                    "EventBusName": self.outputs["EventBusName"],
                }
            ]
        )

    def wait_until_processed(self, expected_rows: int, timeout: float = 120) -> float:
        """Wait for the deployed Lambda (behind the real event source mapping) to drain the queue."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            depth = self.world.queue_depth()
            if len(self.world.result_rows()) >= expected_rows and not any(depth.values()):
                return time.monotonic() - started
            time.sleep(0.5)
        raise TimeoutError(
            f"after {timeout}s: {len(self.world.result_rows())} rows, queue {self.world.queue_depth()}\n"
            + self.server.log_tail()
        )


def _world(server: MinistackServer, outputs: Mapping[str, str]) -> World:
    sqs_region = server.region
    queue_url = outputs["QueueUrl"]
    return World(
        endpoint_url=server.endpoint_url,
        region=sqs_region,
        prefix="TelegentSms",
        queue_name=queue_url.rsplit("/", 1)[-1],
        queue_url=queue_url,
        queue_arn=outputs["QueueArn"],
        dlq_name=outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1],
        dlq_url=outputs["DeadLetterQueueUrl"],
        dlq_arn="",
        messages_table=outputs["MessagesTableName"],
        idempotency_table=outputs["IdempotencyTableName"],
        rate_limit_table=outputs["RateLimitTableName"],
        media_bucket=outputs["MediaBucketName"],
        secret_name=outputs["SecretArn"],
        secret_arn=outputs["SecretArn"],
        max_receive_count=5,
        visibility_timeout=0,
    )


@contextlib.contextmanager
def deployed_stack(
    sandbox_base_url: str, context: Mapping[str, Any] | None = None, *, tear_down: bool = True
) -> Iterator[DeployedStack]:
    """Start ministack, `cdk bootstrap` + `cdk deploy` the real stack, set the secret; undo it all after."""
    timings: dict[str, float] = {}
    with MinistackServer() as server:
        env = server.env()
        started = time.monotonic()
        bootstrap(env)
        timings["bootstrap"] = time.monotonic() - started
        started = time.monotonic()
        outputs = deploy(env, {"telegent_base_url": sandbox_base_url, **DEMO_CONTEXT, **(context or {})})
        timings["deploy"] = time.monotonic() - started
        world = _world(server, outputs)
        world.client("secretsmanager").put_secret_value(
            SecretId=outputs["SecretArn"], SecretString=json.dumps(DEFAULT_SECRET_VALUE)
        )
        stack = DeployedStack(server, env, outputs, world, timings)
        try:
            yield stack
        finally:
            if tear_down:
                started = time.monotonic()
                destroy(env)
                timings["destroy"] = time.monotonic() - started


# -- command line -----------------------------------------------------------------------------------


def _parse_context(items: Sequence[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"-c expects key=value, got {item!r}")
        context[key] = value
    return context


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy the real CDK stack to ministack on 127.0.0.1.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start ministack, bootstrap, deploy, serve until Ctrl-C")
    up.add_argument("--port", type=int, default=0)
    for name in ("deploy", "destroy", "bootstrap"):
        p = sub.add_parser(name, help=f"{name} against a running emulator")
        p.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4566")
    for p in sub.choices.values():
        p.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--quiet", action="store_true", help="do not echo cdk output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    context = _parse_context(args.context)
    echo = not args.quiet

    # Ctrl-C or SIGTERM at any point (also mid-deploy) unwinds through the context manager and
    # run_cdk's cleanup, so neither the emulator nor a cdk process is left behind.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        if args.command == "up":
            _up(args.port or None, context, echo=echo)
            return 0
        env = client_env(args.endpoint, account_id=ACCOUNT_ID)
        if args.command == "bootstrap":
            bootstrap(env, echo=echo)
        elif args.command == "deploy":
            print(json.dumps(deploy(env, context, echo=echo), indent=2))
        else:
            destroy(env, context, echo=echo)
    except KeyboardInterrupt:
        return 130
    except CdkCommandError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _up(port: int | None, context: Mapping[str, Any], *, echo: bool) -> None:
    with MinistackServer(port=port) as server:
        env = server.env()
        started = time.monotonic()
        bootstrap(env, echo=echo)
        logger.info("bootstrap: %.1fs", time.monotonic() - started)
        started = time.monotonic()
        outputs = deploy(env, context, echo=echo)
        logger.info("deploy: %.1fs", time.monotonic() - started)
        print(json.dumps(outputs, indent=2))
        for name, value in server.aws_env().items():
            print(f"export {name}={value}")
        print(f"# ministack log: {server.log_path}\n# Ctrl-C stops the emulator (and forgets the stack)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while server.running:
                time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())

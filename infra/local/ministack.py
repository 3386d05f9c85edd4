"""A ministack server (Docker-free AWS emulator, PyPI `ministack`) on 127.0.0.1, for the deployed stack.

ministack pins botocore exactly, so it lives in its own venv (.venv-ministack, gitignored), never in
the project's .venv. Its Python Lambdas run as local worker processes with that venv's interpreter
(`sys.executable` of the server), so the venv also carries boto3 (matched to the pinned botocore):
it plays the part of the SDK that the Lambda runtime provides on AWS. Notes: docs/ministack.md.

    with MinistackServer() as ms:                       # free port, 127.0.0.1 only
        subprocess.run([...], env=ms.env(), check=True)  # AWS_ENDPOINT_URL + fake credentials
        boto3.client("sqs", **ms.boto3_kwargs())

Run alone (serves until Ctrl-C / SIGTERM, prints `export` lines for a shell):

    python -m infra.local.ministack --port 4566
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import REPO_ROOT
from infra.local.aws_env import FAKE_CREDENTIAL, REGION, aws_env, boto3_kwargs, client_env, without_aws
from infra.local.ports import LOOPBACK, free_port, port_in_use
from infra.local.server_process import ServerProcess

logger = logging.getLogger(__name__)

VENV_DIR = REPO_ROOT / ".venv-ministack"

# Pinned together: ministack pins botocore==1.43.106; boto3 1.43.106 is the release built on it.
MINISTACK_VERSION = "1.5.33"
BOTO3_VERSION = "1.43.106"
PINNED_REQUIREMENTS = (f"ministack=={MINISTACK_VERSION}", f"boto3=={BOTO3_VERSION}")
_PINS_MARKER = ".telegent-sms-pins.json"

HOST = LOOPBACK
ACCOUNT_ID = "000000000000"


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, SIGKILL it when the process that started it dies,
    so a killed test run or demo never leaves an emulator behind."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    return venv_dir / "bin" / "python"


def _base_interpreter() -> str:
    # The interpreter behind the current venv (if any): the ministack venv, and so the emulator's
    # Lambdas, then run the same Python version as the project's .venv (which synthesizes the
    # stack and names the runtime after its own version in target=emulator).
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure_venv(
    venv_dir: Path = VENV_DIR,
    *,
    requirements: tuple[str, ...] = PINNED_REQUIREMENTS,
    python: str | None = None,
    timeout: float = 600.0,
) -> Path:
    """Create `venv_dir` with the pinned ministack (+ boto3) unless it already has exactly those pins.

    Idempotent and cheap when nothing changed (reads one marker file). Returns the venv's python.
    """
    venv_dir = Path(venv_dir)
    py = venv_python(venv_dir)
    marker = venv_dir / _PINS_MARKER
    wanted = {"requirements": list(requirements)}
    if py.exists() and marker.exists():
        with contextlib.suppress(ValueError, OSError):
            if json.loads(marker.read_text()) == wanted:
                return py
    if not py.exists():
        logger.info("creating %s", venv_dir)
        subprocess.run([python or _base_interpreter(), "-m", "venv", str(venv_dir)], check=True, timeout=timeout)
    logger.info("installing %s into %s", " ".join(requirements), venv_dir)
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
        timeout=timeout,
    )
    marker.write_text(json.dumps(wanted))
    return py


class MinistackServer(ServerProcess):
    """`python -m ministack` from its own venv, bound to 127.0.0.1 on a free (or given) port.

    Everything the server writes (its log, the unpacked Lambda code and layers, its pid file,
    its TLS certificate) goes to a private working directory (TMPDIR of the server), removed by
    stop() unless keep_workdir is set.

    tls=True serves HTTPS with a self-signed certificate (env()/boto3_kwargs() trust it).
    auth=True turns on ministack's IAM evaluation (AUTH=true): callers and Lambdas (which get
    execution-role sessions) are held to their policies. A CDK app deployed to such a server
    must use CliCredentialsStackSynthesizer (the bootstrap's asset-publishing role is refused
    access to the asset bucket), and resource policies that deny aws:SecureTransport=false
    (enforceSSL) need tls=True. See docs/ministack.md.
    """

    label = "ministack"

    def __init__(
        self,
        port: int | None = None,
        *,
        venv_dir: Path = VENV_DIR,
        install: bool = True,
        startup_timeout: float = 30.0,
        region: str = REGION,
        extra_env: Mapping[str, str] | None = None,
        keep_workdir: bool = False,
        tls: bool = False,
        auth: bool = False,
    ) -> None:
        self.host = HOST
        self.port = port or free_port(self.host)
        self.venv_dir = Path(venv_dir)
        self.install = install
        self.startup_timeout = startup_timeout
        self.region = region
        self.extra_env = dict(extra_env or {})
        self.keep_workdir = keep_workdir
        self.tls = tls
        self.auth = auth
        self.endpoint_url = f"{'https' if tls else 'http'}://{self.host}:{self.port}"
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> MinistackServer:
        if self.running:
            return self
        python = ensure_venv(self.venv_dir) if self.install else venv_python(self.venv_dir)
        if not python.exists():
            raise FileNotFoundError(f"{python} missing: run ensure_venv() or start with install=True")
        if port_in_use(self.host, self.port):
            raise OSError(f"{self.host}:{self.port} is already in use")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"ministack-{self.port}-"))
        self.log_path = self.workdir / "ministack.log"
        self._log_file = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [str(python), "-m", "ministack"],
            env=self._server_env(),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Own process group: stop() also ends the Lambda workers the server spawned.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("ministack %s ready at %s (pid %s)", MINISTACK_VERSION, self.endpoint_url, self.pid)
        return self

    def _server_env(self) -> dict[str, str]:
        assert self.workdir is not None
        env = without_aws(os.environ)
        env.update(
            {
                "GATEWAY_PORT": str(self.port),
                "BIND_HOST": self.host,  # default would be 0.0.0.0
                # The host name ministack writes into URLs it returns (queue URLs, the custom
                # resource ResponseURL): the loopback address itself, not "localhost".
                "MINISTACK_HOST": self.host,
                "MINISTACK_REGION": self.region,
                "MINISTACK_ACCOUNT_ID": ACCOUNT_ID,
                "TMPDIR": str(self.workdir),
                "PYTHONUNBUFFERED": "1",
                # Lambdas inherit the server's environment: fake credentials, no metadata service.
                "AWS_ACCESS_KEY_ID": FAKE_CREDENTIAL,
                "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIAL,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        if self.tls:
            # Self-signed certificate generated at start under $TMPDIR/ministack-tls/ (needs the
            # openssl CLI). Note: as root, ministack also binds 127.0.0.1:443 when it is free.
            env["USE_SSL"] = "1"
        if self.auth:
            env["AUTH"] = "true"
        env.update(self.extra_env)
        return env

    @property
    def ca_cert(self) -> Path | None:
        """The server's self-signed certificate (tls=True, after start), else None."""
        if not self.tls or self.workdir is None:
            return None
        path = self.workdir / "ministack-tls" / "server.crt"
        return path if path.exists() else None

    def is_ready(self) -> bool:
        return self.health() is not None

    def health(self) -> dict[str, Any] | None:
        """The /_ministack/health document, or None while the server does not answer."""
        context = None
        if self.tls:
            # Only this probe skips verification (the certificate may not exist yet): it talks
            # to our own child process on the loopback interface.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            url = f"{self.endpoint_url}/_ministack/health"
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                document = json.loads(response.read())
        except (OSError, ValueError):
            return None
        return document if isinstance(document, dict) and "services" in document else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group (server + Lambda workers), SIGKILL after `timeout`."""
        process, self._process = self._process, None
        if process is not None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait(timeout=timeout)
            # Workers may outlive a server that exited on its own.
            self._signal_group(process, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        atexit.unregister(self.stop)
        if self.workdir is not None and not self.keep_workdir:
            if self.log_path is not None and self.log_path.exists():
                # Keep the log beside the workdir for post-mortems; the rest (code, layers) goes.
                kept = self.workdir.with_name(self.workdir.name + ".log")
                shutil.copyfile(self.log_path, kept)
                self.log_path = kept
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The group was created by start() (start_new_session), so its id is the server's pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def reset(self) -> None:
        """Forget every resource in every service (POST /_ministack/reset)."""
        request = urllib.request.Request(f"{self.endpoint_url}/_ministack/reset", data=b"", method="POST")
        context = ssl.create_default_context(cafile=str(self.ca_cert)) if self.ca_cert else None
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            response.read()

    # -- clients -----------------------------------------------------------------------------------

    def aws_env(self) -> dict[str, str]:
        """Only the variables that point a client at this server (and make it trust its
        certificate when tls=True: botocore via AWS_CA_BUNDLE, Node.js/the cdk CLI via
        NODE_EXTRA_CA_CERTS)."""
        env = aws_env(self.endpoint_url, self.region, account_id=ACCOUNT_ID)
        if self.ca_cert is not None:
            env["AWS_CA_BUNDLE"] = str(self.ca_cert)
            env["NODE_EXTRA_CA_CERTS"] = str(self.ca_cert)
        return env

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """A complete environment for a subprocess (aws CLI, cdk CLI, a demo): `base` (default
        os.environ) without any real AWS credentials/profile, plus aws_env()."""
        env = client_env(self.endpoint_url, base, self.region, account_id=ACCOUNT_ID)
        env.update(self.aws_env())
        return env

    def boto3_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for boto3.client()/resource() in this process."""
        kwargs = boto3_kwargs(self.endpoint_url, self.region)
        if self.ca_cert is not None:
            kwargs["verify"] = str(self.ca_cert)
        return kwargs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run ministack on 127.0.0.1 until Ctrl-C / SIGTERM.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--ensure-venv", action="store_true", help="only create/update .venv-ministack, then exit")
    parser.add_argument("--keep-workdir", action="store_true", help="keep unpacked Lambda code and the log")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS (self-signed certificate)")
    parser.add_argument("--auth", action="store_true", help="enforce IAM policies (AUTH=true)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.ensure_venv:
        print(ensure_venv())
        return 0

    server = MinistackServer(
        port=args.port or None, keep_workdir=args.keep_workdir, tls=args.tls, auth=args.auth
    ).start()
    print(server.endpoint_url, flush=True)
    for name, value in server.aws_env().items():
        print(f"export {name}={value}", flush=True)
    print(f"# log: {server.log_path}", flush=True)

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where SIGINT is ignored
    try:
        while server.running:
            time.sleep(0.5)
        print(f"ministack exited:\n{server.log_tail()}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

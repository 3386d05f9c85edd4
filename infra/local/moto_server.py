"""A real moto server in a subprocess, for tests and local runs (DESIGN.md section 6).

    with MotoServer() as moto:
        os.environ.update(moto.env())  # AWS_ENDPOINT_URL, region, fake credentials
        boto3.client("sqs").create_queue(QueueName="q")

Run alone (serves until Ctrl-C):

    python -m infra.local.moto_server --port 5000
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from infra import REPO_ROOT
from infra.local.aws_env import aws_env
from infra.local.ports import LOOPBACK, free_port
from infra.local.server_process import ServerProcess

logger = logging.getLogger(__name__)


class MotoServer(ServerProcess):
    """`python -m moto.server` as a separate process on 127.0.0.1."""

    label = "moto server"

    def __init__(self, port: int | None = None, host: str = LOOPBACK, startup_timeout: float = 20.0):
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout = startup_timeout
        self.endpoint_url = f"http://{host}:{self.port}"
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> MotoServer:
        if self.running:
            return self
        # The server logs every request; a file (not a pipe nobody reads) keeps it from blocking.
        self._log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"moto-{self.port}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log_file.name)
        self._process = subprocess.Popen(
            self.command(),
            cwd=REPO_ROOT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except Exception:
            self.stop()
            raise
        logger.info("moto server ready at %s (pid %s)", self.endpoint_url, self._process.pid)
        return self

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def is_ready(self) -> bool:
        return self.ping()

    def ping(self) -> bool:
        """True when the server answers HTTP (any status code counts)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        atexit.unregister(self.stop)

    def reset(self) -> None:
        """Forget every resource in every service (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def env(self) -> dict[str, str]:
        return aws_env(self.endpoint_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a moto server on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--host", default=LOOPBACK)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    server = MotoServer(port=args.port or None, host=args.host).start()
    print(server.endpoint_url, flush=True)
    for name, value in server.env().items():
        print(f"export {name}={value}", flush=True)

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    with contextlib.suppress(KeyboardInterrupt):
        while server.running:
            time.sleep(0.5)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

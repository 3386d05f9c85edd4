"""moto server whose DynamoDB requests run one at a time.

Why: moto 5.x's TransactWriteItems deep-copies every table it touches (to roll back on failure)
without a lock. A PutItem/UpdateItem on the same table from another request thread meanwhile
makes the copy fail with "RuntimeError: dictionary changed size during iteration", which the
client sees as HTTP 500 (botocore retries it, and sometimes gives up). Real DynamoDB has no such
failure, so a sender that writes concurrently gets spurious 500s from stock moto. This runs the
same server with one lock around every DynamoDB action (the server is GIL-bound anyway).

    with LockedMotoServer() as moto: ...                  # same API as MotoServer
    python -m tests.local.moto_locked -H 127.0.0.1 -p 5000  # same CLI as python -m moto.server
"""

from __future__ import annotations

import atexit
import logging
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.local.moto_server import MotoServer

logger = logging.getLogger(__name__)


def install_dynamodb_lock() -> None:
    """Serialise moto's DynamoDB request handling in this process."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_serialised", False):
        return
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    call_action._serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


class LockedMotoServer(MotoServer):
    """MotoServer, but the subprocess is `python -m tests.local.moto_locked`."""

    def start(self) -> LockedMotoServer:
        if self.running:
            return self
        self._log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"moto-{self.port}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log_file.name)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.local.moto_locked", "-H", self.host, "-p", str(self.port)],
            cwd=Path(__file__).resolve().parents[2],
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
        logger.info("moto server (DynamoDB serialised) ready at %s (pid %s)", self.endpoint_url, self._process.pid)
        return self

    def __enter__(self) -> LockedMotoServer:
        return self.start()


def main(argv: list[str] | None = None) -> None:
    install_dynamodb_lock()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()

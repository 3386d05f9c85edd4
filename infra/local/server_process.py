"""What every local server process we run (moto, ministack) has in common: readiness, logs, lifetime."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self


class ServerProcess:
    """A server in a child process, logging to `log_path`; subclasses start/stop it and say when it is ready."""

    label = "server"
    endpoint_url: str
    startup_timeout: float
    log_path: Path | None
    _process: subprocess.Popen[bytes] | None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def is_ready(self) -> bool:
        """True once the server answers requests."""
        raise NotImplementedError

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with code {self._process.returncode}:\n{self.log_tail()}")
            if self.is_ready():
                return
            time.sleep(0.1)
        raise TimeoutError(
            f"{self.label} did not answer on {self.endpoint_url} within {self.startup_timeout}s:\n{self.log_tail()}"
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

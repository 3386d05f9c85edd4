"""Results: rows of the figures table, extra tables, formatting, progress log, machine info."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import REPO_ROOT

STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


# -- results


@dataclass
class Row:
    figure: str
    name: str
    value: str
    target: str
    passed: bool | None  # None: informational
    detail: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    extra_tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)


def fmt_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(out)


def verdict(passed: bool | None) -> str:
    return "info" if passed is None else ("PASS" if passed else "FAIL")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- machine info


def machine_info() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{now} | nproc {nproc} | {model} | Python {platform.python_version()} | sender {sender_version()}"


def sender_version() -> str:
    """Read-only git queries: which commit, and whether functions/ (the Lambda code) differs from it."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=10)

    try:
        head = git("rev-parse", "--short", "HEAD").stdout.strip() or "?"
        changed = git("diff", "--quiet", "HEAD", "--", "functions").returncode != 0
        untracked = bool(git("ls-files", "--others", "--exclude-standard", "functions").stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        return "(git unavailable)"
    return f"{head}{' + uncommitted changes' if changed or untracked else ''}"

"""`make bench`: start the local stack, run the selected figures, print one table."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import infra.local.bench
from infra.local.bench.fig1_batch import figure_1
from infra.local.bench.fig4_sustained import figure_4
from infra.local.bench.fig5_imports import figure_5
from infra.local.bench.fig6_memory import figure_6
from infra.local.bench.fig7_ambiguous import figure_7
from infra.local.bench.fig8_priority import figure_8
from infra.local.bench.fig9_segments import figure_9
from infra.local.bench.fig10_tracking import figure_10
from infra.local.bench.fig23_drain import figures_2_3
from infra.local.bench.report import STARTED, Report, Row, fmt_table, log, machine_info, verdict
from infra.local.bench.stack import QUICK, Ctx, Sizes
from infra.local.moto_locked import LockedMotoServer
from infra.local.moto_server import MotoServer
from infra.local.sandbox import sandbox_process

FIGURES: dict[str, Callable[[Ctx, Report], None]] = {
    "1": figure_1,
    "23": figures_2_3,
    "4": figure_4,
    "5": figure_5,
    "6": figure_6,
    "7": figure_7,
    "8": figure_8,
    "9": figure_9,
    "10": figure_10,
}


def parse_only(text: str | None) -> list[str]:
    if not text:
        return list(FIGURES)
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    # Figures 2 and 3 share one run (key "23"): either number, or 23, selects it.
    aliases = {key: ({key} | set(key) if key == "23" else {key}) for key in FIGURES}
    known = set().union(*aliases.values())
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"--only: unknown figure(s) {sorted(unknown)}; choose from 1-10")
    return [key for key in FIGURES if wanted & aliases[key]]


def main(argv: list[str] | None = None) -> int:
    doc = infra.local.bench.__doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m infra.local.bench", description=doc.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated figures to run, e.g. 1,5 (2 and 3 share one run)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run, not a measurement")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs directory")
    parser.add_argument(
        "--stock-moto",
        action="store_true",
        help="plain moto server (its TransactWriteItems fails with HTTP 500 under concurrent writes)",
    )
    args = parser.parse_args(argv)

    selected = parse_only(args.only)
    sizes = QUICK if args.quick else Sizes()
    header = machine_info()
    log(header)
    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="telegent-bench-"))
    failed_figures: list[str] = []
    try:
        moto_server = MotoServer() if args.stock_moto else LockedMotoServer()
        with moto_server as moto, sandbox_process(control_timeout=60) as sandbox:
            log(f"moto {moto.endpoint_url}, sandbox {sandbox.base_url}, worker logs in {workdir}")
            ctx = Ctx(moto=moto, sandbox=sandbox, sizes=sizes, workdir=workdir)
            for key in selected:
                try:
                    FIGURES[key](ctx, report)
                except Exception as exc:  # one broken figure must not hide the others
                    log(f"figure {key} could not be measured: {type(exc).__name__}: {exc}")
                    failed_figures.append(key)
                    reason = f"{type(exc).__name__}: {exc}"[:300]
                    report.rows.append(Row(key, "(not measured)", "-", "-", False, reason))
    finally:
        if not args.keep_logs and not failed_figures:
            for path in workdir.iterdir():
                path.unlink()
            workdir.rmdir()
        elif workdir.exists():
            log(f"worker logs kept in {workdir}")

    flags = (" (QUICK: smoke sizes)" if args.quick else "") + (" (stock moto)" if args.stock_moto else "")
    print(f"telegent-sms bench{flags} | {header}")
    print(
        fmt_table(
            ["fig", "figure", "measured", "target", "result", "detail"],
            [[r.figure, r.name, r.value, r.target, verdict(r.passed), r.detail] for r in report.rows],
        )
    )
    for title, headers, rows in report.extra_tables:
        print(f"\n{title}")
        print(fmt_table(headers, rows))
    log(f"done in {time.monotonic() - STARTED:.0f}s")
    return 0

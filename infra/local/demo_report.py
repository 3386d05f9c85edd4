"""Shared by both demos: send the events/ samples, match outcomes to expectations, print tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from infra.local.samples import Sample


@dataclass
class SampleOutcome:
    sample: Sample
    message_id: str
    row: dict[str, Any] | None
    dlq_code: str | None
    problems: list[str]


def send_waves(
    samples: Sequence[Sample], send: Callable[[list[str]], list[str]], drain: Callable[[], object]
) -> dict[str, str]:
    """Send wave 1, wait until processed, then wave 2 (duplicates of wave 1). Returns name -> SQS id."""
    ids: dict[str, str] = {}
    for wave in sorted({s.wave for s in samples}):
        batch = [s for s in samples if s.wave == wave]
        for sample, message_id in zip(batch, send([s.body for s in batch]), strict=True):
            ids[sample.name] = message_id
        drain()
    return ids


def match_outcomes(
    samples: Sequence[Sample],
    ids: dict[str, str],
    rows: list[dict[str, Any]],
    dlq: list[dict[str, Any]],
    sends_by_key: dict[str, int] | None = None,
) -> list[SampleOutcome]:
    by_key = {row["RequestId"]: row for row in rows}
    dlq_by_source = {m["message_attributes"].get("SourceMessageId"): m for m in dlq}
    outcomes = []
    for sample in samples:
        message_id = ids[sample.name]
        key = sample.request_id or message_id
        row = by_key.get(key)
        copy = dlq_by_source.get(message_id)
        dlq_code = copy["message_attributes"].get("ErrorCode") if copy else None
        problems = []
        if (row or {}).get("Status") != sample.status:
            problems.append(f"row status {(row or {}).get('Status')} != expected {sample.status}")
        if dlq_code != sample.dlq:
            problems.append(f"DLQ code {dlq_code} != expected {sample.dlq}")
        for name, wanted in (("Encoding", sample.encoding), ("Segments", sample.segments)):
            if wanted is not None and (row or {}).get(name) != wanted:
                problems.append(f"{name} {(row or {}).get(name)} != expected {wanted}")
        outcomes.append(SampleOutcome(sample, message_id, row, dlq_code, problems))
    return outcomes


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |", line]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    out.append(line)
    return "\n".join(out)


def clip(text: Any, width: int = 60) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= width else value[: width - 1] + "…"


def print_report(outcomes: list[SampleOutcome], rows: list[dict[str, Any]], dlq: list[dict[str, Any]]) -> bool:
    print("\nSamples (events/requests) and what became of each:")
    print(
        table(
            ["sample", "result row", "MessageId", "DLQ", "as expected"],
            [
                (
                    o.sample.name,
                    (o.row or {}).get("Status", "-"),
                    (o.row or {}).get("MessageId", ""),
                    o.dlq_code or "",
                    "yes" if not o.problems else "NO: " + "; ".join(o.problems),
                )
                for o in outcomes
            ],
        )
    )
    print(f"\nResult rows (DynamoDB, {len(rows)} items):")
    print(
        table(
            ["RequestId", "Status", "MessageId", "To", "Type", "Cost", "Attempts", "ErrorCode", "ErrorMessage"],
            [
                (
                    clip(r["RequestId"], 38),
                    r.get("Status"),
                    r.get("MessageId"),
                    r.get("To"),
                    r.get("MessageType"),
                    r.get("Cost"),
                    r.get("Attempts"),
                    r.get("ErrorCode"),
                    clip(r.get("ErrorMessage"), 50),
                )
                for r in sorted(rows, key=lambda r: r.get("CreatedAt", ""))
            ],
        )
    )
    print(f"\nDead-letter queue ({len(dlq)} messages):")
    print(
        table(
            ["SourceMessageId", "ErrorCode", "Reason", "Body (first 40 chars)"],
            [
                (
                    m["message_attributes"].get("SourceMessageId"),
                    m["message_attributes"].get("ErrorCode"),
                    clip(m["message_attributes"].get("Reason"), 60),
                    clip(json.dumps(m["body"])[1:-1], 40),
                )
                for m in dlq
            ],
        )
    )
    failed = [o for o in outcomes if o.problems]
    print(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} samples ended as expected.")
    return not failed

"""Figure 9: segments sent with SMART_ENCODING on, against the same bodies sent as written (DESIGN.md 9).

A seeded mix of bodies goes through the real handler (one container, SMART_ENCODING=true) to the sandbox.
Measured: the segments of the bodies Telegent received (counted again here from what the sandbox
recorded, with messaging.segments) against the segments of the bodies as the producers wrote them;
and whether every row's `Segments`/`Encoding` is what was sent. The mix (share of messages):
- 40 % plain GSM-7 text (one or several segments): smart encoding changes nothing;
- 25 % the same with typographic punctuation (curly quotes, dashes, ellipsis, no-break spaces): UCS-2
  as written, GSM-7 once replaced;
- 10 % typographic punctuation plus an emoji: stays UCS-2, so left exactly as written;
- 10 % accented Latin of the GSM basic table (é, ü, ñ, à) and the euro sign (an extension character);
- 10 % Cyrillic or Greek lower case: UCS-2 whatever is replaced;
- 5 % long typographic text (several segments).
"""

from __future__ import annotations

import random
from collections import Counter

from infra.local.bench.report import Report, Row, log
from infra.local.bench.stack import Ctx, sms_body, world_spec
from infra.local.bench.workers import start_worker
from messaging.segments import count_segments, smart_encode

SEED = 9
WORDS = [
    "your",
    "order",
    "parcel",
    "table",
    "code",
    "is",
    "ready",
    "at",
    "the",
    "desk",
    "today",
    "gate",
    "flight",
    "boarding",
    "from",
    "until",
    "store",
]
OTHER_SCRIPTS = [
    "\u0412\u0430\u0448 \u0437\u0430\u043a\u0430\u0437 \u0433\u043e\u0442\u043e\u0432. ",  # Russian
    "\u03a4\u03bf \u03b4\u03ad\u03bc\u03b1. ",  # Greek
]
TYPOGRAPHIC = ["\u2019", "\u201c", "\u201d", " \u2014 ", "\u2026", "\u00a0", " \u2013 "]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _text(rng: random.Random, chars: int) -> str:
    out = ""
    while len(out) < chars:
        out += _sentence(rng, rng.randint(4, 12)) + " "
    return out[:chars].rstrip()


def _typographic(rng: random.Random, text: str, every: int = 4) -> str:
    """Typographic punctuation between some of the words, as word processors and phones write it."""
    words = text.split(" ")
    for index in range(rng.randrange(every), len(words), every):
        words[index] = rng.choice(TYPOGRAPHIC).strip() + words[index]
    return " ".join(words)


def mixed_bodies(count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """(kind, body) pairs in the proportions of the module docstring, seeded."""
    rng = random.Random(seed)
    kinds = ["plain"] * 8 + ["typographic"] * 5 + ["emoji"] * 2 + ["latin"] * 2 + ["cyrillic"] * 2 + ["long"]
    bodies = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        if kind == "plain":
            body = _text(rng, rng.choice([40, 120, 150, 300, 450]))
        elif kind == "typographic":
            body = _typographic(rng, _text(rng, rng.choice([60, 100, 140, 150])))
        elif kind == "emoji":
            body = _typographic(rng, _text(rng, rng.choice([50, 100]))) + " \U0001f44b"
        elif kind == "latin":
            body = _text(rng, rng.choice([80, 150])).replace("e", "\u00e9", 3).replace("u", "\u00fc", 2) + " 5 \u20ac"
        elif kind == "cyrillic":
            body = rng.choice(OTHER_SCRIPTS) * rng.choice([2, 4])
        else:
            body = _typographic(rng, _text(rng, rng.choice([350, 500])), every=6)
        bodies.append((kind, body))
    return bodies


def figure_9(ctx: Ctx, report: Report) -> None:
    n = max(100, ctx.sizes.drain_messages // 5)
    log(f"figure 9: {n} mixed bodies through one container with SMART_ENCODING=true")
    world = ctx.world("f9")
    ctx.vendor(latency_ms=0)
    mix = mixed_bodies(n)
    keys = [f"f9-{i}" for i in range(n)]
    world.send_bodies([sms_body(key, body) for key, (_, body) in zip(keys, mix, strict=True)])
    max_seconds = 60 + n * 0.5
    env = ctx.lambda_env(world, SMART_ENCODING="true")
    result = start_worker(ctx, "f9-drain", "drain", {"world": world_spec(world), "max_seconds": max_seconds}, env).wait(
        timeout=max_seconds + 60
    )

    rows = {row["RequestId"]: row for row in world.result_rows()}
    sent_bodies = [m["request"]["Body"] for m in ctx.sandbox.sent_messages()]
    as_written = sum(count_segments(body).segments for _, body in mix)
    as_sent = sum(count_segments(body).segments for body in sent_bodies)
    recorded = sum(int(rows.get(key, {}).get("Segments") or 0) for key in keys)
    sent_rows = sum(1 for key in keys if rows.get(key, {}).get("Status") == "SENT")
    mismatched = [
        key
        for key, (_, body) in zip(keys, mix, strict=True)
        if (cost := count_segments(smart_encode(body)))
        and (rows.get(key, {}).get("Segments"), rows.get(key, {}).get("Encoding")) != (cost.segments, cost.encoding)
    ]
    changed = Counter(kind for kind, body in mix if smart_encode(body) != body)
    untouched_ucs2 = sum(1 for _, body in mix if count_segments(smart_encode(body)).encoding == "UCS-2")
    ratio = as_sent / as_written if as_written else float("nan")
    report.rows.append(
        Row(
            "9a",
            f"segments sent / segments as written, {n} mixed bodies, SMART_ENCODING on",
            f"{ratio:.3f} ({as_sent} vs {as_written})",
            "< 1",
            ratio < 1 and len(sent_bodies) == n,
            f"{sum(changed.values())} bodies replaced ({dict(changed)}), {untouched_ucs2} still UCS-2 and sent as "
            f"written; {len(sent_bodies)} vendor sends, {sent_rows} SENT rows, drained={result['drained']} in "
            f"{result['seconds']:.1f}s",
        )
    )
    report.rows.append(
        Row(
            "9b",
            "rows whose Segments/Encoding differ from the Body as sent (same run)",
            str(len(mismatched)),
            "0",
            not mismatched and recorded == as_sent,
            f"rows sum {recorded} segments, the vendor's bodies {as_sent}",
        )
    )

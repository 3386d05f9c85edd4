"""The bench's local stack: sizes, the per-figure world and sandbox settings, request bodies."""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.moto_server import MotoServer
from infra.local.sandbox import SandboxControl
from infra.local.world import World, provision_world

TO, FROM = "+18015737111", "+18018018011"
MIB = 1024 * 1024
HIGH_RATE = 100_000  # sender-side limit that never binds (figures 1-3, 6)
HIGH_BURST = 1_000


# -- sizes


@dataclass(frozen=True)
class Sizes:
    batch_reps: int = 5  # measured batches of 10 (figure 1)
    one_call_reps: int = 9
    baseline_reps: int = 3
    drain_messages: int = 1000  # figures 2-3
    drain_workers: int = 2
    sustain_messages: int = 800  # figure 4
    sustain_rate: int = 600
    sustain_burst: int = 10
    sustain_workers: int = 3
    import_reps: int = 7  # figure 5
    breakdown_reps: int = 5
    media_bytes: int = 5 * MIB  # figure 6
    ambiguous_messages: int = 1000  # figure 7
    lane_backlog: int = 1000  # figure 8: normal backlog, drained at lane_rate x (1 - lane_reserve)
    lane_priority: int = 20  # priority messages enqueued mid-run
    lane_rate: int = 600
    lane_reserve: float = 0.2
    lane_normal_workers: int = 2  # each mapping's MaximumConcurrency (the stack's default)
    lane_priority_workers: int = 2
    track_messages: int = 200  # figure 10: messages with receipts, and as many with receipts lost
    track_rate: int = 300  # figure 10: shared limit while a backlog drains with the poller running
    track_backlog: int = 300


QUICK = Sizes(
    batch_reps=2,
    one_call_reps=3,
    baseline_reps=1,
    drain_messages=200,
    sustain_messages=150,
    import_reps=3,
    breakdown_reps=3,
    ambiguous_messages=200,
    lane_backlog=200,
    lane_priority=10,
    track_messages=40,
    track_backlog=80,
)


@dataclass
class Ctx:
    moto: MotoServer
    sandbox: SandboxControl
    sizes: Sizes
    workdir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def world(self, figure: str, *, visibility_timeout: int = 30, max_receive_count: int = 3) -> World:
        return provision_world(
            self.moto.endpoint_url,
            prefix="bench",
            suffix=f"{figure}-{self.run_id}",
            visibility_timeout=visibility_timeout,
            max_receive_count=max_receive_count,
        )

    def vendor(self, *, latency_ms: float = 0, rate_limit_per_minute: int | None = None) -> None:
        """A clean sandbox for one figure: no records, 5-minute tokens, the given latency and limit."""
        self.sandbox.configure(latency_ms=latency_ms, rate_limit_per_minute=rate_limit_per_minute or 0, token_ttl=300)
        self.sandbox.reset()

    def lambda_env(self, world: World, *, rate: int = HIGH_RATE, burst: int = HIGH_BURST, **extra: str) -> dict:
        env = dict(os.environ)
        env.update(
            world.lambda_env(
                self.sandbox.base_url,
                rate_limit_per_minute=rate,
                rate_limit_burst=burst,
                MEDIA_PREFIX="mms/",
                **extra,
            )
        )
        return env


def world_spec(world: World) -> dict[str, Any]:
    return {f.name: getattr(world, f.name) for f in dataclasses.fields(world) if not f.name.startswith("_")}


def sms_body(key: str, text: str) -> dict[str, Any]:
    return {"IdempotencyKey": key, "To": [{"Number": TO}], "From": FROM, "Body": text}

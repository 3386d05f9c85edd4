"""The local world for integration tests: moto server + Telegent sandbox + the real handler via the runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra.local.moto_locked import LockedMotoServer
from infra.local.moto_server import MotoServer
from infra.local.sandbox import TelegentSandbox
from infra.local.world import provision_world
from sender.wiring import reset_dependencies
from tests.integration.helpers import FAST_VENDOR_TIMEOUTS, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT, LogCapture, Stack


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    # DynamoDB serialised: stock moto's TransactWriteItems races concurrent writes (spurious 500s).
    with LockedMotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as server:
        yield server


@pytest.fixture
def stack(moto: MotoServer, sandbox: TelegentSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    sandbox.reset()
    sandbox.configure(token_ttl=300, latency_ms=0, rate_limit_per_minute=None)
    world = provision_world(
        moto.endpoint_url,
        suffix=uuid.uuid4().hex[:8],
        max_receive_count=MAX_RECEIVE_COUNT,
        visibility_timeout=VISIBILITY_TIMEOUT,
    )
    # A generous account budget: tests about the limiter itself set their own.
    env = world.lambda_env(
        sandbox.base_url, rate_limit_per_minute=6000, rate_limit_burst=100, MEDIA_PREFIX="mms/", **FAST_VENDOR_TIMEOUTS
    )
    # Ambiguous sends are reconciled through the sandbox's search (DESIGN.md 4b), which indexes at once here.
    env["AMBIGUOUS_SEARCH_DELAY_SECONDS"] = "1"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_dependencies()
    yield Stack(world, sandbox, monkeypatch)
    reset_dependencies()


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    yield capture
    capture.close()

"""Each stack variant is synthesized once per test session, with cdk-nag enabled.

Synthesis goes through `infra.app.create_app`, the same function `cdk synth` uses, with the
feature flags from cdk.json, so tests see the template the CLI would produce (minus asset
bundling, which is skipped: no pip run, no network).
"""

from __future__ import annotations

import pytest

from tests.infra.helpers import CONFIGURED_CONTEXT, Synthesized, synthesize


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """target=aws with every default."""
    return synthesize(tmp_path_factory.mktemp("default"), {})


@pytest.fixture(scope="session")
def configured_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """target=aws with the optional features switched on."""
    return synthesize(tmp_path_factory.mktemp("configured"), CONFIGURED_CONTEXT)


@pytest.fixture(scope="session")
def emulator_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("emulator"), {"target": "emulator", "ephemeral": "true"})


@pytest.fixture(scope="session", params=["default_stack", "configured_stack", "emulator_stack"])
def any_stack(request: pytest.FixtureRequest) -> Synthesized:
    return request.getfixturevalue(request.param)

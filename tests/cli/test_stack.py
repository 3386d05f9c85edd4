"""Stack discovery: the output keys the CLI reads are the ones the real stack (infra/stack.py) declares."""

from __future__ import annotations

import pytest

from infra.cli import stack as cli_stack
from tests.infra.conftest import default_stack
from tests.infra.helpers import Synthesized

__all__ = ["default_stack"]

# Outputs the stack does not declare yet; the commands that need them exit 1 and say so.
NOT_YET: set[str] = set()


@pytest.mark.infra
def test_every_output_the_cli_reads_exists_in_the_synthesized_stack(default_stack: Synthesized) -> None:
    declared = set(default_stack.template_json.get("Outputs", {}))
    wanted = {value for name, value in vars(cli_stack).items() if name.startswith("OUTPUT_")}
    assert wanted - NOT_YET <= declared, sorted(wanted - NOT_YET - declared)
    assert not (NOT_YET & declared), f"the stack has {sorted(NOT_YET & declared)} now: drop them from NOT_YET"


def test_the_stack_name_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli_stack.ENV_STACK, raising=False)
    assert cli_stack.default_stack_name() == "TelegentSms"
    monkeypatch.setenv(cli_stack.ENV_STACK, "TelegentSmsStaging")
    assert cli_stack.StackContext().stack_name == "TelegentSmsStaging"

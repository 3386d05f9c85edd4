"""`optout add|remove|list|import`: the opt-out table (DESIGN 10), or a clear exit 1 without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Operator, one_line_error


@pytest.fixture
def with_optouts(operator: Operator) -> Operator:
    """The stack with an OptOutTableName output and its table (partition key Number)."""
    name = f"{operator.world.prefix}-optouts"
    dynamodb = operator.world.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "Number", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "Number", "KeyType": "HASH"}],
    )
    return operator.with_outputs(f"{operator.stack_name}-optouts", OptOutTableName=name)


def test_without_the_table_every_command_says_so(operator: Operator, tmp_path: Path) -> None:
    csv = tmp_path / "numbers.csv"
    csv.write_text("+18015551234\n")
    for args in (("add", "+18015551234"), ("remove", "+18015551234"), ("list",), ("import", str(csv))):
        result = operator.run("optout", *args)
        assert result.exit_code == 1, args
        assert "OptOutTableName" in one_line_error(result)


def test_add_list_remove(with_optouts: Operator) -> None:
    added = with_optouts.json("optout", "add", "+18015551234")
    assert added["Source"] == "operator"
    listed = with_optouts.json("optout", "list")
    assert listed["Count"] == 1
    assert listed["OptOuts"][0]["Number"] == "+18015551234"
    assert with_optouts.json("optout", "remove", "+18015551234")["Removed"] is True
    assert with_optouts.json("optout", "list")["Count"] == 0

    missing = with_optouts.run("optout", "remove", "+18015551234")
    assert missing.exit_code == 1
    assert "is not opted out" in one_line_error(missing)
    bad = with_optouts.run("optout", "add", "8015551234")
    assert bad.exit_code == 2
    assert "not an E.164 number" in one_line_error(bad)


def test_import_a_csv_with_a_header(with_optouts: Operator, tmp_path: Path) -> None:
    csv = tmp_path / "numbers.csv"
    csv.write_text("Number,Note\n+18015551234,a\n\n+18015551235,b\n+18015551234,dup\n")
    assert with_optouts.json("optout", "import", str(csv))["Imported"] == 2
    listed = with_optouts.json("optout", "list")
    assert [item["Number"] for item in listed["OptOuts"]] == ["+18015551234", "+18015551235"]
    assert {item["Source"] for item in listed["OptOuts"]} == {"import"}


def test_import_refuses_a_file_with_a_bad_number_and_imports_nothing(with_optouts: Operator, tmp_path: Path) -> None:
    csv = tmp_path / "numbers.csv"
    csv.write_text("+18015551234\n555-1234\n")
    result = with_optouts.run("optout", "import", str(csv))
    assert result.exit_code == 2
    assert "row 2: '555-1234'" in one_line_error(result)
    assert with_optouts.json("optout", "list")["Count"] == 0

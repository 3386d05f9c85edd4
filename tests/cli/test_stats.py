"""`stats`: from a by-day index query, never a scan; blocked clearly while the table has no such index."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from infra.cli.stats import BY_DAY_INDEX, CREATED_ATTRIBUTE, DAY_ATTRIBUTE
from messaging.rows import iso, now_utc
from tests.cli.conftest import Operator, one_line_error


def test_stats_without_a_by_day_index_refuses_to_scan(operator: Operator) -> None:
    result = operator.run("stats", "--since", "1h")
    assert result.exit_code == 1
    assert f"stats needs the {BY_DAY_INDEX} index" in one_line_error(result)


def test_bad_since_is_bad_usage(operator: Operator) -> None:
    result = operator.run("stats", "--since", "yesterday")
    assert result.exit_code == 2


def test_stats_counts_the_window_from_the_index(operator: Operator) -> None:
    name = f"{operator.world.prefix}-messages-by-day"
    operator.world.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "RequestId", "AttributeType": "S"},
            {"AttributeName": DAY_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": CREATED_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "RequestId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_DAY_INDEX,
                "KeySchema": [
                    {"AttributeName": DAY_ATTRIBUTE, "KeyType": "HASH"},
                    {"AttributeName": CREATED_ATTRIBUTE, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    table = operator.world.resource("dynamodb").Table(name)
    now = now_utc()

    def put(key: str, status: str, age: timedelta, cost: str | None = None, segments: int = 1) -> None:
        created = now - age
        item: dict[str, object] = {"RequestId": key, "Status": status, DAY_ATTRIBUTE: created.date().isoformat()}
        item[CREATED_ATTRIBUTE] = iso(created)
        item["Segments"] = segments
        if cost:
            item["Cost"] = Decimal(cost)
        table.put_item(Item=item)

    put("a", "DELIVERED", timedelta(minutes=5), "0.0045", 2)
    put("b", "DELIVERED", timedelta(minutes=10), "0.0045")
    put("c", "FAILED", timedelta(minutes=20), "0.0045")
    put("d", "SENT", timedelta(minutes=30), "0.0045")
    put("e", "REJECTED", timedelta(minutes=40))
    put("DRYRUN#f", "DRY_RUN", timedelta(minutes=1))
    put("old", "DELIVERED", timedelta(hours=3), "1")

    with_index = operator.with_outputs(f"{operator.stack_name}-stats", MessagesTableName=name)
    stats = with_index.json("stats", "--since", "1h")
    assert stats["Total"] == 5
    assert stats["ByStatus"] == {"DELIVERED": 2, "FAILED": 1, "REJECTED": 1, "SENT": 1}
    assert stats["DeliveryRate"] == 0.5
    assert Decimal(stats["Cost"]) == Decimal("0.0180")
    assert stats["Segments"] == 6
    assert with_index.json("stats", "--since", "4h")["Total"] == 6

    table_output = with_index.run("stats", "--since", "1h")
    assert table_output.exit_code == 0
    assert "delivery rate: 50.0%" in table_output.stdout

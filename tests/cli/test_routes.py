"""`route show|set-callback`: documented, and a clear exit 1 until the vendor client has route calls."""

from __future__ import annotations

from tests.cli.conftest import Operator, one_line_error


def test_route_commands_say_they_are_not_available_yet(operator: Operator) -> None:
    for args in (("route", "show"), ("route", "set-callback", "https://example.com/hook")):
        result = operator.run(*args)
        assert result.exit_code == 1, args
        assert "route commands are not available yet" in one_line_error(result)

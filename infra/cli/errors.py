"""Expected failures: one clear line on stderr and an exit code (DESIGN.md section 12)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # not found, refused, failed
EXIT_USAGE = 2  # bad usage (Click uses 2 for its own usage errors too)


class CliError(Exception):
    """Something expected went wrong (unknown id, missing stack, invalid file): no traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class NotFound(CliError):
    """The id, stack or resource asked for does not exist."""


class UsageError(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class NotAvailable(CliError):
    """The deployed stack (or the sender) does not offer this yet."""

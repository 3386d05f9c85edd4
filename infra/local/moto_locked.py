"""moto server whose DynamoDB requests run one at a time.

Why: moto 5.x's TransactWriteItems deep-copies every table it touches (to roll back on failure)
without a lock. A PutItem/UpdateItem on the same table from another request thread meanwhile
makes the copy fail with "RuntimeError: dictionary changed size during iteration", which the
client sees as HTTP 500 (botocore retries it, and sometimes gives up). Real DynamoDB has no such
failure, so a sender that writes concurrently gets spurious 500s from stock moto. This runs the
same server with one lock around every DynamoDB action (the server is GIL-bound anyway).

The same deep copy makes every TransactWriteItems cost O(size of the tables it touches): with
1,000 items a transaction takes 100+ ms of the server's only CPU and the local stack slows down
as tables grow. Since the lock makes transactions exclusive, the whole-table copy is replaced by
an undo log of just the items the transaction names (same all-or-nothing outcome).

    with LockedMotoServer() as moto: ...                  # same API as MotoServer
    python -m infra.local.moto_locked -H 127.0.0.1 -p 5000  # same CLI as python -m moto.server
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from infra.local.moto_server import MotoServer

logger = logging.getLogger(__name__)


def install_dynamodb_lock() -> None:
    """Serialise moto's DynamoDB request handling in this process."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_serialised", False):
        return
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    call_action._serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def install_item_level_transaction_rollback() -> bool:
    """TransactWriteItems: undo the named items on failure instead of deep-copying whole tables.

    Only valid with install_dynamodb_lock() (nothing else may run during a transaction). Returns
    False, changing nothing, if this moto version is not shaped as expected.
    """
    import copy
    import types

    try:
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table
    except ImportError:
        return False
    backend = getattr(models, "DynamoDBBackend", None)
    if backend is None or getattr(models, "copy", None) is not copy or not hasattr(backend, "get_keys_value"):
        return False

    def deepcopy(value: Any, memo: Any = None) -> Any:
        # The backup moto takes of each table: the live table itself; the undo log below restores.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment]
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = self.get_table(op["TableName"])
                hash_key, range_key = self.get_keys_value(table, op["Item"] if op_type == "Put" else op["Key"])
            except Exception:  # moto rejects this entry itself; nothing of it gets applied
                continue
            undo.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(undo):
                items = table.items[hash_key] if range_key is not None else table.items
                slot = range_key if range_key is not None else hash_key
                if before is None:
                    items.pop(slot, None)
                else:
                    items[slot] = before
            raise

    backend.transact_write_items = transact_write_items
    return True


class LockedMotoServer(MotoServer):
    """MotoServer, but the subprocess is `python -m infra.local.moto_locked` (DynamoDB serialised)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "infra.local.moto_locked", "-H", self.host, "-p", str(self.port)]


def main(argv: list[str] | None = None) -> None:
    # One access-log line per request is most of an idle request's cost; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    install_dynamodb_lock()
    if not install_item_level_transaction_rollback():
        print("moto_locked: this moto is not shaped as expected; transactions keep their table copies", file=sys.stderr)
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()

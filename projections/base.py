"""What every read model shares: a view that writes through the batch's cursor."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow


class View(PostgresTrackingRecorder):
    """A materialised view whose rows and tracking position commit in one transaction.

    The projection runner opens the transaction, binds its cursor here, feeds a batch of
    events through the projection and records the tracking position before committing.
    Tables are created by migrations, never here.
    """

    tables: ClassVar[Sequence[str]] = ()

    _curs: Cursor[DictRow] | None = None

    @property
    def curs(self) -> Cursor[DictRow]:
        if self._curs is None:
            raise RuntimeError("A view writes only inside a projection batch.")
        return self._curs

    def bind(self, curs: Cursor[DictRow] | None) -> None:
        self._curs = curs

    def begin_batch(self, events: Sequence[Any]) -> None:
        """Called with the batch's decoded events before they are processed (for prefetching)."""

    def flush(self) -> None:
        """Called after the batch's events, inside its transaction (for buffered writes)."""

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)  # type: ignore[arg-type]
            return curs.fetchall()

    def caught_up_to(self, source: str, position: int, timeout: float = 5.0) -> bool:
        """Wait (briefly) until this view has applied `position`; read-your-writes for APIs."""
        deadline = time.monotonic() + timeout
        interval = 0.002
        while not self.has_tracking_id(source, position):
            if time.monotonic() > deadline:
                return False
            time.sleep(interval)
            interval = min(interval * 2, 0.05)
        return True

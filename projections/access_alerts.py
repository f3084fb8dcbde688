"""Break-the-glass alerts for the practice admin, open until acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.access.access_alert import AccessAlert
from projections.base import View


@dataclass(frozen=True)
class AlertRow:
    alert_id: UUID
    client_id: UUID
    accessed_by: UUID
    accessor_role: str
    kind: str
    access_id: UUID
    raised_at: datetime
    acknowledged_by: UUID | None
    acknowledged_at: datetime | None


class AccessAlertsView(View):
    tables = ("access_alerts",)

    def list(self, practice_id: UUID, open_only: bool = False, limit: int = 100) -> list[AlertRow]:
        sql = "SELECT * FROM access_alerts WHERE practice_id = %s"
        if open_only:
            sql += " AND acknowledged_at IS NULL"
        rows = self.query(sql + " ORDER BY raised_at DESC, alert_id LIMIT %s", (practice_id, limit))
        return [
            AlertRow(r["alert_id"], r["client_id"], r["accessed_by"], r["accessor_role"], r["kind"], r["access_id"],
                     r["raised_at"], r["acknowledged_by"], r["acknowledged_at"])
            for r in rows
        ]


class AccessAlerts(Projection[AccessAlertsView]):
    name = "access_alerts"
    topics = (AccessAlert.Raised.TOPIC, AccessAlert.Acknowledged.TOPIC)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: AccessAlert.Raised, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO access_alerts (alert_id, practice_id, client_id, accessed_by, accessor_role, kind, "
            "access_id, raised_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (e.originator_id, e.practice_id, e.client_id, e.accessed_by, e.accessor_role, e.kind, e.access_id,
             e.timestamp),
        )

    @process_event.register
    def _(self, e: AccessAlert.Acknowledged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE access_alerts SET acknowledged_by = %s, acknowledged_at = %s WHERE alert_id = %s",
            (e.by, e.timestamp, e.originator_id),
        )

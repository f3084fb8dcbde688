"""Turning an evaluation's findings into alert rows: open what is new, refresh what holds,
resolve what no longer does. Alert ids are derived from the practice, the finding's key and the
moment it opened, so a rebuild from zero gives every alert the same id again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from psycopg import Cursor

from domain.compliance.evaluation import Finding, FindingKey

ALERT_COLUMNS = (
    "alert_id, practice_id, key, rule_code, step, rule_version, kind, severity, target, subject_type, subject_id, "
    "period, client_id, clinician_id, supervisor_id, message, action, violation, since, due, status, opened_at, "
    "acknowledged_at, acknowledged_by, acknowledged_note, resolved_at"
)


REFRESHED = ("rule_version", "severity", "target", "clinician_id", "supervisor_id", "client_id", "message", "action",
             "violation", "since", "due")
"""The columns an evaluation may change on an alert that still holds, in `values` order."""


def key_text(key: FindingKey) -> str:
    rule_code, step, subject_type, subject_id, period = key
    return "|".join((rule_code, step, subject_type, str(subject_id or ""), period.isoformat() if period else ""))


def alert_id(practice_id: UUID, key: str, opened_at: datetime) -> UUID:
    return uuid5(NAMESPACE_URL, f"careledger:compliance-alert:{practice_id}:{key}:{opened_at.isoformat()}")


def apply_findings(
    curs: Cursor[Any], read: Cursor[Any], practice_id: UUID, findings: Sequence[Finding], kinds: dict[str, str],
    now: datetime,
) -> None:
    """`read` is a separate cursor for the SELECT (the batch cursor is pipelining writes)."""
    read.execute(
        f"SELECT alert_id, key, {', '.join(REFRESHED)} FROM cp_alerts WHERE practice_id = %s AND status <> 'resolved'",
        (practice_id,),
    )
    rows = {r["key"]: r for r in read.fetchall()}
    current = {key: r["alert_id"] for key, r in rows.items()}
    found = {key_text(f.key): f for f in findings}
    gone = [current[k] for k in current.keys() - found.keys()]
    if gone:
        curs.execute("UPDATE cp_alerts SET status = 'resolved', resolved_at = %s WHERE alert_id = ANY(%s)",
                     (now, gone))
    refresh, new = [], []
    for key, f in found.items():
        values = (f.rule_version, f.severity, f.target, f.clinician_id, f.supervisor_id, f.client_id, f.message,
                  f.action, f.violation, f.since, f.due)
        if key in current:
            if values != tuple(rows[key][c] for c in REFRESHED):  # most evaluations change nothing
                refresh.append((*values, current[key]))
        else:
            new.append((alert_id(practice_id, key, now), practice_id, key, f.rule_code, f.step, kinds[f.rule_code],
                        f.subject_type, f.subject_id, f.period, *values, now))
    if refresh:
        curs.executemany(
            "UPDATE cp_alerts SET rule_version = %s, severity = %s, target = %s, clinician_id = %s, "
            "supervisor_id = %s, client_id = %s, message = %s, action = %s, violation = %s, since = %s, due = %s "
            "WHERE alert_id = %s",
            refresh,
        )
    if new:
        curs.executemany(
            "INSERT INTO cp_alerts (alert_id, practice_id, key, rule_code, step, kind, subject_type, subject_id, "
            "period, rule_version, severity, target, clinician_id, supervisor_id, client_id, message, action, "
            "violation, since, due, status, opened_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', %s) "
            "ON CONFLICT (alert_id) DO NOTHING",
            new,
        )

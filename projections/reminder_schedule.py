"""Due work for appointment reminders: one row per appointment and reminder offset.

A booking adds a row per offset of the practice's scheduling policy at the time of booking
(`domain.reminders.timing.planned_offsets`: offsets already past at booking are left out; none when
the practice has reminders off). Cancelling, rescheduling, checking in, completing or marking a
no-show withdraws the rows still waiting; a reminder's Sent, Failed (for good) or Skipped closes
its row. A claimed row comes due again when its claim's lease runs out (the worker may have died:
the service then reconciles), a retryable failure when its retry time comes.

Settings changes apply to bookings made afterwards; a practice that turns reminders off is honoured
for rows already scheduled by the service, which skips them (`reminders_disabled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.errors import InvalidCommand
from domain.practices.practice import Practice
from domain.practices.scheduling_policy import SchedulingPolicy
from domain.reminders.reminder import Reminder, ReminderKey, reminder_id_for
from domain.reminders.timing import planned_offsets
from domain.scheduling.appointment import Appointment
from projections.base import View

PENDING = ("due", "in_flight", "retrying")


@dataclass(frozen=True)
class ReminderRow:
    reminder_id: UUID
    practice_id: UUID
    appointment_id: UUID
    offset_hours: int
    starts_at: datetime
    due_at: datetime
    state: str
    next_attempt_at: datetime
    attempts: int
    outcome: str | None

    @property
    def key(self) -> ReminderKey:
        return ReminderKey(self.practice_id, self.appointment_id, self.offset_hours)


class ReminderScheduleView(View):
    tables = ("reminder_schedule", "reminder_practice_settings")
    policies: dict[UUID, SchedulingPolicy]

    def begin_batch(self, events: Sequence[Any]) -> None:
        """Practice policies read in this batch (and changed by it), so a booking costs no round
        trip; dropped per batch, so a rolled-back batch leaves nothing behind."""
        self.policies = {}

    def policy(self, practice_id: UUID) -> SchedulingPolicy:
        if practice_id not in self.policies:
            with self.curs.connection.cursor() as read:  # its own cursor: results of the pipeline stay apart
                read.execute(
                    "SELECT offsets_hours, enabled FROM reminder_practice_settings WHERE practice_id = %s",
                    (practice_id,),
                )
                row = read.fetchone()
            self.policies[practice_id] = SchedulingPolicy() if row is None else SchedulingPolicy(
                reminder_offsets_hours=tuple(row["offsets_hours"]), reminders_enabled=row["enabled"]
            )
        return self.policies[practice_id]

    def due(self, now: datetime, limit: int = 500) -> list[ReminderKey]:
        """Reminders to work on now, the longest due first (all practices). Reminders of
        appointments that have started are left out (nothing would be sent), except claims whose
        outcome is unknown: those still need reconciling."""
        rows = self.query(
            "SELECT practice_id, appointment_id, offset_hours FROM reminder_schedule"
            " WHERE state = ANY(%s) AND next_attempt_at <= %s AND (starts_at > %s OR state = 'in_flight')"
            " ORDER BY due_at, reminder_id LIMIT %s",
            (list(PENDING), now, now, limit),
        )
        return [ReminderKey(r["practice_id"], r["appointment_id"], r["offset_hours"]) for r in rows]

    def for_appointment(self, appointment_id: UUID) -> list[ReminderRow]:
        rows = self.query(
            "SELECT * FROM reminder_schedule WHERE appointment_id = %s ORDER BY due_at", (appointment_id,)
        )
        return [self._row(r) for r in rows]

    def pending_count(self, practice_id: UUID | None = None) -> int:
        sql = "SELECT count(*) AS n FROM reminder_schedule WHERE state = ANY(%s)"
        params: list[Any] = [list(PENDING)]
        if practice_id is not None:
            sql += " AND practice_id = %s"
            params.append(practice_id)
        return int(self.query(sql, params)[0]["n"])

    @staticmethod
    def _row(r: dict[str, Any]) -> ReminderRow:
        return ReminderRow(
            r["reminder_id"], r["practice_id"], r["appointment_id"], r["offset_hours"], r["starts_at"], r["due_at"],
            r["state"], r["next_attempt_at"], r["attempts"], r["outcome"],
        )


def _policy(settings: dict[str, Any]) -> SchedulingPolicy:
    """The policy the settings describe; malformed settings (refused on the write path anyway)
    fall back to the defaults rather than stopping the projection."""
    try:
        return SchedulingPolicy.from_settings(settings)
    except InvalidCommand:
        return SchedulingPolicy()


class ReminderSchedule(Projection[ReminderScheduleView]):
    name = "reminder_schedule"
    topics = (
        Practice.Registered.TOPIC, Practice.SettingsChanged.TOPIC,
        Appointment.Booked.TOPIC, Appointment.Cancelled.TOPIC, Appointment.Rescheduled.TOPIC,
        Appointment.CheckedIn.TOPIC, Appointment.Completed.TOPIC, Appointment.MarkedNoShow.TOPIC,
        Reminder.Scheduled.TOPIC, Reminder.Claimed.TOPIC, Reminder.Sent.TOPIC, Reminder.Failed.TOPIC,
        Reminder.Skipped.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    # --- practice settings ----------------------------------------------------------------------

    def _save_settings(self, practice_id: UUID, time_zone: str | None, settings: dict[str, Any]) -> None:
        policy = _policy(settings)
        self.view.policies[practice_id] = policy
        self.view.curs.execute(
            "INSERT INTO reminder_practice_settings (practice_id, time_zone, offsets_hours, enabled)"
            " VALUES (%s, coalesce(%s, 'UTC'), %s, %s) ON CONFLICT (practice_id) DO UPDATE SET"
            " time_zone = coalesce(%s, reminder_practice_settings.time_zone),"
            " offsets_hours = EXCLUDED.offsets_hours, enabled = EXCLUDED.enabled",
            (practice_id, time_zone, list(policy.reminder_offsets_hours), policy.reminders_enabled, time_zone),
        )

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self._save_settings(e.originator_id, e.time_zone, e.settings)

    @process_event.register
    def _(self, e: Practice.SettingsChanged, tracking: Tracking) -> None:
        self._save_settings(e.originator_id, None, e.settings)

    # --- appointments -------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Appointment.Booked, tracking: Tracking) -> None:
        curs = self.view.curs
        policy = self.view.policy(e.practice_id)
        if not policy.reminders_enabled:
            return
        for offset, due_at in planned_offsets(e.starts_at, e.booked_at, policy.reminder_offsets_hours):
            curs.execute(
                "INSERT INTO reminder_schedule (reminder_id, practice_id, appointment_id, offset_hours, starts_at,"
                " due_at, state, next_attempt_at, changed_at) VALUES (%s, %s, %s, %s, %s, %s, 'due', %s, %s)"
                " ON CONFLICT (reminder_id) DO NOTHING",
                (reminder_id_for(e.originator_id, offset), e.practice_id, e.originator_id, offset, e.starts_at,
                 due_at, due_at, e.timestamp),
            )

    def _withdraw(self, e: Any) -> None:
        self.view.curs.execute(
            "UPDATE reminder_schedule SET state = 'withdrawn', changed_at = %s"
            " WHERE appointment_id = %s AND state IN ('due', 'retrying')",
            (e.timestamp, e.originator_id),
        )

    @process_event.register
    def _(self, e: Appointment.Cancelled, tracking: Tracking) -> None:
        self._withdraw(e)

    @process_event.register
    def _(self, e: Appointment.Rescheduled, tracking: Tracking) -> None:
        self._withdraw(e)

    @process_event.register
    def _(self, e: Appointment.CheckedIn, tracking: Tracking) -> None:
        self._withdraw(e)

    @process_event.register
    def _(self, e: Appointment.Completed, tracking: Tracking) -> None:
        self._withdraw(e)

    @process_event.register
    def _(self, e: Appointment.MarkedNoShow, tracking: Tracking) -> None:
        self._withdraw(e)

    # --- reminders ----------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Reminder.Scheduled, tracking: Tracking) -> None:
        """Normally the booking made the row already; this covers reminders created otherwise."""
        starts_at = e.due_at + timedelta(hours=e.offset_hours)
        self.view.curs.execute(
            "INSERT INTO reminder_schedule (reminder_id, practice_id, appointment_id, offset_hours, starts_at,"
            " due_at, state, next_attempt_at, changed_at) VALUES (%s, %s, %s, %s, %s, %s, 'due', %s, %s)"
            " ON CONFLICT (reminder_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.appointment_id, e.offset_hours, starts_at, e.due_at, e.due_at,
             e.timestamp),
        )

    def _set(self, e: Any, state: str, next_attempt_at: datetime | None = None, outcome: str | None = None,
             attempts: int | None = None) -> None:
        self.view.curs.execute(
            "UPDATE reminder_schedule SET state = %s, next_attempt_at = coalesce(%s, next_attempt_at),"
            " outcome = coalesce(%s, outcome), attempts = coalesce(%s, attempts), changed_at = %s"
            " WHERE reminder_id = %s",
            (state, next_attempt_at, outcome, attempts, e.timestamp, e.originator_id),
        )

    @process_event.register
    def _(self, e: Reminder.Claimed, tracking: Tracking) -> None:
        self._set(e, "in_flight", next_attempt_at=e.lease_until, attempts=e.attempt)

    @process_event.register
    def _(self, e: Reminder.Sent, tracking: Tracking) -> None:
        self._set(e, "sent", outcome=e.channel)

    @process_event.register
    def _(self, e: Reminder.Failed, tracking: Tracking) -> None:
        if e.retry_at is None:
            self._set(e, "failed", outcome=e.reason_code)
        else:
            self._set(e, "retrying", next_attempt_at=e.retry_at, outcome=e.reason_code)

    @process_event.register
    def _(self, e: Reminder.Skipped, tracking: Tracking) -> None:
        self._set(e, "skipped", outcome=e.reason_code)

"""The billing ledger: charges with their running totals (amount = paid + adjusted + transferred +
balance, as on the aggregate), every ledger entry, payments with their applications and refunds,
and completed visits with the charge that bills them.

Totals and status are recomputed from the entry rows on every change, with the same rules as
`Charge.status`, so the row always equals the aggregate. A completed visit's service date is the
practice-local date of its start. Diagnosis codes, notes and reasons (PHI or free text) are never
copied here.
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.billing.charge import Charge
from domain.billing.fee_schedule import FeeSchedule, fee_schedule_id
from domain.billing.payment import Payment
from domain.clinical.clinical_note import ClinicalNote
from domain.errors import InvalidCommand
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from projections.base import View

CHARGE_COLUMNS = (
    "charge_id, practice_id, client_id, clinician_id, appointment_id, service_date, cpt, modifiers, units, unit_fee, "
    "amount, paid, adjusted, transferred, balance, status, payer, claim_number, line_ref, invoice_id, entered_at, "
    "entered_by, billed_at, voided, voided_at"
)
PAYMENT_COLUMNS = (
    "payment_id, practice_id, client_id, payer, method, source, amount, applied, refunded, unapplied, received_on, "
    "received_at, check_number, reference"
)
VISIT_COLUMNS = (
    "appointment_id, practice_id, client_id, clinician_id, appointment_type, service_date, completed_at, charge_id"
)
SELF_PAY = "self-pay"

# Charge.status, over the entry totals t (paid, adjusted, transferred) of charge c.
_REFRESH_CHARGE = """
    UPDATE billing_charges c SET
        paid = t.paid, adjusted = t.adjusted, transferred = t.transferred,
        balance = c.amount - t.paid - t.adjusted - t.transferred,
        status = CASE
            WHEN c.voided THEN 'void'
            WHEN t.paid = 0 AND t.adjusted = 0 THEN
                CASE WHEN c.claim_number IS NOT NULL OR t.transferred <> 0 THEN 'billed' ELSE 'unbilled' END
            WHEN c.amount - t.paid - t.adjusted - t.transferred <= 0 AND t.transferred = 0 THEN
                CASE WHEN t.paid > 0 THEN 'paid' ELSE 'adjusted' END
            WHEN c.amount - t.paid - t.adjusted - t.transferred <= 0 THEN 'billed'
            ELSE 'partially_paid'
        END
    FROM (
        SELECT COALESCE(SUM(amount) FILTER (WHERE kind = 'payment'), 0) AS paid,
               COALESCE(SUM(amount) FILTER (WHERE kind IN ('adjustment', 'write_off')), 0) AS adjusted,
               COALESCE(SUM(amount) FILTER (WHERE kind = 'transfer'), 0) AS transferred
        FROM billing_entries WHERE charge_id = %(id)s AND active
    ) t
    WHERE c.charge_id = %(id)s
"""
_REFRESH_PAYMENT = """
    UPDATE billing_payments p SET
        applied = a.applied, refunded = r.refunded, unapplied = p.amount - a.applied - r.refunded
    FROM (SELECT COALESCE(SUM(amount), 0) AS applied FROM billing_applications
          WHERE payment_id = %(id)s AND active) a,
         (SELECT COALESCE(SUM(amount), 0) AS refunded FROM billing_refunds WHERE payment_id = %(id)s) r
    WHERE p.payment_id = %(id)s
"""

R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    items: list[R]
    next_cursor: str | None


@dataclass(frozen=True)
class ChargeRow:
    charge_id: UUID
    practice_id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_id: UUID | None
    service_date: date
    cpt: str
    modifiers: list[str]
    units: Decimal
    unit_fee: Decimal
    amount: Decimal
    paid: Decimal
    adjusted: Decimal
    transferred: Decimal
    balance: Decimal
    status: str
    payer: str | None
    claim_number: str | None
    line_ref: str
    invoice_id: UUID | None
    entered_at: datetime
    entered_by: UUID
    billed_at: datetime | None
    voided: bool
    voided_at: datetime | None


@dataclass(frozen=True)
class PaymentRow:
    payment_id: UUID
    practice_id: UUID
    client_id: UUID | None
    payer: str | None
    method: str
    source: str
    amount: Decimal
    applied: Decimal
    refunded: Decimal
    unapplied: Decimal
    received_on: date
    received_at: datetime
    check_number: str | None
    reference: str | None


@dataclass(frozen=True)
class VisitRow:
    appointment_id: UUID
    practice_id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    service_date: date
    completed_at: datetime
    charge_id: UUID | None


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def _uncursor(cursor: str, count: int) -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except ValueError:
        parts = []
    if len(parts) != count:
        raise InvalidCommand("The cursor is not one this API returned.", field="cursor")
    return parts


def _keyset(cursor: str | None, columns: str, casts: tuple[str, ...]) -> tuple[str, list[Any]]:
    """`(a, b, c) < (cursor values)` for a descending listing, or nothing on the first page."""
    if not cursor:
        return "", []
    parts = _uncursor(cursor, len(casts))
    try:
        values: list[Any] = [
            date.fromisoformat(p) if c == "date" else datetime.fromisoformat(p) if c == "timestamptz" else UUID(p)
            for p, c in zip(parts, casts, strict=True)
        ]
    except ValueError:
        raise InvalidCommand("The cursor is not one this API returned.", field="cursor") from None
    placeholders = ", ".join(f"%s::{c}" for c in casts)
    return f" AND ({columns}) < ({placeholders})", values


class BillingLedgerView(View):
    tables = (
        "billing_charges", "billing_entries", "billing_payments", "billing_applications", "billing_refunds",
        "billing_visits", "billing_appointments", "billing_practices", "billing_visit_notes",
    )

    # --- charges ------------------------------------------------------------------------------

    def charges(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, only_clinicians: Collection[UUID] | None,
        status: str | None = None, client_id: UUID | None = None, clinician_id: UUID | None = None,
        first: date | None = None, last: date | None = None, payer: str | None = None, unbilled_only: bool = False,
        claim_number: str | None = None, cursor: str | None = None, limit: int = 100,
    ) -> Page[ChargeRow]:
        """Newest service date first. `only_clients` / `only_clinicians` narrow to the caller's
        record scope (None: no narrowing); no defaults, so no caller forgets them. `payer`
        "self-pay" lists charges without a payer."""
        sql = f"SELECT {CHARGE_COLUMNS} FROM billing_charges WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        conditions: list[tuple[str, Any]] = [
            ("client_id = ANY(%s)", list(only_clients) if only_clients is not None else None),
            ("clinician_id = ANY(%s)", list(only_clinicians) if only_clinicians is not None else None),
            ("status = %s", status),
            ("client_id = %s", client_id),
            ("clinician_id = %s", clinician_id),
            ("service_date >= %s", first),
            ("service_date <= %s", last),
            ("claim_number = %s", claim_number),
        ]
        for condition, value in conditions:
            if value is not None:
                sql += f" AND {condition}"
                params.append(value)
        if payer is not None:
            if payer.strip().lower() == SELF_PAY:
                sql += " AND payer IS NULL"
            else:
                sql += " AND lower(payer) = lower(%s)"
                params.append(payer.strip())
        if unbilled_only:
            sql += " AND claim_number IS NULL AND NOT voided"
        keyset, values = _keyset(cursor, "service_date, entered_at, charge_id", ("date", "timestamptz", "uuid"))
        sql += keyset + " ORDER BY service_date DESC, entered_at DESC, charge_id DESC LIMIT %s"
        params += [*values, limit + 1]
        rows = [ChargeRow(**r) for r in self.query(sql, params)]
        more = len(rows) > limit
        rows = rows[:limit]
        last_row = rows[-1] if rows else None
        next_cursor = (
            _cursor(last_row.service_date.isoformat(), last_row.entered_at.isoformat(), last_row.charge_id)
            if more and last_row else None
        )
        return Page(rows, next_cursor)

    def charge(self, practice_id: UUID, charge_id: UUID) -> ChargeRow | None:
        rows = self.query(
            f"SELECT {CHARGE_COLUMNS} FROM billing_charges WHERE practice_id = %s AND charge_id = %s",
            (practice_id, charge_id),
        )
        return ChargeRow(**rows[0]) if rows else None

    def claim_charge_ids(self, practice_id: UUID, claim_number: str) -> list[UUID]:
        rows = self.query(
            "SELECT charge_id FROM billing_charges WHERE practice_id = %s AND claim_number = %s",
            (practice_id, claim_number),
        )
        return [r["charge_id"] for r in rows]

    def latest_charge_for_client(self, practice_id: UUID, client_id: UUID) -> UUID | None:
        """The client's most recent live charge (by service date, then entry)."""
        rows = self.query(
            "SELECT charge_id FROM billing_charges WHERE practice_id = %s AND client_id = %s AND NOT voided "
            "ORDER BY service_date DESC, entered_at DESC LIMIT 1",
            (practice_id, client_id),
        )
        return rows[0]["charge_id"] if rows else None

    def entries(self, charge_id: UUID) -> list[dict[str, Any]]:
        return [dict(r) for r in self.query(
            "SELECT entry_id, kind, amount, source, payment_id, invoice_id, remittance_id, group_code, reason_code, "
            "remark_codes, at, active FROM billing_entries WHERE charge_id = %s ORDER BY at, entry_id",
            (charge_id,),
        )]

    # --- visits -------------------------------------------------------------------------------

    def visit_notes(self, practice_id: UUID, appointment_id: UUID) -> list[UUID]:
        """The notes linked to a visit, newest first."""
        rows = self.query(
            "SELECT note_id FROM billing_visit_notes WHERE practice_id = %s AND appointment_id = %s "
            "ORDER BY drafted_at DESC, note_id",
            (practice_id, appointment_id),
        )
        return [r["note_id"] for r in rows]

    def unbilled_visits(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, only_clinicians: Collection[UUID] | None,
        clinician_id: UUID | None = None, first: date | None = None, last: date | None = None, limit: int = 200,
    ) -> list[VisitRow]:
        """Completed visits without a live charge, oldest first (the work queue)."""
        sql = f"SELECT {VISIT_COLUMNS} FROM billing_visits WHERE practice_id = %s AND charge_id IS NULL"
        params: list[Any] = [practice_id]
        for condition, value in (
            ("client_id = ANY(%s)", list(only_clients) if only_clients is not None else None),
            ("clinician_id = ANY(%s)", list(only_clinicians) if only_clinicians is not None else None),
            ("clinician_id = %s", clinician_id),
            ("service_date >= %s", first),
            ("service_date <= %s", last),
        ):
            if value is not None:
                sql += f" AND {condition}"
                params.append(value)
        sql += " ORDER BY service_date, completed_at, appointment_id LIMIT %s"
        params.append(limit)
        return [VisitRow(**r) for r in self.query(sql, params)]

    def visits_awaiting_charge(self, completed_since: datetime, limit: int = 500) -> list[VisitRow]:
        """Visits of practices that charge on completion, completed after the policy was switched
        on and since `completed_since`, that never had a charge (a voided one is not recreated)."""
        rows = self.query(
            f"SELECT {', '.join('v.' + c.strip() for c in VISIT_COLUMNS.split(','))} "
            "FROM billing_visits v JOIN billing_practices p ON p.practice_id = v.practice_id "
            "WHERE v.charge_id IS NULL AND p.charge_on_completion AND v.completed_at >= p.policy_since "
            "AND v.completed_at >= %s "
            "AND NOT EXISTS (SELECT 1 FROM billing_charges c WHERE c.appointment_id = v.appointment_id) "
            "ORDER BY v.completed_at, v.appointment_id LIMIT %s",
            (completed_since, limit),
        )
        return [VisitRow(**r) for r in rows]

    # --- payments -----------------------------------------------------------------------------

    def payments(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, client_id: UUID | None = None,
        method: str | None = None, first: date | None = None, last: date | None = None,
        unapplied_only: bool = False, cursor: str | None = None, limit: int = 100,
    ) -> Page[PaymentRow]:
        """Newest first; `only_clients` narrows to the caller's record scope (None: no narrowing)."""
        sql = f"SELECT {PAYMENT_COLUMNS} FROM billing_payments WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        for condition, value in (
            ("client_id = ANY(%s)", list(only_clients) if only_clients is not None else None),
            ("client_id = %s", client_id),
            ("method = %s", method),
            ("received_on >= %s", first),
            ("received_on <= %s", last),
        ):
            if value is not None:
                sql += f" AND {condition}"
                params.append(value)
        if unapplied_only:
            sql += " AND unapplied > 0"
        keyset, values = _keyset(cursor, "received_on, received_at, payment_id", ("date", "timestamptz", "uuid"))
        sql += keyset + " ORDER BY received_on DESC, received_at DESC, payment_id DESC LIMIT %s"
        params += [*values, limit + 1]
        rows = [PaymentRow(**r) for r in self.query(sql, params)]
        more = len(rows) > limit
        rows = rows[:limit]
        last_row = rows[-1] if rows else None
        next_cursor = (
            _cursor(last_row.received_on.isoformat(), last_row.received_at.isoformat(), last_row.payment_id)
            if more and last_row else None
        )
        return Page(rows, next_cursor)

    def payment(self, practice_id: UUID, payment_id: UUID) -> PaymentRow | None:
        rows = self.query(
            f"SELECT {PAYMENT_COLUMNS} FROM billing_payments WHERE practice_id = %s AND payment_id = %s",
            (practice_id, payment_id),
        )
        return PaymentRow(**rows[0]) if rows else None


C, P, A, N = Charge, Payment, Appointment, ClinicalNote


class BillingLedger(Projection[BillingLedgerView]):
    name = "billing_ledger"
    topics = (
        Practice.Registered.TOPIC, FeeSchedule.PolicySet.TOPIC,
        A.Booked.TOPIC, A.Completed.TOPIC, A.Cancelled.TOPIC, A.MarkedNoShow.TOPIC, A.Rescheduled.TOPIC,
        N.Drafted.TOPIC, N.AppointmentLinked.TOPIC,
        C.Entered.TOPIC, C.Edited.TOPIC, C.Billed.TOPIC, C.PaymentApplied.TOPIC, C.PaymentUnapplied.TOPIC,
        C.Adjusted.TOPIC, C.TransferredToInvoice.TOPIC, C.ReleasedFromInvoice.TOPIC, C.Voided.TOPIC,
        P.Received.TOPIC, P.Applied.TOPIC, P.Unapplied.TOPIC, P.Refunded.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _sql(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> None:
        self.view.curs.execute(sql, params)

    def _refresh_charge(self, charge_id: UUID) -> None:
        self._sql(_REFRESH_CHARGE, {"id": charge_id})

    def _refresh_payment(self, payment_id: UUID) -> None:
        self._sql(_REFRESH_PAYMENT, {"id": payment_id})

    # --- practices, visits, notes ---------------------------------------------------------------

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO billing_practices (practice_id, fee_schedule_id, time_zone) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, fee_schedule_id(e.originator_id), e.time_zone),
        )

    @process_event.register
    def _(self, e: FeeSchedule.PolicySet, tracking: Tracking) -> None:
        self._sql(
            "UPDATE billing_practices SET charge_on_completion = %(on)s, "
            "policy_since = CASE WHEN %(on)s THEN %(at)s::timestamptz ELSE policy_since END "
            "WHERE fee_schedule_id = %(schedule)s",
            {"on": e.charge_on_completion, "at": e.at, "schedule": e.originator_id},
        )

    @process_event.register
    def _(self, e: Appointment.Booked, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO billing_appointments (appointment_id, practice_id, client_id, clinician_id, appointment_type, "
            "starts_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.clinician_id, e.appointment_type, e.starts_at),
        )

    @process_event.register
    def _(self, e: Appointment.Completed, tracking: Tracking) -> None:
        self._sql(
            f"INSERT INTO billing_visits ({VISIT_COLUMNS}) "
            "SELECT a.appointment_id, a.practice_id, a.client_id, a.clinician_id, a.appointment_type, "
            "  (a.starts_at AT TIME ZONE COALESCE(p.time_zone, 'UTC'))::date, %(at)s, "
            "  (SELECT c.charge_id FROM billing_charges c WHERE c.appointment_id = a.appointment_id AND NOT c.voided "
            "   ORDER BY c.entered_at LIMIT 1) "
            "FROM billing_appointments a LEFT JOIN billing_practices p ON p.practice_id = a.practice_id "
            "WHERE a.appointment_id = %(id)s ON CONFLICT DO NOTHING",
            {"id": e.originator_id, "at": e.at},
        )
        self._closed(e.originator_id)

    def _closed(self, appointment_id: UUID) -> None:
        self._sql("DELETE FROM billing_appointments WHERE appointment_id = %s", (appointment_id,))

    @process_event.register
    def _(self, e: Appointment.Cancelled, tracking: Tracking) -> None:
        self._closed(e.originator_id)

    @process_event.register
    def _(self, e: Appointment.MarkedNoShow, tracking: Tracking) -> None:
        self._closed(e.originator_id)

    @process_event.register
    def _(self, e: Appointment.Rescheduled, tracking: Tracking) -> None:
        self._closed(e.originator_id)

    @process_event.register
    def _(self, e: ClinicalNote.Drafted, tracking: Tracking) -> None:
        if e.appointment_id is not None:
            self._link_note(e.originator_id, e.appointment_id, e.practice_id, e.drafted_at)

    @process_event.register
    def _(self, e: ClinicalNote.AppointmentLinked, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO billing_visit_notes (note_id, appointment_id, practice_id, drafted_at) "
            "SELECT %(note)s, %(appt)s, a.practice_id, %(at)s FROM ("
            "  SELECT practice_id FROM billing_visits WHERE appointment_id = %(appt)s UNION ALL "
            "  SELECT practice_id FROM billing_appointments WHERE appointment_id = %(appt)s LIMIT 1) a "
            "ON CONFLICT (note_id) DO UPDATE SET appointment_id = EXCLUDED.appointment_id",
            {"note": e.originator_id, "appt": e.appointment_id, "at": e.at},
        )

    def _link_note(self, note_id: UUID, appointment_id: UUID, practice_id: UUID, at: datetime) -> None:
        self._sql(
            "INSERT INTO billing_visit_notes (note_id, appointment_id, practice_id, drafted_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (note_id) DO UPDATE SET appointment_id = EXCLUDED.appointment_id",
            (note_id, appointment_id, practice_id, at),
        )

    # --- charges ------------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Charge.Entered, tracking: Tracking) -> None:
        self._sql(
            f"INSERT INTO billing_charges ({CHARGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "0, 0, 0, %s, 'unbilled', %s, NULL, %s, NULL, %s, %s, NULL, false, NULL) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.clinician_id, e.appointment_id, e.service_date, e.cpt,
             list(e.modifiers), e.units, e.unit_fee, e.amount, e.amount, e.payer, e.line_ref, e.entered_at, e.by),
        )
        if e.appointment_id is not None:
            self._sql("UPDATE billing_visits SET charge_id = %s WHERE appointment_id = %s AND charge_id IS NULL",
                      (e.originator_id, e.appointment_id))

    @process_event.register
    def _(self, e: Charge.Edited, tracking: Tracking) -> None:
        self._sql(
            "UPDATE billing_charges SET cpt = %s, modifiers = %s, units = %s, unit_fee = %s, amount = %s "
            "WHERE charge_id = %s",
            (e.cpt, list(e.modifiers), e.units, e.unit_fee, e.amount, e.originator_id),
        )
        self._refresh_charge(e.originator_id)

    @process_event.register
    def _(self, e: Charge.Billed, tracking: Tracking) -> None:
        self._sql("UPDATE billing_charges SET claim_number = %s, payer = %s, billed_at = %s WHERE charge_id = %s",
                  (e.claim_number, e.payer, e.at, e.originator_id))
        self._refresh_charge(e.originator_id)

    def _entry(self, e: Any, kind: str, amount: Any, source: str, *, payment_id: UUID | None = None,
               invoice_id: UUID | None = None, remittance_id: UUID | None = None, group: str | None = None,
               reason: str | None = None, remarks: list[str] | None = None, entry_id: str | None = None) -> None:
        self._sql(
            "INSERT INTO billing_entries (charge_id, entry_id, practice_id, client_id, kind, amount, source, "
            "payment_id, invoice_id, remittance_id, group_code, reason_code, remark_codes, at, active) "
            "SELECT %s, %s, c.practice_id, c.client_id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true "
            "FROM billing_charges c WHERE c.charge_id = %s "
            "ON CONFLICT (charge_id, entry_id) DO UPDATE SET amount = EXCLUDED.amount, at = EXCLUDED.at, active = true",
            (e.originator_id, entry_id or e.entry_id, kind, amount, source, payment_id, invoice_id, remittance_id,
             group, reason, list(remarks or []), e.at, e.originator_id),
        )
        self._refresh_charge(e.originator_id)

    def _deactivate(self, charge_id: UUID, entry_id: str) -> None:
        self._sql("UPDATE billing_entries SET active = false WHERE charge_id = %s AND entry_id = %s",
                  (charge_id, entry_id))
        self._refresh_charge(charge_id)

    @process_event.register
    def _(self, e: Charge.PaymentApplied, tracking: Tracking) -> None:
        self._entry(e, "payment", e.amount, e.source, payment_id=e.payment_id, remittance_id=e.remittance_id)

    @process_event.register
    def _(self, e: Charge.PaymentUnapplied, tracking: Tracking) -> None:
        self._deactivate(e.originator_id, e.entry_id)

    @process_event.register
    def _(self, e: Charge.Adjusted, tracking: Tracking) -> None:
        self._entry(e, e.kind, e.amount, e.source, remittance_id=e.remittance_id, group=e.group,
                    reason=e.reason_code, remarks=list(e.remark_codes))

    @process_event.register
    def _(self, e: Charge.TransferredToInvoice, tracking: Tracking) -> None:
        self._sql("UPDATE billing_charges SET invoice_id = %s WHERE charge_id = %s", (e.invoice_id, e.originator_id))
        self._entry(e, "transfer", e.amount, "manual", invoice_id=e.invoice_id, entry_id=f"invoice:{e.invoice_id}")

    @process_event.register
    def _(self, e: Charge.ReleasedFromInvoice, tracking: Tracking) -> None:
        self._sql("UPDATE billing_charges SET invoice_id = NULL WHERE charge_id = %s", (e.originator_id,))
        self._deactivate(e.originator_id, f"invoice:{e.invoice_id}")

    @process_event.register
    def _(self, e: Charge.Voided, tracking: Tracking) -> None:
        self._sql("UPDATE billing_charges SET voided = true, voided_at = %s WHERE charge_id = %s",
                  (e.at, e.originator_id))
        self._sql("UPDATE billing_visits SET charge_id = NULL WHERE charge_id = %s", (e.originator_id,))
        self._refresh_charge(e.originator_id)

    # --- payments -----------------------------------------------------------------------------

    @process_event.register
    def _(self, e: Payment.Received, tracking: Tracking) -> None:
        self._sql(
            f"INSERT INTO billing_payments ({PAYMENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s, %s, "
            "%s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.payer, e.method, e.source, e.amount, e.amount,
             e.received_on, e.received_at, e.check_number, e.reference),
        )

    @process_event.register
    def _(self, e: Payment.Applied, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO billing_applications (application_id, payment_id, practice_id, target, target_id, amount, "
            "active, at) SELECT %s, %s, p.practice_id, %s, %s, %s, true, %s FROM billing_payments p "
            "WHERE p.payment_id = %s ON CONFLICT DO NOTHING",
            (e.application_id, e.originator_id, e.target, e.target_id, e.amount, e.at, e.originator_id),
        )
        self._refresh_payment(e.originator_id)

    @process_event.register
    def _(self, e: Payment.Unapplied, tracking: Tracking) -> None:
        self._sql("UPDATE billing_applications SET active = false, unapplied_at = %s WHERE application_id = %s",
                  (e.at, e.application_id))
        self._refresh_payment(e.originator_id)

    @process_event.register
    def _(self, e: Payment.Refunded, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO billing_refunds (payment_id, refund_id, practice_id, amount, reference, at) "
            "SELECT %s, %s, p.practice_id, %s, %s, %s FROM billing_payments p WHERE p.payment_id = %s "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.refund_id, e.amount, e.reference, e.at, e.originator_id),
        )
        self._refresh_payment(e.originator_id)

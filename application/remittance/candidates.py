"""The charges an 835 may be paying, as matching compares them.

Billed charges of the practice whose service date falls in the file's service dates widened by
the rules' window, paid and adjusted ones included (a reversal or a correction pays them again),
read a page of thousands at a time from the billing ledger; claims with no date at all are looked
up by their claim number. Charges a person named in a resolution are added from their aggregates,
billed or not. Names and member ids come from the clients in one batch.

A charge's balance is taken as it was before this remittance posted to it, so matching the same
file again ranks charges the same way and gives the same result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.remittance.ports import Aggregates, LedgerReadModel, PatientDirectory
from domain.billing.charge import Charge
from domain.remittance.candidates import ChargeCandidate
from domain.remittance.era835 import Claim, EraFile
from domain.remittance.matching_rules import MatchingRules

PAGE = 2000
MAX_UNDATED_LOOKUPS = 200


@dataclass(frozen=True)
class _Row:
    charge_id: UUID
    client_id: UUID
    claim_number: str | None
    line_ref: str
    service_date: date
    cpt: str
    modifiers: tuple[str, ...]
    units: Decimal
    amount: Decimal
    balance: Decimal
    payer: str | None


def _dates(claim: Claim) -> list[date]:
    days = [claim.statement_from, claim.statement_to]
    for line in claim.lines:
        days += [line.service_from, line.service_to]
    return [d for d in days if d is not None]


def service_window(era: EraFile, rules: MatchingRules) -> tuple[date, date] | None:
    days = [d for claim in era.claims for d in _dates(claim)]
    if not days:
        return None
    widen = timedelta(days=rules.service_date_window_days)
    return min(days) - widen, max(days) + widen


def undated_claim_numbers(era: EraFile) -> list[str]:
    numbers = [c.patient_control_number.strip() for c in era.claims if not _dates(c)]
    return list(dict.fromkeys(n for n in numbers if n))[:MAX_UNDATED_LOOKUPS]


def _ledger_rows(ledger: LedgerReadModel, practice_id: UUID, **where: Any) -> Iterable[_Row]:
    cursor: str | None = None
    while True:
        page = ledger.charges(practice_id, only_clients=None, only_clinicians=None, cursor=cursor, limit=PAGE, **where)
        for r in page.items:
            if r.claim_number and not r.voided:
                yield _Row(r.charge_id, r.client_id, r.claim_number, r.line_ref, r.service_date, r.cpt,
                           tuple(r.modifiers), r.units, r.amount, r.balance, r.payer)
        cursor = page.next_cursor
        if not cursor:
            return


def _charge_row(charge: Charge) -> _Row:
    return _Row(charge.id, charge.client_id, charge.claim_number, charge.line_ref, charge.service_date, charge.cpt,
                tuple(charge.modifiers), charge.units, charge.amount, charge.balance, charge.payer)


def build_candidates(
    *, practice_id: UUID, era: EraFile, rules: MatchingRules, ledger: LedgerReadModel, patients: PatientDirectory,
    aggregates: Aggregates, resolved: Collection[UUID], posted_on: Mapping[UUID, Decimal],
) -> list[ChargeCandidate]:
    rows: dict[UUID, _Row] = {}
    window = service_window(era, rules)
    if window is not None:
        rows.update((r.charge_id, r) for r in _ledger_rows(ledger, practice_id, first=window[0], last=window[1]))
    for number in undated_claim_numbers(era):
        rows.update((r.charge_id, r) for r in _ledger_rows(ledger, practice_id, claim_number=number))
    chosen = [c for c in resolved if c not in rows]
    if chosen:
        for charge in aggregates.load_many(practice_id, chosen, Charge).values():
            if not charge.voided:
                rows[charge.id] = _charge_row(charge)
    names = patients.patients(practice_id, {r.client_id for r in rows.values()})
    out = []
    for r in rows.values():
        name = names.get(r.client_id)
        out.append(ChargeCandidate(
            charge_id=r.charge_id, client_id=r.client_id, claim_number=r.claim_number, line_ref=r.line_ref,
            patient_last=name.last_name if name else "", patient_first=name.first_name if name else "",
            member_id=name.member_id(r.payer) if name else None, service_date=r.service_date, cpt=r.cpt,
            modifiers=r.modifiers, units=r.units, amount=r.amount,
            balance=r.balance + posted_on.get(r.charge_id, Decimal(0)),
        ))
    return out

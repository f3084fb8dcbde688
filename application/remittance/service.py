"""835 remittances: upload, match, post, review (issue 6, items 5 and 6).

Upload reads the bytes first (what is not an 835 is refused and nothing is stored), keeps them in
the object store under their SHA-256 and records the remittance; the same bytes again find the
same remittance. Processing reads the stored file, matches its claims to billed charges under a
version of the matching rules, records one insurance payment per transaction set (its id from
payer, trace number and position, so a second file with the same check is found out and nothing
of it posted), and posts the planned postings that are not posted yet, a few hundred charges per
transaction together with the remittance's record of the keys written. Re-running posts only the
difference; a crash mid-way loses at most one batch, which the next run posts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.billing.scope import acting_member, require_practice_wide
from application.errors import Conflict, NotFound, Unavailable
from application.object_store import ObjectStore, content_key
from application.ports import Clock
from application.remittance.candidates import build_candidates
from application.remittance.ports import (
    Aggregates,
    LedgerReadModel,
    PatientDirectory,
    RemittanceReadModel,
    StoreAggregates,
)
from application.remittance.posting import Refusal, patient_share, post_to
from application.remittance.report import (
    PAYMENT_NOT_RECORDED,
    ClaimOutcome,
    ProcessingReport,
    build_report,
    claim_outcomes,
)
from application.retry import retrying
from application.store import EventStore
from domain.billing.charge import Charge
from domain.billing.payment import Payment, payment_id_for
from domain.errors import DomainError, InvalidCommand
from domain.practices.practice import Practice
from domain.remittance.era835 import EraFile, EraReadError, TransactionSet, read_era
from domain.remittance.matching import claims_of, match_claims
from domain.remittance.matching_rules import MatchingRules, rules_for, rules_in_effect
from domain.remittance.posting_plan import Posting, difference, plan_postings, summarize
from domain.remittance.remittance import Remittance, clean_filename, remittance_id_for
from domain.remittance.summaries import claim_results, file_summary, match_counts, paid_on, payer_id, payment_amount
from domain.scheduling.working_time import zone

ATTEMPTS = 5
BATCH = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CONTENT_TYPE = "application/EDI-X12"
DUPLICATE = "duplicate"
Progress = Callable[[int, int], None]


class UnreadableRemittance(InvalidCommand):
    code = "era_unreadable"


def payment_reference(remittance_id: UUID, ts: TransactionSet) -> str:
    """What names the check of a transaction set: payer, trace number and position. Without a
    trace nothing can be compared across files, so the remittance itself names it."""
    trace = ts.trace.number.strip() if ts.trace else ""
    if trace:
        return f"835:{payer_id(ts)}:{trace}:{ts.index}"
    return f"835:{payer_id(ts)}:no-trace:{remittance_id}:{ts.index}"


class RemittanceService:
    def __init__(
        self, store: EventStore, clock: Clock, objects: ObjectStore, ledger: LedgerReadModel,
        patients: PatientDirectory, *, aggregates: Aggregates | None = None, view: RemittanceReadModel | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.store = store
        self.clock = clock
        self.objects = objects
        self.ledger = ledger
        self.patients = patients
        self.aggregates: Aggregates = aggregates or StoreAggregates(store)
        self.view = view
        self.batch_size = batch_size

    # --- reading ------------------------------------------------------------------------------

    def _load(self, practice_id: UUID, remittance_id: UUID) -> Remittance:
        try:
            remittance: Remittance = self.store.load(remittance_id, Remittance)
        except NotFound:
            raise NotFound(f"No remittance {remittance_id}.") from None
        if remittance.practice_id != practice_id:
            raise NotFound(f"No remittance {remittance_id}.")
        return remittance

    def _era(self, remittance: Remittance) -> EraFile:
        try:
            data = self.objects.get(remittance.object_key)
        except NotFound:
            raise Conflict("The remittance's stored 835 file is missing from the object store.",
                           object_key=remittance.object_key) from None
        return read_era(data)

    def _today(self, practice_id: UUID) -> date:
        practice: Practice = self.store.load(practice_id, Practice)
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    def get(self, practice_id: UUID, remittance_id: UUID) -> Remittance:
        require_practice_wide("Reading remittances")
        return self._load(practice_id, remittance_id)

    def report(self, practice_id: UUID, remittance_id: UUID) -> ProcessingReport:
        return build_report(self.get(practice_id, remittance_id))

    def claims(self, practice_id: UUID, remittance_id: UUID, status: str | None = None) -> list[ClaimOutcome]:
        """The file's claims in file order with their outcome (`status`: matched, review, resolved,
        dismissed)."""
        return claim_outcomes(self.get(practice_id, remittance_id), status)

    def remittances(self, practice_id: UUID, cursor: str | None = None, limit: int = 50) -> Any:
        """The practice's remittances, newest upload first."""
        require_practice_wide("Reading remittances")
        return self._view().remittances(practice_id, cursor=cursor, limit=limit)

    def review_queue(self, practice_id: UUID, limit: int = 200) -> Any:
        """Claims of the practice's remittances no rule matched, oldest upload first."""
        require_practice_wide("Reading remittances")
        return self._view().review_queue(practice_id, limit=limit)

    def _view(self) -> RemittanceReadModel:
        if self.view is None:
            raise Unavailable("The remittances read model is not configured.")
        return self.view

    # --- commands -----------------------------------------------------------------------------

    def upload(self, practice_id: UUID, filename: str, data: bytes) -> tuple[Remittance, bool]:
        """Keep an 835 and record what it holds; True when it is new (the same bytes uploaded
        before: that remittance, unchanged, and False)."""
        remittance, created, _ = self._upload(practice_id, filename, data)
        return remittance, created

    def _upload(self, practice_id: UUID, filename: str, data: bytes) -> tuple[Remittance, bool, EraFile]:
        require_practice_wide("Uploading a remittance")
        name = clean_filename(filename)
        if not data:
            raise UnreadableRemittance(f"{name} is empty, so it holds no 835 remittance.", field="file")
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidCommand(f"An 835 upload is at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", field="file")
        try:
            era = read_era(data)
        except EraReadError as e:
            raise UnreadableRemittance(f"{name} is not an 835 remittance: {e.message}", field="file") from None
        digest = hashlib.sha256(data).hexdigest()
        remittance_id = remittance_id_for(practice_id, digest)
        if self.store.exists(remittance_id):
            return self._load(practice_id, remittance_id), False, era
        key = content_key(practice_id, digest, ".835")
        stored = self.objects.put(key, data, CONTENT_TYPE)
        remittance = Remittance.upload(
            practice_id=practice_id, filename=name, sha256=digest, size=stored.size, object_key=key,
            uploaded_at=self.clock.now(), by=acting_member(practice_id),
        )
        remittance.record_read(file_summary(era), at=self.clock.now())
        try:
            self.store.save(remittance)
        except IntegrityError:  # the same bytes, uploaded at the same moment by someone else
            return self._load(practice_id, remittance_id), False, era
        return remittance, True, era

    def import_file(self, practice_id: UUID, filename: str, data: bytes, rules_version: int | None = None,
                    progress: Progress | None = None) -> ProcessingReport:
        """Upload and process. Importing the same bytes again processes the stored remittance
        again, which posts nothing unless something new matches."""
        remittance, created, era = self._upload(practice_id, filename, data)
        require_practice_wide("Posting a remittance")
        remittance, written = self._run(practice_id, remittance.id, rules_version, progress=progress, era=era)
        return build_report(remittance, written=written, created=created)

    def process(self, practice_id: UUID, remittance_id: UUID, rules_version: int | None = None,
                progress: Progress | None = None) -> ProcessingReport:
        """Match the file's claims and post what is not posted yet. `rules_version` None: the
        version of the latest run, else the one in effect today."""
        require_practice_wide("Posting a remittance")
        remittance, written = self._run(practice_id, remittance_id, rules_version, progress=progress)
        return build_report(remittance, written=written)

    def resolve(self, practice_id: UUID, remittance_id: UUID, claim_key: str,
                charge_ids: Sequence[UUID]) -> ProcessingReport:
        """A person decides what a claim pays (no charges: none of ours); its postings follow."""
        require_practice_wide("Resolving a remittance claim")
        chosen = list(dict.fromkeys(charge_ids))
        found = self.aggregates.load_many(practice_id, chosen, Charge)
        for charge_id in chosen:
            if charge_id not in found:
                raise NotFound(f"No charge {charge_id}.")
            if found[charge_id].voided:
                raise InvalidCommand("A void charge is not paid.", field="charge_ids", charge_id=str(charge_id))

        def record() -> Remittance:
            remittance = self._load(practice_id, remittance_id)
            if remittance.resolve(claim_key, chosen, by=acting_member(practice_id), at=self.clock.now()):
                self.store.save(remittance)
            return remittance

        remittance = retrying(record, ATTEMPTS)
        only = {claim_key} | {k for k, r in remittance.results.items() if r.get("reverses") == claim_key}
        remittance, written = self._run(practice_id, remittance_id, None, only=only)
        return build_report(remittance, written=written)

    # --- a run --------------------------------------------------------------------------------

    def _rules(self, practice_id: UUID, remittance: Remittance, version: int | None) -> MatchingRules:
        if version is not None:
            return rules_for(version)
        if remittance.rules_version is not None:
            return rules_for(remittance.rules_version)
        return rules_in_effect(self._today(practice_id))

    def _run(self, practice_id: UUID, remittance_id: UUID, rules_version: int | None, *,
             only: Collection[str] | None = None, progress: Progress | None = None,
             era: EraFile | None = None) -> tuple[Remittance, int]:
        """One processing pass, again on fresh state if another writer got in first. `era`: the
        file already read (an import has just read it)."""

        def attempt() -> tuple[Remittance, int]:
            remittance = self._load(practice_id, remittance_id)
            read = era or self._era(remittance)
            return self._pass(practice_id, remittance, read, self._rules(practice_id, remittance, rules_version),
                              only, progress)

        return retrying(attempt, ATTEMPTS)

    def _pass(self, practice_id: UUID, remittance: Remittance, era: EraFile, rules: MatchingRules,
              only: Collection[str] | None, progress: Progress | None) -> tuple[Remittance, int]:
        now, by = self.clock.now(), acting_member(practice_id)
        candidates = build_candidates(
            practice_id=practice_id, era=era, rules=rules, ledger=self.ledger, patients=self.patients,
            aggregates=self.aggregates, resolved={c for ids in remittance.resolutions.values() for c in ids},
            posted_on=remittance.posted_on(),
        )
        matches = match_claims(era, candidates, rules, remittance.resolutions)
        remittance.record_match(rules.version, claim_results(era, matches), match_counts(summarize(era, matches)),
                                at=now, by=by)
        payments, blocked, new_payments = self._payments(practice_id, remittance, era, now, by)
        ts_of = {ref.key: ref.transaction_set.index for ref in claims_of(era)}
        pending = [
            p for p in difference(plan_postings(era, matches, rules), remittance.posted_keys)
            if ts_of[p.claim_key] not in blocked and (only is None or p.claim_key in only) and not patient_share(p)
        ]
        if new_payments:
            remittance.record_posted(keys=[], charge_ids=[], kinds=[], amounts=[],
                                     payment_ids=[p.id for p in new_payments], at=now)
        if remittance.pending_events:
            self.store.save(remittance, *new_payments)
        remittance, written, refusals = self._post(practice_id, remittance, pending, payments, ts_of, now, by,
                                                   progress)
        if only is None:
            refused = [Refusal(f"{PAYMENT_NOT_RECORDED}{index}", None, reason)
                       for index, reason in blocked.items() if reason != DUPLICATE]
            if remittance.record_refused([r.as_dict() for r in [*refused, *refusals]], at=now):
                self.store.save(remittance)
        return remittance, written

    def _payments(self, practice_id: UUID, remittance: Remittance, era: EraFile, now: datetime,
                  by: UUID) -> tuple[dict[int, UUID], dict[int, str], list[Payment]]:
        """The insurance payment of each transaction set; those another remittance recorded
        (a duplicate) or that cannot be recorded are `blocked`, and none of their claims posts."""
        ids: dict[int, UUID] = {}
        blocked: dict[int, str] = {}
        for ts in era.transaction_sets:
            if ts.index in remittance.duplicates:
                blocked[ts.index] = DUPLICATE
            elif payment_amount(ts) is None:
                blocked[ts.index] = "The transaction set has no BPR (no payment), so none of its claims is posted."
            else:
                ids[ts.index] = payment_id_for(practice_id, payment_reference(remittance.id, ts))
        unknown = [p for p in ids.values() if p not in remittance.payment_ids]
        existing = self.aggregates.load_many(practice_id, unknown, Payment) if unknown else {}
        today = self._today(practice_id) if len(existing) < len(unknown) else None
        new: list[Payment] = []
        for ts in era.transaction_sets:
            payment_id = ids.get(ts.index)
            if payment_id is None or payment_id in remittance.payment_ids:
                continue
            trace = ts.trace.number.strip() if ts.trace else ""
            if payment_id in existing:
                owner = self.view.payment_owner(practice_id, payment_id) if self.view is not None else None
                remittance.found_duplicate(transaction_set=ts.index, trace=trace, payer_id=payer_id(ts),
                                           payment_id=payment_id, other_remittance_id=owner, at=now)
                blocked[ts.index] = DUPLICATE
                continue
            assert today is not None
            try:
                new.append(self._receive(practice_id, ts, payment_id, trace, today, now, by))
            except DomainError as e:
                blocked[ts.index] = f"The payment could not be recorded: {e.message}"
        return ids, blocked, new

    @staticmethod
    def _receive(practice_id: UUID, ts: TransactionSet, payment_id: UUID, trace: str, today: date, now: datetime,
                 by: UUID) -> Payment:
        amount = payment_amount(ts)
        assert amount is not None
        day = paid_on(ts)
        method = ts.payment.method if ts.payment else ""
        return Payment.receive(
            practice_id=practice_id, client_id=None, payer=(ts.payer.name if ts.payer else "") or payer_id(ts)
            or "Unknown payer", method="insurance", amount=amount, received_on=min(day or today, today),
            received_at=now, by=by, today=today, source="remittance",
            check_number=trace if method == "CHK" and 0 < len(trace) <= 30 else None, reference=trace or None,
            payment_id=payment_id,
        )

    def _post(self, practice_id: UUID, remittance: Remittance, pending: Sequence[Posting], payments: dict[int, UUID],
              ts_of: dict[str, int], now: datetime, by: UUID,
              progress: Progress | None) -> tuple[Remittance, int, list[Refusal]]:
        by_charge: dict[UUID, list[Posting]] = {}
        for posting in pending:
            by_charge.setdefault(posting.charge_id, []).append(posting)
        charge_ids = list(by_charge)
        written, done = 0, 0
        refusals: list[Refusal] = []
        if progress is not None:
            progress(0, len(pending))
        for start in range(0, len(charge_ids), self.batch_size):
            batch = charge_ids[start : start + self.batch_size]
            for attempt in range(ATTEMPTS):
                try:
                    count, refused = self._post_batch(practice_id, remittance, batch, by_charge, payments, ts_of,
                                                      now, by)
                    break
                except IntegrityError:  # a charge or the remittance changed meanwhile: again, on fresh state
                    if attempt == ATTEMPTS - 1:
                        raise
                    remittance = self._load(practice_id, remittance.id)
            written += count
            refusals += refused
            done += sum(len(by_charge[c]) for c in batch)
            if progress is not None:
                progress(done, len(pending))
        return remittance, written, refusals

    def _post_batch(self, practice_id: UUID, remittance: Remittance, batch: Sequence[UUID],
                    by_charge: dict[UUID, list[Posting]], payments: dict[int, UUID], ts_of: dict[str, int],
                    now: datetime, by: UUID) -> tuple[int, list[Refusal]]:
        charges = self.aggregates.load_many(practice_id, batch, Charge)
        keys: list[str] = []
        written_to: list[UUID] = []
        kinds: list[str] = []
        amounts = []
        refusals: list[Refusal] = []
        changed = []
        for charge_id in batch:
            todo = [p for p in by_charge[charge_id] if p.key not in remittance.posted]
            charge = charges.get(charge_id)
            if charge is None:
                refusals += [Refusal(p.key, charge_id, "No such charge in this practice.") for p in todo]
                continue
            for posting in todo:
                refusal = post_to(charge, posting, payment_id=payments[ts_of[posting.claim_key]],
                                  remittance_id=remittance.id, at=now, by=by)
                if refusal is not None:
                    refusals.append(refusal)
                    continue
                keys.append(posting.key)
                written_to.append(charge_id)
                kinds.append(posting.base_kind)
                amounts.append(posting.amount)
            if charge.pending_events:
                changed.append(charge)
        remittance.record_posted(keys=keys, charge_ids=written_to, kinds=kinds, amounts=amounts, payment_ids=[],
                                 at=now)
        if changed or remittance.pending_events:
            self.store.save(remittance, *changed)
        return len(keys), refusals

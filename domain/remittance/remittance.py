"""A remittance: one uploaded 835 file and what was done with it (issue 6, items 5 and 6).

Its id derives from the practice and the SHA-256 of the bytes, so uploading the same file again
finds the same remittance and records nothing. The raw bytes live in the object store; the events
hold what the file said in sums and findings (`Read`), each matching run (`Matched`, only the
claims whose outcome changed), the postings written to charges (`Posted`: their keys make a
re-run post only the difference), a person's resolution of a claim from the review queue, and a
transaction set whose payment another remittance recorded already (`DuplicatePaymentFound`).

No event names a patient: the 835's names and member ids stay in the stored file, and results
carry charge and client ids only.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited

REMITTANCE_NAMESPACE = UUID("0b7f3c52-9a41-4e8d-b6a2-5c1e7d9f3a84")
MAX_FILENAME = 200
MAX_RESOLVED_CHARGES = 50
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
REVIEW = "5"
MANUAL = "manual"


def remittance_id_for(practice_id: UUID, sha256: str) -> UUID:
    """The id of the remittance holding these bytes in this practice."""
    return uuid5(REMITTANCE_NAMESPACE, f"{practice_id}/{sha256}")


def claim_key_of(posting_key: str) -> str:
    """The claim key a posting key starts with (`{claim key}/{where}/{kind}/{index}/{part}`)."""
    return posting_key.rsplit("/", 4)[0]


def claim_status(level: str, charge_ids: list[str]) -> str:
    """matched (levels 1-4), review (5), resolved or dismissed (a person's decision)."""
    if level == REVIEW:
        return "review"
    if level == MANUAL:
        return "resolved" if charge_ids else "dismissed"
    return "matched"


def clean_filename(filename: str) -> str:
    """The last path segment, without control characters, at most MAX_FILENAME characters."""
    name = _UNSAFE.sub("", filename if isinstance(filename, str) else "").replace("\\", "/").rsplit("/", 1)[-1]
    name = name.strip()
    if not name:
        raise InvalidCommand("The upload needs a file name.", field="filename")
    return name[-MAX_FILENAME:]


class RemittanceEvent(Aggregate.Event, Audited):
    """Remittance events name no client: nothing in them is PHI."""


class Remittance(Aggregate):
    TOPIC = "careledger/remittance"

    class Created(Aggregate.Created):
        TOPIC = "careledger/remittance/created"

    class Uploaded(Created, Audited):
        TOPIC = "careledger/remittance/uploaded"
        practice_id: UUID
        filename: str
        sha256: str
        size: int
        object_key: str
        uploaded_at: datetime
        by: UUID

    class Read(RemittanceEvent):
        """What the file holds: counts, transaction sets, totals and every finding (plain values)."""

        TOPIC = "careledger/remittance/read"
        summary: dict[str, Any]
        at: datetime

    class Matched(RemittanceEvent):
        """A matching run: `results` are the claims whose outcome differs from the previous run
        (every claim on the first), `summary` the counts over all claims after this run."""

        TOPIC = "careledger/remittance/matched"
        run: int
        rules_version: int
        results: list[dict[str, Any]]
        summary: dict[str, Any]
        at: datetime
        by: UUID

    class Posted(RemittanceEvent):
        """Written in the same transaction as the charges (and insurance payments) it names."""

        TOPIC = "careledger/remittance/posted"
        run: int
        keys: list[str]
        charge_ids: list[UUID]
        kinds: list[str]
        amounts: list[Decimal]
        payment_ids: list[UUID]
        at: datetime

    class PostingsRefused(RemittanceEvent):
        """Planned postings a charge refused (void, malformed codes); retried by every run."""

        TOPIC = "careledger/remittance/postings-refused"
        run: int
        refused: list[dict[str, str]]
        at: datetime

    class ClaimResolved(RemittanceEvent):
        TOPIC = "careledger/remittance/claim-resolved"
        claim_key: str
        charge_ids: list[UUID]
        by: UUID
        at: datetime

    class DuplicatePaymentFound(RemittanceEvent):
        TOPIC = "careledger/remittance/duplicate-payment-found"
        transaction_set: int
        trace: str
        payer_id: str
        payment_id: UUID
        other_remittance_id: UUID | None
        at: datetime

    @classmethod
    def upload(
        cls, *, practice_id: UUID, filename: str, sha256: str, size: int, object_key: str, uploaded_at: datetime,
        by: UUID,
    ) -> Remittance:
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise InvalidCommand("A file digest is a lowercase hex SHA-256.", field="sha256")
        if not isinstance(size, int) or size <= 0:
            raise InvalidCommand("An uploaded file is not empty.", field="file")
        return cls._create(
            cls.Uploaded, id=remittance_id_for(practice_id, sha256), practice_id=practice_id,
            filename=clean_filename(filename), sha256=sha256, size=size, object_key=object_key,
            uploaded_at=uploaded_at, by=by,
        )

    @event(Uploaded)
    def __init__(self, practice_id: UUID, filename: str, sha256: str, size: int, object_key: str,
                 uploaded_at: datetime, by: UUID) -> None:
        self.practice_id = practice_id
        self.filename = filename
        self.sha256 = sha256
        self.size = size
        self.object_key = object_key
        self.uploaded_at = uploaded_at
        self.uploaded_by = by
        self.summary: dict[str, Any] | None = None
        self.run = 0
        self.rules_version: int | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.match_summary: dict[str, Any] = {}
        self.matched_at: datetime | None = None
        self.posted: dict[str, tuple[UUID, str, Decimal]] = {}
        self.payment_ids: set[UUID] = set()
        self.written: dict[int, int] = {}
        self.refused: list[dict[str, str]] = []
        self.resolutions: dict[str, tuple[UUID, ...]] = {}
        self.duplicates: dict[int, dict[str, Any]] = {}

    # --- derived ------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """uploaded (not matched yet), needs_review (a claim waits in the queue) or processed."""
        if self.run == 0:
            return "uploaded"
        return "needs_review" if any(r["level"] == REVIEW for r in self.results.values()) else "processed"

    @property
    def posted_keys(self) -> frozenset[str]:
        return frozenset(self.posted)

    def posted_for(self, claim_key: str) -> list[str]:
        return [k for k in self.posted if claim_key_of(k) == claim_key]

    def posted_on(self) -> dict[UUID, Decimal]:
        """Per charge, the net amount this remittance moved (payments and adjustments)."""
        moved: dict[UUID, Decimal] = {}
        for charge_id, _, amount in self.posted.values():
            moved[charge_id] = moved.get(charge_id, Decimal(0)) + amount
        return moved

    # --- commands -----------------------------------------------------------------------------

    def record_read(self, summary: dict[str, Any], *, at: datetime) -> None:
        if self.summary is None:
            self._read(summary=summary, at=at)

    @event(Read)
    def _read(self, summary: dict[str, Any], at: datetime) -> None:
        self.summary = summary

    def record_match(self, rules_version: int, results: list[dict[str, Any]], summary: dict[str, Any], *,
                     at: datetime, by: UUID) -> bool:
        """Record a run unless it changes nothing (same version, same outcome for every claim)."""
        if self.summary is None:
            raise IllegalTransition("The file is matched after it has been read.")
        changed = [r for r in results if self.results.get(r["claim_key"]) != r]
        if not changed and rules_version == self.rules_version and summary == self.match_summary:
            return False
        self._matched(run=self.run + 1, rules_version=rules_version, results=changed, summary=summary, at=at, by=by)
        return True

    @event(Matched)
    def _matched(self, run: int, rules_version: int, results: list[dict[str, Any]], summary: dict[str, Any],
                 at: datetime, by: UUID) -> None:
        self.run = run
        self.rules_version = rules_version
        for result in results:
            self.results[result["claim_key"]] = result
        self.match_summary = summary
        self.matched_at = at

    def record_posted(self, *, keys: list[str], charge_ids: list[UUID], kinds: list[str], amounts: list[Decimal],
                      payment_ids: list[UUID], at: datetime) -> None:
        if not len(keys) == len(charge_ids) == len(kinds) == len(amounts):
            raise InvalidCommand("Every posting names its key, charge, kind and amount.")
        if len(set(keys)) != len(keys) or any(k in self.posted for k in keys):
            raise IllegalTransition("A posting key is written once.")
        if set(payment_ids) & self.payment_ids:
            raise IllegalTransition("A payment is recorded once.")
        if not keys and not payment_ids:
            return
        if self.run == 0:
            raise IllegalTransition("Postings follow a matching run.")
        self._posted(run=self.run, keys=keys, charge_ids=charge_ids, kinds=kinds, amounts=amounts,
                     payment_ids=payment_ids, at=at)

    @event(Posted)
    def _posted(self, run: int, keys: list[str], charge_ids: list[UUID], kinds: list[str], amounts: list[Decimal],
                payment_ids: list[UUID], at: datetime) -> None:
        for key, charge_id, kind, amount in zip(keys, charge_ids, kinds, amounts, strict=True):
            self.posted[key] = (charge_id, kind, amount)
        self.payment_ids.update(payment_ids)
        self.written[run] = self.written.get(run, 0) + len(keys)

    def record_refused(self, refused: list[dict[str, str]], *, at: datetime) -> bool:
        """Record the postings this run could not write, unless they are the ones recorded last."""
        if refused == self.refused or self.run == 0:
            return False
        self._refused(run=self.run, refused=refused, at=at)
        return True

    @event(PostingsRefused)
    def _refused(self, run: int, refused: list[dict[str, str]], at: datetime) -> None:
        self.refused = refused

    def resolve(self, claim_key: str, charge_ids: list[UUID], *, by: UUID, at: datetime) -> bool:
        """A person says which charges a claim pays (none: it pays none of ours). False when that
        is already the resolution. A claim with postings is not re-resolved: its money is on charges."""
        if claim_key not in self.results:
            raise InvalidCommand("The remittance has no such claim.", field="claim_key")
        chosen = list(dict.fromkeys(charge_ids))
        if len(chosen) > MAX_RESOLVED_CHARGES:
            raise InvalidCommand(f"A claim pays at most {MAX_RESOLVED_CHARGES} charges.", field="charge_ids")
        if self.resolutions.get(claim_key) == tuple(chosen):
            return False
        if self.posted_for(claim_key):
            raise IllegalTransition("The claim is posted already; its charges are settled by the payer's reversal.",
                                    claim_key=claim_key)
        self._resolved(claim_key=claim_key, charge_ids=chosen, by=by, at=at)
        return True

    @event(ClaimResolved)
    def _resolved(self, claim_key: str, charge_ids: list[UUID], by: UUID, at: datetime) -> None:
        self.resolutions[claim_key] = tuple(charge_ids)

    def found_duplicate(self, *, transaction_set: int, trace: str, payer_id: str, payment_id: UUID,
                        other_remittance_id: UUID | None, at: datetime) -> bool:
        if transaction_set in self.duplicates:
            return False
        if payment_id in self.payment_ids:
            raise IllegalTransition("This remittance recorded that payment itself.")
        self._duplicate(transaction_set=transaction_set, trace=trace, payer_id=payer_id, payment_id=payment_id,
                        other_remittance_id=other_remittance_id, at=at)
        return True

    @event(DuplicatePaymentFound)
    def _duplicate(self, transaction_set: int, trace: str, payer_id: str, payment_id: UUID,
                   other_remittance_id: UUID | None, at: datetime) -> None:
        self.duplicates[transaction_set] = {
            "transaction_set": transaction_set, "trace": trace, "payer_id": payer_id, "payment_id": payment_id,
            "other_remittance_id": other_remittance_id,
        }

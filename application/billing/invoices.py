"""Client invoices: created with a gapless number, edited while draft, sent by email with their PDF
(or marked as sent), written off, voided, and marked overdue by the worker's sweep.

Numbering: the practice's InvoiceSequence for the practice-local year issues the next number in
the same `store.save` as the new invoice (and the charges moved onto it). Two creators that read
the same last number collide on the sequence's next version; the loser runs again on the state
that won and takes the next number. Nothing is ever deleted, so the numbers have no gap.

Sending composes the mail (PDF attached) before the Sent event is saved, under an idempotency
key naming the invoice's version: a retried or concurrent send of the same draft delivers it once.

Who sees what: invoices are the client's, like payments (application/billing/scope.py): the
practice-wide roles see all, a client or family member their own (never drafts), caseload roles
none. Commands are for practice-wide billing staff. Reading the client's name, address or email
(the PDF, sending) and the invoice's notes is recorded as a PHI read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4

from application import audit
from application.billing.documents import DocumentLine, DocumentRenderer, InvoiceDocument, PartyDetails
from application.billing.scope import (
    BillingScope,
    acting_member,
    billing_scope,
    client_party,
    practice_client,
    require_practice_wide,
)
from application.clients import Read
from application.errors import Conflict, NotFound
from application.mail import Attachment, Mailer, OutgoingMail
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore, Saved
from domain.access.phi_access import PURPOSES, PhiAccess
from domain.billing.charge import Charge
from domain.billing.invoice import STATUSES, Discount, Invoice
from domain.billing.invoice_sequence import InvoiceSequence, invoice_sequence_id
from domain.clients.client import Client
from domain.errors import IllegalTransition, InvalidCommand
from domain.practices.practice import Practice
from domain.scheduling.working_time import zone

ATTEMPTS = 40  # creators of one practice contend for its sequence; each retry takes the next number
DEFAULT_TERMS = timedelta(days=30)
MAX_CHARGES = 100
MAX_PAGE = 200


class NoEmailOnFile(Conflict):
    code = "client_has_no_email"


class InvoiceReadModel(Protocol):
    """The invoices read model (projections/invoices.py)."""

    def invoices(
        self, practice_id: UUID, *, only_clients: Any, status: str | None = None, client_id: UUID | None = None,
        overdue: bool | None = None, cursor: str | None = None, limit: int = 100, include_drafts: bool = True,
    ) -> Any: ...

    def overdue_candidates(self, due_before: date, limit: int = 1000) -> Sequence[Any]: ...


@dataclass(frozen=True)
class ServiceLine:
    """A service booking's hours at an hourly rate (seed 000)."""

    description: str
    service_date: date
    hours: Decimal
    rate: Decimal
    taxable: bool = False


@dataclass(frozen=True)
class InvoiceChanges:
    """A draft's edit: None leaves a term as it is; `clear_discount` removes the discount and an
    empty `notes` the notes. Lines are removed first, then added."""

    due_on: date | None = None
    discount: Discount | None = None
    clear_discount: bool = False
    tax_rate: Decimal | None = None
    notes: str | None = None
    remove_lines: tuple[int, ...] = ()
    add_charge_ids: tuple[UUID, ...] = ()
    add_service_lines: tuple[ServiceLine, ...] = ()


@dataclass(frozen=True)
class InvoiceFilter:
    status: str | None = None
    client_id: UUID | None = None
    overdue: bool | None = None
    cursor: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class CreatedInvoice:
    id: UUID
    number: str
    version: int
    position: int


@dataclass(frozen=True)
class SentInvoice:
    id: UUID
    number: str
    version: int
    position: int
    emailed: bool
    mail_id: str | None


@dataclass(frozen=True)
class InvoicePdf:
    number: str
    filename: str
    data: bytes = field(repr=False)


def charge_description(charge: Charge) -> str:
    code = "-".join((charge.cpt, *charge.modifiers))
    return f"Professional services (CPT {code})"


class InvoiceService:
    def __init__(
        self, store: EventStore, clock: Clock, mailer: Mailer, renderer: DocumentRenderer, view: InvoiceReadModel,
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.renderer = renderer
        self.view = view

    # --- loading ------------------------------------------------------------------------------

    def _invoice(self, practice_id: UUID, invoice_id: UUID, scope: BillingScope | None = None) -> Invoice:
        refusal = NotFound(f"No invoice {invoice_id}.")
        try:
            invoice: Invoice = self.store.load(invoice_id, Invoice)
        except NotFound:
            raise refusal from None
        seen = scope or billing_scope()
        if invoice.practice_id != practice_id or not seen.sees_payment(invoice.client_id):
            raise refusal
        if seen.clients is not None and invoice.status == "draft":
            raise refusal  # a client sees an invoice once it is issued to them
        return invoice

    def _charge(self, practice_id: UUID, client_id: UUID, charge_id: UUID) -> Charge:
        refusal = InvalidCommand(f"No charge {charge_id} of this client to invoice.", field="charge_ids")
        try:
            charge: Charge = self.store.load(charge_id, Charge)
        except NotFound:
            raise refusal from None
        if charge.practice_id != practice_id or charge.client_id != client_id:
            raise refusal
        return charge

    def today(self, practice_id: UUID) -> date:
        practice: Practice = self.store.load(practice_id, Practice)
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    def _sequence(self, practice_id: UUID, year: int) -> InvoiceSequence:
        try:
            sequence: InvoiceSequence = self.store.load(invoice_sequence_id(practice_id, year), InvoiceSequence)
        except NotFound:
            return InvoiceSequence.start(practice_id, year)
        return sequence

    @staticmethod
    def _add_charge(invoice: Invoice, charge: Charge, at: datetime) -> None:
        amount = charge.transfer_to_invoice(invoice.id, at=at)
        invoice.add_charge_line(
            charge_id=charge.id, description=charge_description(charge), service_date=charge.service_date,
            cpt=charge.cpt, charge_modifiers=list(charge.modifiers), charge_units=charge.units,
            unit_fee=charge.unit_fee, amount=amount, at=at,
        )

    @staticmethod
    def _add_service(invoice: Invoice, line: ServiceLine, at: datetime) -> None:
        invoice.add_service_line(description=line.description, service_date=line.service_date, hours=line.hours,
                                 rate=line.rate, taxable=line.taxable, at=at)

    def _read(self, practice_id: UUID, client_id: UUID, read: Read, fields: list[str]) -> PhiAccess:
        if read.purpose not in PURPOSES:
            raise InvalidCommand(f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES))
        return PhiAccess(client_id=client_id, practice_id=practice_id, endpoint=read.endpoint, purpose=read.purpose,
                         fields=fields)

    # --- commands -----------------------------------------------------------------------------

    def create(
        self, practice_id: UUID, client_id: UUID, *, due_on: date | None = None, charge_ids: Sequence[UUID] = (),
        service_lines: Sequence[ServiceLine] = (), discount: Discount | None = None, tax_rate: Decimal = Decimal(0),
        notes: str | None = None, invoice_id: UUID | None = None,
    ) -> CreatedInvoice:
        """A draft for one client with the next number of the practice's year: the charges' open
        balances (each charge then points at the invoice) and service lines. Net 30 by default."""
        require_practice_wide("Invoicing")
        ids = list(dict.fromkeys(charge_ids))
        if len(ids) != len(charge_ids) or len(ids) > MAX_CHARGES:
            raise InvalidCommand(f"Up to {MAX_CHARGES} different charges.", field="charge_ids")
        if not ids and not service_lines:
            raise InvalidCommand("An invoice needs at least one charge or service line.", field="charge_ids")
        new_id = invoice_id or uuid4()
        by = acting_member(practice_id)

        def attempt() -> CreatedInvoice:
            if self.store.exists(new_id):
                raise Conflict(f"An invoice {new_id} exists already.")
            client = practice_client(self.store, practice_id, client_id)
            if client.erased:
                raise IllegalTransition("The client's personal data has been erased.", status="erased")
            charges = [self._charge(practice_id, client_id, cid) for cid in ids]
            now = self.clock.now()
            today = self.today(practice_id)
            sequence = self._sequence(practice_id, today.year)
            number = sequence.issue(new_id, at=now)
            invoice = Invoice.draft(
                invoice_id=new_id, practice_id=practice_id, client_id=client_id, number=number, issued_on=today,
                due_on=due_on or today + DEFAULT_TERMS, discount=discount, tax_rate=tax_rate, notes=notes, at=now,
                by=by,
            )
            for charge in charges:
                self._add_charge(invoice, charge, now)
            for line in service_lines:
                self._add_service(invoice, line, now)
            recordings = self.store.save(sequence, invoice, *charges)
            return CreatedInvoice(invoice.id, number, invoice.version, max(r.notification.id for r in recordings))

        return retrying(attempt, ATTEMPTS)

    def edit(self, practice_id: UUID, invoice_id: UUID, changes: InvoiceChanges) -> Saved:
        """Only a draft; the charges of lines removed are released, those added transferred, all
        saved with the invoice."""
        require_practice_wide("Editing an invoice")
        by = acting_member(practice_id)

        def attempt() -> Saved:
            invoice = self._invoice(practice_id, invoice_id)
            if invoice.status != "draft":
                raise IllegalTransition("Only a draft invoice is edited.", status=invoice.status)
            now = self.clock.now()
            touched: dict[UUID, Charge] = {}
            for line_no in dict.fromkeys(changes.remove_lines):
                removed = invoice.remove_line(line_no, at=now)
                if removed.charge_id is not None:
                    charge = touched.get(removed.charge_id) or self._charge(practice_id, invoice.client_id,
                                                                            removed.charge_id)
                    charge.release_from_invoice(invoice.id, at=now)
                    touched[charge.id] = charge
            for charge_id in dict.fromkeys(changes.add_charge_ids):
                charge = touched.get(charge_id) or self._charge(practice_id, invoice.client_id, charge_id)
                self._add_charge(invoice, charge, now)
                touched[charge.id] = charge
            for line in changes.add_service_lines:
                self._add_service(invoice, line, now)
            invoice.change_terms(
                due_on=changes.due_on or invoice.due_on,
                discount=None if changes.clear_discount else (changes.discount or invoice.discount),
                tax_rate=changes.tax_rate if changes.tax_rate is not None else invoice.tax_rate,
                notes=changes.notes if changes.notes is not None else invoice.notes, at=now, by=by,
            )
            recordings = self.store.save(invoice, *touched.values())
            return Saved(invoice.id, invoice.version, max((r.notification.id for r in recordings), default=0))

        return retrying(attempt, ATTEMPTS)

    def send(self, practice_id: UUID, invoice_id: UUID, *, email: bool = True, read: Read | None = None) -> SentInvoice:
        """Email the invoice with its PDF to the client's address on file (409
        `client_has_no_email` without one), or with `email=False` mark it sent (handed over,
        posted) without mail."""
        require_practice_wide("Sending an invoice")
        by = acting_member(practice_id)
        source = read or Read("invoices.send", "payment")

        def attempt() -> SentInvoice:
            invoice = self._invoice(practice_id, invoice_id)
            invoice.check_sendable()
            mail_id: str | None = None
            reads: list[PhiAccess] = []
            if email:
                client = practice_client(self.store, practice_id, invoice.client_id)
                address = client.demographics.get("email") if not client.erased else None
                if not address:
                    raise NoEmailOnFile(
                        "The client has no email address on file; add one, or mark the invoice as sent "
                        "without email (email: false).")
                practice: Practice = self.store.load(practice_id, Practice)
                reads.append(self._read(practice_id, invoice.client_id, source, ["name", "address", "email"]))
                pdf = self.renderer.invoice_pdf(self._document(invoice, practice, client, status="sent"))
                mail_id = self.mailer.send(OutgoingMail(
                    to=str(address), subject=f"Invoice {invoice.number} from {practice.name}",
                    text=_mail_text(invoice, practice),
                    attachments=(Attachment(f"{invoice.number}.pdf", "application/pdf", pdf),),
                    idempotency_key=f"invoice-sent:{invoice.id}:v{invoice.version}", practice_id=practice_id,
                ))
            invoice.send(emailed=email, mail_id=mail_id, at=self.clock.now(), by=by)
            recordings = self.store.save(invoice, *reads)
            return SentInvoice(invoice.id, invoice.number, invoice.version,
                               max(r.notification.id for r in recordings), email, mail_id)

        return retrying(attempt, ATTEMPTS)

    def void(self, practice_id: UUID, invoice_id: UUID, reason: str) -> Saved:
        """The number stays taken; the charges on it get their balances back (saved together)."""
        require_practice_wide("Voiding an invoice")
        by = acting_member(practice_id)

        def attempt() -> Saved:
            invoice = self._invoice(practice_id, invoice_id)
            now = self.clock.now()
            invoice.void(reason, at=now, by=by)
            charges = [self._charge(practice_id, invoice.client_id, cid) for cid in invoice.charge_ids]
            for charge in charges:
                charge.release_from_invoice(invoice.id, at=now)
            recordings = self.store.save(invoice, *charges)
            return Saved(invoice.id, invoice.version, max(r.notification.id for r in recordings))

        return retrying(attempt, ATTEMPTS)

    def write_off(
        self, practice_id: UUID, invoice_id: UUID, *, amount: Decimal, reason: str, write_off_id: UUID | None = None,
    ) -> Saved:
        """An uncollectable remainder, at most the balance; the same `write_off_id` again changes nothing."""
        require_practice_wide("Writing off")
        by = acting_member(practice_id)
        entry_id = str(write_off_id or uuid4())

        def attempt() -> Saved:
            invoice = self._invoice(practice_id, invoice_id)
            invoice.write_off(entry_id, amount, reason, at=self.clock.now(), by=by)
            saved = self.store.save_one(invoice)
            return Saved(invoice.id, saved.version, saved.position)

        return retrying(attempt, ATTEMPTS)

    def mark_overdue_invoices(self, now: datetime | None = None, limit: int = 1000) -> list[UUID]:
        """The sweep: every sent invoice of every practice whose practice-local today is past its
        due date with a balance open is recorded overdue (once). Needs an audit context (the
        worker's system actor); each practice's invoices are saved under that practice."""
        at = now or self.clock.now()
        candidates = self.view.overdue_candidates(at.date() + timedelta(days=1), limit)
        marked: list[UUID] = []
        by_practice: dict[UUID, list[UUID]] = {}
        for c in candidates:
            by_practice.setdefault(c.practice_id, []).append(c.invoice_id)
        for practice_id, invoice_ids in by_practice.items():
            with audit.for_practice(practice_id):
                practice: Practice = self.store.load(practice_id, Practice)
                today = at.astimezone(zone(practice.time_zone)).date()
                marked += [i for i in invoice_ids if self._mark_overdue(practice_id, i, today, at)]
        return marked

    def _mark_overdue(self, practice_id: UUID, invoice_id: UUID, today: date, at: datetime) -> bool:
        def attempt() -> bool:
            invoice: Invoice = self.store.load(invoice_id, Invoice)
            if invoice.practice_id != practice_id or not invoice.mark_overdue(today, at=at):
                return False
            self.store.save(invoice)
            return True

        return retrying(attempt, ATTEMPTS)

    # --- reading ------------------------------------------------------------------------------

    def get(self, practice_id: UUID, invoice_id: UUID, read: Read | None = None) -> Invoice:
        """The invoice with its notes; with `read`, recorded as a PHI read of the client."""
        invoice = self._invoice(practice_id, invoice_id)
        if read is not None:
            self.store.save(self._read(practice_id, invoice.client_id, read, ["invoice_notes"]))
        return invoice

    def list(self, practice_id: UUID, filters: InvoiceFilter) -> Any:
        if filters.status is not None and filters.status not in STATUSES:
            raise InvalidCommand("Unknown invoice status.", field="status", allowed=list(STATUSES))
        if not 1 <= filters.limit <= MAX_PAGE:
            raise InvalidCommand(f"A page holds 1 to {MAX_PAGE} invoices.", field="limit")
        scope = billing_scope()
        if not scope.payments:
            return self.view.invoices(practice_id, only_clients=(), limit=filters.limit)
        return self.view.invoices(
            practice_id, only_clients=scope.clients, status=filters.status, client_id=filters.client_id,
            overdue=filters.overdue, cursor=filters.cursor, limit=filters.limit,
            include_drafts=scope.clients is None,
        )

    def pdf(self, practice_id: UUID, invoice_id: UUID, read: Read | None = None) -> InvoicePdf:
        """The invoice as PDF with the practice's and the client's details (a PHI read)."""
        invoice = self._invoice(practice_id, invoice_id)
        client = practice_client(self.store, practice_id, invoice.client_id)
        practice: Practice = self.store.load(practice_id, Practice)
        self.store.save(self._read(practice_id, invoice.client_id, read or Read("invoices.pdf", "payment"),
                                   ["name", "address", "invoice_notes"]))
        data = self.renderer.invoice_pdf(self._document(invoice, practice, client))
        return InvoicePdf(invoice.number, f"{invoice.number}.pdf", data)

    @staticmethod
    def _document(invoice: Invoice, practice: Practice, client: Client, status: str | None = None) -> InvoiceDocument:
        """`status`: as the invoice will be once the mail it goes out with is recorded."""
        t = invoice.totals
        discount = invoice.discount
        return InvoiceDocument(
            number=invoice.number, status=status or invoice.status, issued_on=invoice.issued_on, due_on=invoice.due_on,
            practice=PartyDetails(name=practice.name, phone=practice.scheduling.contact_phone),
            bill_to=client_party(client, with_email=True),
            lines=tuple(
                DocumentLine(description=line.description, service_date=line.service_date, code=line.cpt,
                             modifiers=line.modifiers, quantity=line.quantity, unit_price=line.unit_price,
                             amount=line.amount)
                for line in invoice.line_list
            ),
            subtotal=t.subtotal, discount=t.discount,
            discount_label=None if discount is None else (
                f"Discount ({discount.value.normalize():f}%)" if discount.kind == "percent" else "Discount"),
            tax=t.tax, tax_label=f"Tax ({invoice.tax_rate.normalize():f}% on taxable services)" if invoice.tax_rate
            else None,
            # The document has no line for write-offs: they show with the payments, so it adds up.
            total=t.total, paid=invoice.paid + invoice.written_off, balance=invoice.balance,
            notes=invoice.notes if isinstance(invoice.notes, str) and not client.erased else None,
        )



def _mail_text(invoice: Invoice, practice: Practice) -> str:
    return (
        f"Hello,\n\nPlease find attached invoice {invoice.number} from {practice.name} for "
        f"${invoice.total:,.2f}, due on {invoice.due_on:%B} {invoice.due_on.day}, {invoice.due_on.year}.\n\n"
        "Thank you.\n"
    )

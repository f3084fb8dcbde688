"""Invoices through the service against PostgreSQL: gapless numbers (also under concurrent
creators), charges moved onto and off invoices, sending with the PDF attached, void, write-offs,
the overdue sweep in each practice's own time zone, and who sees which invoices."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from pypdf import PdfReader

from adapters.clock import FrozenClock
from application import audit
from application.billing.invoices import (
    InvoiceChanges,
    InvoiceFilter,
    InvoiceService,
    NoEmailOnFile,
    ServiceLine,
)
from application.errors import Forbidden, NotFound
from application.store import EventStore
from domain.access.phi_access import PhiAccess
from domain.billing.charge import Charge
from domain.billing.invoice import Discount, Invoice
from domain.billing.invoice_sequence import InvoiceSequence, invoice_sequence_id
from domain.billing.payment import Payment
from domain.errors import IllegalTransition, InvalidCommand
from tests.application.billing.support import member_acting
from tests.support import open_practice

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)  # 10:00 in New York
D = Decimal
ADDRESS = {"line1": "12 Elm Street", "city": "Springfield", "state": "IL", "zip": "62701"}


@dataclass
class Books:
    k: Any
    id: UUID
    clock: FrozenClock
    service: InvoiceService
    client: UUID
    email: str
    other_client: UUID
    no_email_client: UUID

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    @contextmanager
    def acting(self, role: str = "billing", clients: frozenset[UUID] = frozenset()) -> Iterator[None]:
        with member_acting(self.id, uuid4(), role, clients):
            yield

    def charge(self, client: UUID | None = None, fee: str = "150.00", cpt: str = "90834") -> UUID:
        with self.system():
            charge = Charge.enter(
                practice_id=self.id, client_id=client or self.client, clinician_id=uuid4(), appointment_id=None,
                service_date=date(2026, 2, 20), cpt=cpt, charge_modifiers=["95"], charge_units=D(1),
                diagnosis_codes=["F41.1"], diagnosis_pointers=[1], unit_fee=D(fee), payer=None,
                entered_at=NOW, by=self.id, today=date(2026, 3, 2),
            )
            self.k.store.save(charge)
        return charge.id

    def create(self, **fields: Any) -> Any:
        fields.setdefault("service_lines", [ServiceLine("Companion care", date(2026, 2, 27), D("3.5"), D("28.00"))])
        with self.acting():
            return self.service.create(self.id, fields.pop("client_id", self.client), **fields)

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        with self.system():
            return self.k.store.load(aggregate_id, cls)

    def pay(self, invoice_id: UUID, amount: str) -> UUID:
        """The two-step application (receive, then apply to the invoice), saved together."""
        application_id = uuid4()
        with self.system():
            invoice: Invoice = self.k.store.load(invoice_id, Invoice)
            payment = Payment.receive(
                practice_id=self.id, client_id=invoice.client_id, payer=None, method="cash", amount=D(amount),
                received_on=date(2026, 3, 2), received_at=NOW, by=None, today=date(2026, 3, 2),
            )
            payment.apply(application_id, "invoice", invoice_id, D(amount), at=NOW, by=None)
            invoice.apply_payment(application_id, payment.id, D(amount), at=NOW)
            self.k.store.save(payment, invoice)
        return application_id

    def row(self, invoice_id: UUID) -> Any:
        self.k.runner("invoices").catch_up()
        return self.k.invoices_view.get(self.id, invoice_id)

    def phi_reads(self) -> int:
        with self.system():
            return len(list(self.k.store.history(self.client, topics=[PhiAccess.Recorded.TOPIC])))


def register(k: Any, pid: UUID, first: str, email: str | None) -> UUID:
    with audit.acting(audit.system("system:test", practice_id=pid)):
        demographics: dict[str, Any] = {"first_name": first, "last_name": "Doe", "date_of_birth": date(1980, 5, 6),
                                        "address": ADDRESS}
        if email:
            demographics["email"] = email
        saved_id: UUID = k.clients.register(pid, "basic", demographics).id
        return saved_id


def open_books(k: Any, zone: str = "America/New_York", now: datetime = NOW) -> Books:
    slug = f"inv-{uuid4().hex[:8]}"
    with audit.acting(audit.system("system:test")):
        pid = open_practice(k, "Elm Street Counseling", slug, zone)
    clock = FrozenClock(now)
    email = f"jane-{slug}@example.test"
    return Books(
        k=k, id=pid, clock=clock,
        service=InvoiceService(k.store, clock, k.mailer, k.document_renderer, k.invoices_view),
        client=register(k, pid, "Jane", email), email=email, other_client=register(k, pid, "John", "j@x.test"),
        no_email_client=register(k, pid, "Nomail", None),
    )


@pytest.fixture
def books(container: Any) -> Books:
    return open_books(container)


def test_create_numbers_the_invoice_and_moves_the_charges_onto_it(books: Books) -> None:
    c1, c2 = books.charge(fee="150.00"), books.charge(fee="120.00", cpt="90837")
    created = books.create(charge_ids=[c1, c2], discount=Discount.checked("amount", D("10.00")),
                           tax_rate=D("8.25"), notes="Thank you", due_on=date(2026, 3, 31), service_lines=[
                               ServiceLine("Companion care", date(2026, 2, 27), D("3.5"), D("28.00"), taxable=True)])
    assert created.number == "INV-2026-000001"
    invoice: Invoice = books.load(created.id, Invoice)
    assert [(line.kind, line.amount, line.cpt, line.charge_id) for line in invoice.line_list] == [
        ("charge", D("150.00"), "90834", c1), ("charge", D("120.00"), "90837", c2), ("service", D("98.00"), None, None)]
    t = invoice.totals
    # 8.25% of the taxable 98.00 less its share of the 10.00 discount: 98 x 358 / 368 = 95.3369... -> 7.87
    assert (t.subtotal, t.discount, t.tax, t.total) == (D("368.00"), D("10.00"), D("7.87"), D("365.87"))
    assert (invoice.issued_on, invoice.due_on, invoice.notes, invoice.status) == (
        date(2026, 3, 2), date(2026, 3, 31), "Thank you", "draft")
    for cid in (c1, c2):
        charge: Charge = books.load(cid, Charge)
        assert (charge.invoice_id, charge.balance, charge.transferred) == (created.id, D("0.00"), charge.amount)
    sequence: InvoiceSequence = books.load(invoice_sequence_id(books.id, 2026), InvoiceSequence)
    assert (sequence.last, sequence.last_invoice_id) == (1, created.id)

    row = books.row(created.id)
    assert (row.number, row.status, row.subtotal, row.discount, row.tax, row.total, row.paid, row.written_off,
            row.balance, row.line_count, row.issued_on, row.due_on) == (
        "INV-2026-000001", "draft", D("368.00"), D("10.00"), D("7.87"), D("365.87"), D(0), D(0), D("365.87"), 3,
        date(2026, 3, 2), date(2026, 3, 31))
    lines = books.k.invoices_view.lines(created.id)
    assert lines == invoice.line_list


def test_a_refused_create_takes_no_number(books: Books) -> None:
    others = books.charge(client=books.other_client)
    with pytest.raises(InvalidCommand):
        books.create(charge_ids=[others])
    with pytest.raises(InvalidCommand):
        books.create(service_lines=[])
    mine = books.charge()
    assert books.create(charge_ids=[mine]).number == "INV-2026-000001"
    with pytest.raises(IllegalTransition):  # on an invoice already
        books.create(charge_ids=[mine])
    assert books.create().number == "INV-2026-000002"


def test_the_year_turns_with_the_practice_local_date(container: Any) -> None:
    # 04:30 UTC on 1 January is still 31 December in New York, already 1 January in Berlin.
    new_year = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)
    ny, berlin = open_books(container, now=new_year), open_books(container, "Europe/Berlin", now=new_year)
    assert ny.create().number == "INV-2026-000001"
    assert berlin.create().number == "INV-2027-000001"


def test_a_draft_is_edited_with_its_charges_moved_on_and_off(books: Books) -> None:
    c1, c2 = books.charge(), books.charge(fee="80.00")
    created = books.create(charge_ids=[c1])
    with books.acting():
        books.service.edit(books.id, created.id, InvoiceChanges(
            remove_lines=(1,), add_charge_ids=(c2,),
            add_service_lines=(ServiceLine("Respite care", date(2026, 2, 28), D(2), D("30.00"), taxable=True),),
            discount=Discount.checked("percent", D(10)), tax_rate=D(5), due_on=date(2026, 4, 15), notes="Net 45",
        ))
    first: Charge = books.load(c1, Charge)
    second: Charge = books.load(c2, Charge)
    assert (first.invoice_id, first.balance) == (None, D("150.00"))
    assert (second.invoice_id, second.balance) == (created.id, D("0.00"))
    invoice: Invoice = books.load(created.id, Invoice)
    assert [line.line_no for line in invoice.line_list] == [2, 3, 4]
    # 98.00 + 80.00 + 60.00 = 238.00; 10% = 23.80; tax 5% of the taxable 60.00 x 214.20 / 238 = 54.00 -> 2.70
    assert (invoice.total, invoice.due_on, invoice.notes) == (D("216.90"), date(2026, 4, 15), "Net 45")
    row = books.row(created.id)
    assert (row.subtotal, row.discount, row.tax, row.total, row.line_count, row.due_on, row.discount_kind) == (
        D("238.00"), D("23.80"), D("2.70"), D("216.90"), 3, date(2026, 4, 15), "percent")

    with books.acting():
        books.service.edit(books.id, created.id, InvoiceChanges(clear_discount=True, notes=""))
    invoice = books.load(created.id, Invoice)
    assert (invoice.discount, invoice.notes, invoice.total) == (None, None, D("241.00"))
    with books.acting():
        books.service.send(books.id, created.id, email=False)
        with pytest.raises(IllegalTransition):
            books.service.edit(books.id, created.id, InvoiceChanges(tax_rate=D(0)))


def test_send_mails_the_pdf_to_the_client(books: Books) -> None:
    created = books.create(charge_ids=[books.charge()])
    reads = books.phi_reads()
    with books.acting():
        sent = books.service.send(books.id, created.id)
        with pytest.raises(IllegalTransition):
            books.service.send(books.id, created.id)
    assert sent.emailed and sent.mail_id
    mails = [m for m in books.k.mailer.list(to=books.email) if m.subject.startswith(f"Invoice {created.number}")]
    assert len(mails) == 1
    (mail,) = mails
    assert str(mail.id) == sent.mail_id and mail.practice_id == books.id
    assert mail.subject == f"Invoice {created.number} from Elm Street Counseling"
    assert "$248.00" in mail.text
    (attachment,) = mail.attachments
    assert (attachment.filename, attachment.content_type) == (f"{created.number}.pdf", "application/pdf")
    with books.acting():
        pdf = books.service.pdf(books.id, created.id)
    assert attachment.sha256 == hashlib.sha256(pdf.data).hexdigest()  # the sent invoice, byte for byte
    assert books.phi_reads() == reads + 2  # the send's read of the address, the download's

    events = list(books.k.store.events.get(created.id))
    sent_event = events[-1]
    assert isinstance(sent_event, Invoice.Sent)
    assert (sent_event.emailed, sent_event.mail_id, sent_event.total) == (True, sent.mail_id, D("248.00"))
    assert books.row(created.id).status == "sent"


def test_no_email_on_file_refuses_sending_but_marking_as_sent_works(books: Books) -> None:
    created = books.create(client_id=books.no_email_client)
    with books.acting():
        with pytest.raises(NoEmailOnFile):
            books.service.send(books.id, created.id)
        assert books.load(created.id, Invoice).status == "draft"
        sent = books.service.send(books.id, created.id, email=False)
    assert (sent.emailed, sent.mail_id) == (False, None)
    invoice: Invoice = books.load(created.id, Invoice)
    assert (invoice.status, invoice.emailed) == ("sent", False)


def test_the_pdf_shows_the_practice_the_client_and_the_lines(books: Books) -> None:
    created = books.create(charge_ids=[books.charge()], notes="Pay by check or card.")
    reads = books.phi_reads()
    with books.acting():
        pdf = books.service.pdf(books.id, created.id)
    assert pdf.filename == f"{created.number}.pdf" and pdf.data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for shown in (created.number, "Elm Street Counseling", "Jane Doe", "12 Elm Street", "Springfield", "90834-95",
                  "Companion care", "$150.00", "$98.00", "$248.00", "Pay by check or card."):
        assert shown in text, shown
    assert books.phi_reads() == reads + 1


def test_void_releases_the_charges_and_keeps_the_number(books: Books) -> None:
    charge_id = books.charge()
    created = books.create(charge_ids=[charge_id])
    with books.acting():
        books.service.send(books.id, created.id, email=False)
    application = books.pay(created.id, "50.00")
    with books.acting(), pytest.raises(IllegalTransition):
        books.service.void(books.id, created.id, "Billed to the wrong client")
    with books.system():
        invoice: Invoice = books.k.store.load(created.id, Invoice)
        payment: Payment = books.k.store.load(invoice.payments[application].payment_id, Payment)
        payment.unapply(application, "Wrong client", at=NOW, by=None)
        invoice.unapply_payment(application, at=NOW)
        books.k.store.save(payment, invoice)
    with books.acting():
        books.service.void(books.id, created.id, "Billed to the wrong client")
    invoice = books.load(created.id, Invoice)
    assert (invoice.status, invoice.number, invoice.void_reason) == ("void", created.number,
                                                                      "Billed to the wrong client")
    charge: Charge = books.load(charge_id, Charge)
    assert (charge.invoice_id, charge.balance) == (None, D("150.00"))
    assert books.row(created.id).status == "void"
    assert books.create(charge_ids=[charge_id]).number == "INV-2026-000002"


def test_write_offs_close_the_remainder(books: Books) -> None:
    created = books.create()
    with books.acting():
        books.service.send(books.id, created.id, email=False)
    books.pay(created.id, "90.00")
    key = uuid4()
    with books.acting():
        books.service.write_off(books.id, created.id, amount=D("8.00"), reason="Small balance", write_off_id=key)
        books.service.write_off(books.id, created.id, amount=D("8.00"), reason="Small balance", write_off_id=key)
        with pytest.raises(InvalidCommand):
            books.service.write_off(books.id, created.id, amount=D("0.01"), reason="More")
    row = books.row(created.id)
    assert (row.status, row.total, row.paid, row.written_off, row.balance) == (
        "paid", D("98.00"), D("90.00"), D("8.00"), D("0.00"))
    assert row.paid_at == NOW


def test_the_overdue_sweep_uses_each_practice_s_own_date(container: Any) -> None:
    auckland, honolulu = open_books(container, "Pacific/Auckland"), open_books(container, "Pacific/Honolulu")
    due = date(2026, 3, 3)
    created = {}
    for books in (auckland, honolulu):
        created[books.id] = books.create(due_on=due).id
        with books.acting():
            books.service.send(books.id, created[books.id], email=False)
    draft = auckland.create(due_on=due).id
    paid = auckland.create(due_on=due).id
    with auckland.acting():
        auckland.service.send(auckland.id, paid, email=False)
    auckland.pay(paid, "98.00")
    container.runner("invoices").catch_up()

    def sweep(at: datetime) -> set[UUID]:
        container.runner("invoices").catch_up()
        with audit.acting(audit.system("system:sweep")):
            return set(auckland.service.mark_overdue_invoices(at)) & {*created.values(), draft, paid}

    # 12:00 UTC on 3 March: 4 March 01:00 in Auckland, 3 March 02:00 in Honolulu.
    assert sweep(datetime(2026, 3, 3, 12, tzinfo=UTC)) == {created[auckland.id]}
    assert sweep(datetime(2026, 3, 3, 13, tzinfo=UTC)) == set()
    assert sweep(datetime(2026, 3, 4, 11, tzinfo=UTC)) == {created[honolulu.id]}
    row = auckland.row(created[auckland.id])
    assert (row.status, row.overdue_since) == ("overdue", date(2026, 3, 4))
    assert auckland.row(draft).status == "draft" and auckland.row(paid).status == "paid"
    with auckland.acting():
        page = auckland.service.list(auckland.id, InvoiceFilter(overdue=True))
    assert [r.invoice_id for r in page.items] == [created[auckland.id]]


def test_clients_see_their_own_issued_invoices_and_caseload_staff_none(books: Books) -> None:
    mine_sent = books.create().id
    mine_draft = books.create().id
    theirs = books.create(client_id=books.other_client).id
    with books.acting():
        books.service.send(books.id, mine_sent, email=False)
        books.service.send(books.id, theirs, email=False)
    books.k.runner("invoices").catch_up()
    with books.acting("client", frozenset({books.client})):
        assert [r.invoice_id for r in books.service.list(books.id, InvoiceFilter()).items] == [mine_sent]
        assert books.service.get(books.id, mine_sent).id == mine_sent
        assert books.service.pdf(books.id, mine_sent).number.startswith("INV-2026-")
        for hidden in (mine_draft, theirs):
            with pytest.raises(NotFound):
                books.service.get(books.id, hidden)
            with pytest.raises(NotFound):
                books.service.pdf(books.id, hidden)
        with pytest.raises(Forbidden):
            books.service.void(books.id, mine_sent, "Not mine")
    with books.acting("clinician"):
        assert books.service.list(books.id, InvoiceFilter()).items == []
        with pytest.raises(NotFound):
            books.service.get(books.id, mine_sent)
    with books.acting("billing"):
        listed = {r.invoice_id for r in books.service.list(books.id, InvoiceFilter()).items}
        assert listed == {mine_sent, mine_draft, theirs}
        assert [r.invoice_id for r in books.service.list(books.id, InvoiceFilter(status="draft")).items] == [mine_draft]
        assert {r.invoice_id for r in books.service.list(books.id, InvoiceFilter(client_id=books.client)).items} == {
            mine_sent, mine_draft}
        first = books.service.list(books.id, InvoiceFilter(limit=2))
        rest = books.service.list(books.id, InvoiceFilter(limit=2, cursor=first.next_cursor))
        assert [r.number for r in first.items + rest.items] == [
            "INV-2026-000003", "INV-2026-000002", "INV-2026-000001"]
        assert rest.next_cursor is None


def test_another_practice_s_invoice_does_not_exist(books: Books, container: Any) -> None:
    created = books.create()
    stranger = open_books(container)
    with stranger.acting(), pytest.raises(NotFound):
        stranger.service.get(stranger.id, created.id)
    with stranger.acting(), pytest.raises(NotFound):
        stranger.service.get(books.id, created.id)  # the store refuses the other practice's aggregate


def test_concurrent_creators_get_gapless_unique_numbers(container: Any) -> None:
    """8 threads in 4 "processes" (event stores with caches of their own) create 5 invoices each
    for one practice at once: the numbers are exactly 1..40."""
    k = container
    books = open_books(k)
    stores = [EventStore(k.env, cipher=k.keystore, cached_types=(InvoiceSequence,)) for _ in range(4)]
    services = [InvoiceService(s, books.clock, k.mailer, k.document_renderer, k.invoices_view) for s in stores]
    barrier = threading.Barrier(8)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def creator(n: int) -> None:
        service = services[n % 4]
        try:
            barrier.wait()
            for i in range(5):
                with books.acting():
                    created = service.create(books.id, books.client, service_lines=[
                        ServiceLine(f"Visit {n}-{i}", date(2026, 2, 27), D(1), D("10.00"))])
                with lock:
                    numbers.append(created.number)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    assert errors == []
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, 41)]
    sequence: InvoiceSequence = books.load(invoice_sequence_id(books.id, 2026), InvoiceSequence)
    assert sequence.last == 40 and sequence.version == 41

    k.runner("invoices").catch_up()
    with books.acting():
        listed = books.service.list(books.id, InvoiceFilter(limit=200)).items
    assert sorted(r.number for r in listed) == sorted(numbers)
    voided = next(r for r in listed if r.number == "INV-2026-000017")
    with books.acting():
        books.service.void(books.id, voided.invoice_id, "Duplicate")
    assert books.create().number == "INV-2026-000041"
    assert books.row(voided.invoice_id).number == "INV-2026-000017"

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from adapters.pdf_documents import FpdfDocumentRenderer, latin1_safe
from application.billing.documents import (
    AgingBuckets,
    DocumentLine,
    DocumentRenderer,
    InvoiceDocument,
    PartyDetails,
    StatementDocument,
    StatementEntry,
    format_money,
)

D = Decimal
PRACTICE = PartyDetails(
    name="Riverbend Counseling Group",
    address_lines=("120 Main Street, Suite 4", "Springfield, IL 62701"),
    phone="(217) 555-0100",
    email="billing@riverbend.test",
    tax_id="12-3456789",
    npi="1234567893",
)
CLIENT = PartyDetails(
    name="Jordan Avery", address_lines=("9 Elm Court", "Springfield, IL 62704"), email="jordan@example.test"
)


def line(i: int, code: str, amount: str, modifiers: tuple[str, ...] = (), quantity: str = "1") -> DocumentLine:
    return DocumentLine(
        description=f"Psychotherapy session {i}",
        service_date=date(2026, 3, 1) + timedelta(days=i % 28),
        code=code,
        modifiers=modifiers,
        quantity=D(quantity),
        unit_price=D(amount) / D(quantity),
        amount=D(amount),
        clinician="Dr. Sam Lee, LCSW",
    )


def invoice(lines: tuple[DocumentLine, ...], status: str = "issued", **changes: object) -> InvoiceDocument:
    subtotal = sum((ln.amount for ln in lines), D("0"))
    discount, tax = D("25.00"), D("0.00")
    total = subtotal - discount + tax
    paid = D("100.00")
    doc = InvoiceDocument(
        number="INV-2026-000123",
        status=status,
        issued_on=date(2026, 3, 31),
        due_on=date(2026, 4, 30),
        practice=PRACTICE,
        bill_to=CLIENT,
        lines=lines,
        subtotal=subtotal,
        discount=discount,
        discount_label="Sliding scale",
        tax=tax,
        tax_label=None,
        total=total,
        paid=paid,
        balance=total - paid,
        notes="Thank you for your payment.",
        payment_link="https://pay.careledger.test/i/abc123",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


THREE = (
    line(1, "90837", "1234.50", ("95",)),
    line(2, "90834", "150.00"),
    line(3, "90846", "180.00", ("GT", "HO"), quantity="2"),
)


def statement(**changes: object) -> StatementDocument:
    entries = (
        StatementEntry(date(2026, 3, 3), "Psychotherapy, 60 min", "INV-2026-000101", D("200.00"), D("0"), D("250.00")),
        StatementEntry(date(2026, 3, 9), "Card payment", "PAY-77", D("0"), D("150.00"), D("100.00")),
        StatementEntry(date(2026, 3, 17), "Family therapy", "INV-2026-000117", D("180.00"), D("0"), D("280.00")),
    )
    doc = StatementDocument(
        statement_date=date(2026, 4, 1),
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        practice=PRACTICE,
        client=CLIENT,
        opening_balance=D("50.00"),
        entries=entries,
        closing_balance=D("280.00"),
        aging=AgingBuckets(D("180.00"), D("60.00"), D("40.00"), D("0"), D("0")),
        amount_due=D("280.00"),
        message="Questions about your bill? Call us.",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def renderer() -> DocumentRenderer:
    return FpdfDocumentRenderer()


def test_format_money() -> None:
    assert format_money(D("1234.5"), "USD") == "$1,234.50"
    assert format_money(D("-10"), "USD") == "-$10.00"
    assert format_money(D("0.005"), "USD") == "$0.01"
    assert format_money(D("1000000"), "GBP") == "£1,000,000.00"
    assert format_money(D("7"), "CHF") == "CHF 7.00"


def test_latin1_safe_keeps_latin1_and_replaces_the_rest() -> None:
    assert latin1_safe("Zoë Ångström — Łódź") == "Zoë Ångström - Lódz"
    assert latin1_safe("“quoted” … ﬁle 東") == '"quoted" ... file ?'
    latin1_safe("🙂 Ŧest\tx").encode("latin-1")


def test_invoice_shows_parties_lines_and_totals(renderer: DocumentRenderer) -> None:
    doc = invoice(THREE)
    text = "\n".join(pages(renderer.invoice_pdf(doc)))

    for expected in (
        "INV-2026-000123",
        "Riverbend Counseling Group",
        "120 Main Street, Suite 4",
        "NPI 1234567893",
        "Tax ID 12-3456789",
        "Jordan Avery",
        "9 Elm Court",
        "Mar 31, 2026",
        "Apr 30, 2026",
        "Issued",
        "90837-95",
        "90834",
        "90846-GT-HO",
        "$1,234.50",
        "$150.00",
        "$180.00",
        "$90.00",
        "Dr. Sam Lee, LCSW",
        "https://pay.careledger.test/i/abc123",
        "Thank you for your payment.",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert re.search(r"Subtotal\s*\$1,564\.50", text)
    assert re.search(r"Sliding scale\s*-\$25\.00", text)
    assert re.search(r"Total\s*\$1,539\.50", text)
    assert re.search(r"Paid\s*-\$100\.00", text)
    assert re.search(r"Balance due\s*\$1,439\.50", text)
    assert "VOID" not in text


def test_long_invoice_spans_pages_with_every_line_and_repeated_header(renderer: DocumentRenderer) -> None:
    lines = tuple(line(i, f"9{i:04d}", f"{100 + i}.25") for i in range(120))
    texts = pages(renderer.invoice_pdf(invoice(lines)))

    assert len(texts) >= 3
    text = "\n".join(texts)
    for i in range(120):
        assert f"9{i:04d}" in text
        assert format_money(D(f"{100 + i}.25"), "USD") in text
    n = len(texts)
    for number, page in enumerate(texts, start=1):
        assert f"Page {number} of {n}" in page
        if re.search(r"\b9\d{4}\b", page):
            assert "Date Code Description Qty Rate Amount" in page
    assert "(continued)" in texts[1]
    total = sum(ln.amount for ln in lines) - D("25.00") - D("100.00")
    assert re.search(r"Balance due\s*" + re.escape(format_money(total, "USD")), texts[-1])


def test_void_invoice_carries_the_banner_on_every_page(renderer: DocumentRenderer) -> None:
    lines = tuple(line(i, f"9{i:04d}", "100.00") for i in range(60))
    texts = pages(renderer.invoice_pdf(invoice(lines, status="void")))

    assert len(texts) >= 2
    assert all("VOID" in page for page in texts)
    assert "not payable" in texts[0]
    assert "pay.careledger.test" not in "\n".join(texts)


def test_names_outside_latin1_do_not_crash(renderer: DocumentRenderer) -> None:
    name = "Zoë Ångström — Łódź"
    client = PartyDetails(name=name, address_lines=("ul. Piotrkowska 1", "Łódź 90-001 🏠"))
    special = replace(THREE[0], description="Séance “thérapie” — 東京", clinician="Dr. Øyvind Šimić")
    doc = invoice((special,), bill_to=client, practice=replace(PRACTICE, name="Ĉentro Ŝaŭmo"), notes="Paid in €")

    text = "\n".join(pages(renderer.invoice_pdf(doc)))
    assert "Zoë Ångström - Lódz" in text
    assert "Centro Sauo" in text or "Centro Saumo" in text
    assert "Dr. Øyvind Simic" in text
    assert "Paid in EUR" in text

    st = "\n".join(pages(renderer.statement_pdf(statement(client=client, message="Merci — à bientôt"))))
    assert "Zoë Ångström - Lódz" in st
    assert "Merci - à bientôt" in st


def test_statement_shows_summary_entries_aging_and_amount_due(renderer: DocumentRenderer) -> None:
    text = "\n".join(pages(renderer.statement_pdf(statement())))

    for expected in (
        "STATEMENT",
        "Riverbend Counseling Group",
        "Jordan Avery",
        "Apr 1, 2026",
        "Mar 1, 2026 to Mar 31, 2026",
        "Opening balance",
        "Closing balance",
        "INV-2026-000101",
        "PAY-77",
        "Card payment",
        "Family therapy",
        "31-60 days",
        "Over 120 days",
        "Questions about your bill? Call us.",
    ):
        assert expected in text, expected
    assert re.search(r"\$50\.00\s*\$380\.00\s*\$150\.00\s*\$280\.00", text)  # summary
    assert re.search(r"\$180\.00\s*\$60\.00\s*\$40\.00\s*\$0\.00\s*\$0\.00\s*\$280\.00", text)  # aging
    assert re.search(r"\$200\.00\s*\$250\.00", text)  # running balance after the first charge
    assert re.search(r"\$150\.00\s*\$100\.00", text)  # and after the payment
    assert re.search(r"Amount due\s*\$280\.00", text)


def test_long_statement_repeats_the_table_header(renderer: DocumentRenderer) -> None:
    entries = tuple(
        StatementEntry(date(2026, 3, 1), f"Session {i}", f"REF-{i:03d}", D("10.00"), D("0"), D(10 * (i + 1)))
        for i in range(90)
    )
    texts = pages(renderer.statement_pdf(statement(entries=entries, closing_balance=D("900.00"))))

    assert len(texts) >= 2
    assert all("Date Description Reference Charges Credits Balance" in page for page in texts if "REF-" in page)
    assert sum("REF-" in page for page in texts) >= 2
    text = "\n".join(texts)
    assert all(f"REF-{i:03d}" in text for i in range(90))


def test_rendering_is_deterministic(renderer: DocumentRenderer) -> None:
    doc = invoice(THREE)
    first = renderer.invoice_pdf(doc)
    assert renderer.invoice_pdf(doc) == first
    assert FpdfDocumentRenderer().invoice_pdf(doc) == first
    assert renderer.invoice_pdf(replace(doc, number="INV-2026-000124")) != first
    assert renderer.statement_pdf(statement()) == renderer.statement_pdf(statement())


def test_an_overlong_description_is_cut_to_fit_its_row(renderer: DocumentRenderer) -> None:
    huge = replace(THREE[0], description="word " * 4000)
    texts = pages(renderer.invoice_pdf(invoice((huge, *THREE[1:]))))

    assert len(texts) <= 2
    text = "\n".join(texts)
    assert " ..." in texts[0]
    assert text.count("word") < 1000
    assert "90834" in text and "90846-GT-HO" in text and "Balance due" in text

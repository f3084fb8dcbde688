"""What an invoice or a client statement shows, independent of how it is stored, and the port that
renders one to PDF.

Amounts are taken as given: the services that build a document have already computed subtotals,
running balances and aging; a renderer only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """`$1,234.50`; negatives `-$10.00`; a currency without a known symbol is prefixed with its code."""
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{abs(cents):,.2f}"


@dataclass(frozen=True)
class PartyDetails:
    name: str
    address_lines: tuple[str, ...] = ()
    phone: str | None = None
    email: str | None = None
    tax_id: str | None = None
    npi: str | None = None


@dataclass(frozen=True)
class DocumentLine:
    description: str
    service_date: date | None
    code: str | None  # CPT
    modifiers: tuple[str, ...]
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    clinician: str | None = None


@dataclass(frozen=True)
class InvoiceDocument:
    number: str  # INV-2026-000123
    status: str
    issued_on: date
    due_on: date
    practice: PartyDetails
    bill_to: PartyDetails
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal
    discount: Decimal
    discount_label: str | None
    tax: Decimal
    tax_label: str | None
    total: Decimal
    paid: Decimal
    balance: Decimal
    currency: str = "USD"
    notes: str | None = None
    payment_link: str | None = None

    @property
    def is_void(self) -> bool:
        return str(self.status).strip().lower() in {"void", "voided"}


@dataclass(frozen=True)
class StatementEntry:
    on: date
    description: str
    reference: str | None
    charges: Decimal
    credits: Decimal
    balance: Decimal  # running balance after this entry


@dataclass(frozen=True)
class AgingBuckets:
    current: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d91_120: Decimal
    over_120: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.d31_60 + self.d61_90 + self.d91_120 + self.over_120


@dataclass(frozen=True)
class StatementDocument:
    statement_date: date
    period_start: date
    period_end: date
    practice: PartyDetails
    client: PartyDetails
    opening_balance: Decimal
    entries: tuple[StatementEntry, ...]
    closing_balance: Decimal
    aging: AgingBuckets
    amount_due: Decimal
    currency: str = "USD"
    message: str | None = None

    @property
    def total_charges(self) -> Decimal:
        return sum((e.charges for e in self.entries), Decimal("0"))

    @property
    def total_credits(self) -> Decimal:
        return sum((e.credits for e in self.entries), Decimal("0"))


class DocumentRenderer(Protocol):
    def invoice_pdf(self, doc: InvoiceDocument) -> bytes: ...

    def statement_pdf(self, doc: StatementDocument) -> bytes: ...

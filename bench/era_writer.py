"""Writes X12 835 remittances (5010 005010X221A1 by default) from plain specs.

For benchmarks and tests: the writer puts down what the specs say, so a caller can also build an
unbalanced or odd file on purpose. BPR02 is computed as sum(CLP04) - sum(PLB) unless
`PaymentSpec.amount` overrides it, and SE01, GE01 and IEA01 are always counted right.
Amounts are written as payers do: no trailing zeros ("125", "80.5", "-10.25").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CENTS = Decimal("0.01")
ZERO = Decimal(0)
ISA_LENGTH = 105  # without the segment terminator; 106 with it
_CAS_TRIPLETS = 6
_PLB_ITEMS = 6
_MOA_REMARKS = 5

Adjustment = tuple[str, str, Decimal]  # (group, CARC, amount); positive reduces the payment


@dataclass(frozen=True, slots=True)
class OriginalProcedure:
    """SVC06/SVC07: the procedure as submitted, when the payer adjudicated another (or bundled it)."""

    cpt: str
    modifiers: tuple[str, ...] = ()
    units: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineSpec:
    cpt: str
    charge: Decimal
    paid: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    service_date: date | None = None
    line_ref: str = ""
    adjustments: tuple[Adjustment, ...] = ()
    rarcs: tuple[str, ...] = ()
    original: OriginalProcedure | None = None
    allowed: Decimal | None = None
    """AMT*B6; None = paid + PR adjustments, written unless that is zero."""


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str
    patient_last: str
    patient_first: str
    member_id: str = ""
    lines: tuple[LineSpec, ...] = ()
    claim_adjustments: tuple[Adjustment, ...] = ()
    insured_last: str = ""
    insured_first: str = ""
    insured_id: str = ""
    filing_indicator: str = "CI"
    facility_code: str = "11"
    frequency: str = "1"
    statement_from: date | None = None
    statement_to: date | None = None
    received: date | None = None
    claim_rarcs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlbItem:
    reason: str
    reference: str
    amount: Decimal
    """Positive reduces the payment (WO recovery), negative raises it (L6 interest)."""


@dataclass(frozen=True, slots=True)
class PaymentSpec:
    payer_name: str
    payer_id: str
    payee_name: str
    payee_npi: str
    trace_number: str
    paid_date: date
    plb: tuple[PlbItem, ...] = ()
    method: str = "ACH"  # ACH | CHK
    payer_tax_id: str = "512345678"
    payee_tax_id: str = ""
    production_date: date | None = None
    fiscal_period: date | None = None
    """PLB02; None = 31 December of the paid date's year."""
    amount: Decimal | None = None
    """BPR02; None = sum(CLP04) - sum(PLB)."""
    payer_address: tuple[str, str, str, str] = ("PO BOX 1000", "SPRINGFIELD", "IL", "62701")
    payee_address: tuple[str, str, str, str] = ("100 MAIN ST", "SPRINGFIELD", "IL", "62704")
    payer_routing: str = "011000015"
    payer_account: str = "1000200030"
    payee_routing: str = "021000021"
    payee_account: str = "5550001111"
    interchange_time: str = "1200"


def amount(value: Decimal) -> str:
    """An X12 R amount the way payers write it: '125', '80.5', '-10.25', '0'."""
    if value != value.quantize(CENTS):
        raise ValueError(f"{value} has more than two decimal places.")
    text = f"{value.quantize(CENTS):f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def net_payment(payment: PaymentSpec, claims: Sequence[ClaimSpec]) -> Decimal:
    """BPR02: sum(CLP04) - sum(PLB), or the explicit override."""
    if payment.amount is not None:
        return payment.amount
    return sum((c.paid for c in claims), ZERO) - sum((p.amount for p in payment.plb), ZERO)


def write_835(
    payment: PaymentSpec,
    claims: Sequence[ClaimSpec],
    *,
    version: str = "005010X221A1",
    element: str = "*",
    component: str = ":",
    terminator: str = "~\n",
    interchange_control: str = "000000001",
) -> bytes:
    """One interchange with one functional group and one 835 transaction set."""
    writer = _Writer(element, component, terminator.rstrip("\r\n") or terminator[:1])
    five = version.startswith("00501")
    control = interchange_control.zfill(9)
    if len(control) != 9 or not control.isdigit():
        raise ValueError(f"Interchange control number {interchange_control!r} is not 9 digits.")
    produced = payment.production_date or payment.paid_date
    isa = writer.isa(
        sender=payment.payer_id,
        receiver=payment.payee_npi,
        on=produced,
        at=payment.interchange_time,
        repetition=writer.repetition if five else "U",
        version="00501" if five else "00401",
        control=control,
    )
    group = str(int(control))
    body = _transaction(writer, payment, claims, produced)
    segments = [
        isa,
        writer.segment("GS", "HP", payment.payer_id, payment.payee_npi, f"{produced:%Y%m%d}",
                       payment.interchange_time, group, "X", version),
        *body,
        writer.segment("GE", "1", group),
        writer.segment("IEA", "1", control),
    ]  # fmt: skip
    return "".join(s + terminator for s in segments).encode()


def _transaction(writer: _Writer, payment: PaymentSpec, claims: Sequence[ClaimSpec], produced: date) -> list[str]:
    w = writer.segment
    net = net_payment(payment, claims)
    day = f"{payment.paid_date:%Y%m%d}"
    if net == ZERO:
        bpr = w("BPR", "H", "0", "C", "NON", *[""] * 11, day)
    elif payment.method == "CHK":
        bpr = w("BPR", "I", amount(net), "C", "CHK", *[""] * 11, day)
    else:
        bpr = w("BPR", "I", amount(net), "C", "ACH", "CCP", "01", payment.payer_routing, "DA",
                payment.payer_account, "1" + payment.payer_tax_id, "", "01", payment.payee_routing, "DA",
                payment.payee_account, day)  # fmt: skip
    segments = [
        w("ST", "835", "0001"),
        bpr,
        w("TRN", "1", payment.trace_number, "1" + payment.payer_tax_id),
        w("DTM", "405", f"{produced:%Y%m%d}"),
        w("N1", "PR", payment.payer_name),
        w("N3", payment.payer_address[0]),
        w("N4", *payment.payer_address[1:]),
        w("REF", "2U", payment.payer_id),
        w("PER", "BL", "PROVIDER SERVICES", "TE", "8005550100"),
        w("N1", "PE", payment.payee_name, "XX", payment.payee_npi),
        w("N3", payment.payee_address[0]),
        w("N4", *payment.payee_address[1:]),
    ]
    if payment.payee_tax_id:
        segments.append(w("REF", "TJ", payment.payee_tax_id))
    if claims:
        segments.append(w("LX", "1"))
    for claim in claims:
        segments += _claim(writer, claim)
    fiscal = payment.fiscal_period or date(payment.paid_date.year, 12, 31)
    for start in range(0, len(payment.plb), _PLB_ITEMS):
        items = payment.plb[start : start + _PLB_ITEMS]
        pairs = [x for item in items for x in (writer.composite(item.reason, item.reference), amount(item.amount))]
        segments.append(w("PLB", payment.payee_npi, f"{fiscal:%Y%m%d}", *pairs))
    segments.append(w("SE", str(len(segments) + 1), "0001"))
    return segments


def _claim(writer: _Writer, claim: ClaimSpec) -> list[str]:
    w = writer.segment
    segments = [
        w("CLP", claim.patient_control_number, claim.status, amount(claim.charge), amount(claim.paid),
          amount(claim.patient_responsibility), claim.filing_indicator, claim.payer_claim_number,
          claim.facility_code, claim.frequency),
        *_cas(writer, claim.claim_adjustments),
        w("NM1", "QC", "1", claim.patient_last, claim.patient_first, "", "", "",
          "MI" if claim.member_id else "", claim.member_id),
    ]
    if claim.insured_id or claim.insured_last:
        segments.append(
            w("NM1", "IL", "1", claim.insured_last, claim.insured_first, "", "", "",
              "MI" if claim.insured_id else "", claim.insured_id)
        )
    if claim.claim_rarcs:
        segments.append(w("MOA", "", "", *claim.claim_rarcs[:_MOA_REMARKS]))
    for qualifier, day in (("232", claim.statement_from), ("233", claim.statement_to), ("050", claim.received)):
        if day is not None:
            segments.append(w("DTM", qualifier, f"{day:%Y%m%d}"))
    for line in claim.lines:
        segments += _line(writer, line)
    return segments


def _line(writer: _Writer, line: LineSpec) -> list[str]:
    w = writer.segment
    original = line.original
    segments = [
        w("SVC", writer.composite("HC", line.cpt, *line.modifiers), amount(line.charge), amount(line.paid), "",
          _units(line.units),
          writer.composite("HC", original.cpt, *original.modifiers) if original else "",
          _units(original.units) if original and original.units is not None else ""),
    ]
    if line.service_date is not None:
        segments.append(w("DTM", "472", f"{line.service_date:%Y%m%d}"))
    segments += _cas(writer, line.adjustments)
    if line.line_ref:
        segments.append(w("REF", "6R", line.line_ref))
    allowed = line.allowed
    if allowed is None:
        allowed = line.paid + sum((a for g, _, a in line.adjustments if g == "PR"), ZERO)
        allowed = allowed if allowed != ZERO else None
    if allowed is not None:
        segments.append(w("AMT", "B6", amount(allowed)))
    segments += [w("LQ", "HE", code) for code in line.rarcs]
    return segments


def _cas(writer: _Writer, adjustments: Sequence[Adjustment]) -> list[str]:
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, value in adjustments:
        groups.setdefault(group, []).append((reason, value))
    segments: list[str] = []
    for group, triplets in groups.items():
        for start in range(0, len(triplets), _CAS_TRIPLETS):
            chunk = triplets[start : start + _CAS_TRIPLETS]
            elements: list[str] = []
            for reason, value in chunk:
                elements += [reason, amount(value), ""]
            segments.append(writer.segment("CAS", group, *elements))
    return segments


def _units(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Writer:
    def __init__(self, element: str, component: str, segment: str) -> None:
        separators = {element, component, segment}
        if len(separators) != 3 or any(len(s) != 1 or s.isalnum() or s == " " for s in separators):
            raise ValueError("Element, component and segment separators must be three distinct punctuation marks.")
        self.element = element
        self.component = component
        self.repetition = next(c for c in "^{|" if c not in separators)
        self.reserved = frozenset(separators | {self.repetition})

    def segment(self, tag: str, *elements: str) -> str:
        values = list(elements)
        while values and values[-1] == "":
            values.pop()
        for value in values:
            self._check(value, self.reserved - {self.component})
        return self.element.join([tag, *values])

    def composite(self, *parts: str) -> str:
        values = list(parts)
        while values and values[-1] == "":
            values.pop()
        for value in values:
            self._check(value, self.reserved)
        return self.component.join(values)

    def isa(self, *, sender: str, receiver: str, on: date, at: str, repetition: str, version: str, control: str) -> str:
        fields = [
            "ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender[:15].ljust(15), "ZZ", receiver[:15].ljust(15),
            f"{on:%y%m%d}", at, repetition, version, control, "0", "P", self.component,
        ]  # fmt: skip
        text = self.element.join(fields)
        if len(text) != ISA_LENGTH:
            raise ValueError(f"ISA is {len(text)} characters, not {ISA_LENGTH}.")
        return text

    @staticmethod
    def _check(value: str, reserved: frozenset[str]) -> None:
        """Elements may hold the component separator (they can be composites); parts may not."""
        if any(ch in reserved or ch in "\r\n" for ch in value):
            raise ValueError(f"{value!r} holds an X12 separator.")

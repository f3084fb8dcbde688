"""What an 835 says, as immutable values. Money is Decimal; raw text is kept where payers err."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.remittance.era835.tokenizer import Separators

ZERO = Decimal(0)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class FindingCode(StrEnum):
    SERVICE_LINE_BALANCE = "service-line-balance"
    CLAIM_BALANCE = "claim-balance"
    TRANSACTION_BALANCE = "transaction-balance"
    NEGATIVE_PAYMENT = "negative-payment"
    PATIENT_RESPONSIBILITY = "patient-responsibility"
    MALFORMED_AMOUNT = "malformed-amount"
    MISSING_AMOUNT = "missing-amount"
    MALFORMED_DATE = "malformed-date"
    MALFORMED_ELEMENT = "malformed-element"
    SHIFTED_ELEMENT = "shifted-element"
    COMPONENT_SEPARATOR = "component-separator"
    UNKNOWN_SEGMENT = "unknown-segment"
    UNEXPECTED_SEGMENT = "unexpected-segment"
    MISSING_SEGMENT = "missing-segment"
    SEGMENT_COUNT = "segment-count"
    CONTROL_NUMBER = "control-number"
    OTHER_TRANSACTION_TYPE = "other-transaction-type"


class ClaimStatus(StrEnum):
    """CLP02 values; `Claim.status` stays a plain string because payers send others too."""

    PRIMARY = "1"
    SECONDARY = "2"
    TERTIARY = "3"
    DENIED = "4"
    PRIMARY_FORWARDED = "19"
    SECONDARY_FORWARDED = "20"
    TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM_FORWARDED = "23"
    PREDETERMINATION = "25"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is; indices are 0-based positions in the model's tuples."""

    interchange: str | None = None
    transaction_set: str | None = None
    transaction_set_index: int | None = None
    claim_index: int | None = None
    claim_id: str | None = None
    line_index: int | None = None
    segment_position: int | None = None
    segment_id: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.interchange is not None:
            parts.append(f"ISA {self.interchange or '(none)'}")
        if self.transaction_set is not None:
            index = "" if self.transaction_set_index is None else f"[{self.transaction_set_index}]"
            parts.append(f"ST{index} {self.transaction_set}")
        if self.claim_index is not None:
            parts.append(f"claim[{self.claim_index}] CLP01 {self.claim_id!r}")
        if self.line_index is not None:
            parts.append(f"line[{self.line_index}]")
        if self.segment_position is not None:
            parts.append(f"segment {self.segment_position} {self.segment_id or ''}".rstrip())
        return " / ".join(parts) or "file"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: FindingCode
    message: str
    location: Location
    expected: Decimal | None = None
    actual: Decimal | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet. Positive amounts reduce the payment, negative ones raise it."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    last_name: str
    first_name: str = ""
    middle_name: str = ""
    id_qualifier: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    qualifier: str
    value: str


@dataclass(frozen=True, slots=True)
class ServiceLine:
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    revenue_code: str = ""
    units: Decimal | None = None
    original_procedure: Procedure | None = None
    original_units: Decimal | None = None
    service_from: date | None = None
    service_to: date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    control_number: str = ""
    allowed: Decimal | None = None

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass(frozen=True, slots=True)
class Claim:
    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None = None
    filing_indicator: str = ""
    payer_claim_control_number: str = ""
    facility_type: str = ""
    frequency: str = ""
    patient: Person | None = None
    insured: Person | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    received: date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    lines: tuple[ServiceLine, ...] = ()
    references: tuple[Reference, ...] = ()

    @property
    def is_reversal(self) -> bool:
        return self.status == ClaimStatus.REVERSAL

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level and line-level CAS together, as claim balancing counts them."""
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)


@dataclass(frozen=True, slots=True)
class ProviderAdjustmentItem:
    reason: str
    reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB segment; positive amounts reduce the payment, negative ones raise it."""

    provider_id: str
    fiscal_period_raw: str
    fiscal_period: date | None
    items: tuple[ProviderAdjustmentItem, ...]

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), ZERO)


@dataclass(frozen=True, slots=True)
class Payment:
    """BPR. `effective_date_raw` keeps BPR16 as sent, since payers send impossible dates."""

    handling_code: str
    amount: Decimal
    credit_debit: str
    method: str
    effective_date_raw: str
    effective_date: date | None


@dataclass(frozen=True, slots=True)
class Trace:
    """TRN: the check or EFT trace number and who issued it."""

    number: str
    originator_id: str = ""
    originator_supplemental_id: str = ""


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    id_qualifier: str = ""
    id: str = ""
    references: tuple[Reference, ...] = ()

    @property
    def npi(self) -> str | None:
        return self.id if self.id_qualifier == "XX" else None


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST/SE; `index` is its 0-based position in `EraFile.transaction_sets`."""

    interchange_control_number: str
    control_number: str
    index: int
    version: str
    payment: Payment | None
    trace: Trace | None
    payer: Party | None
    payee: Party | None
    claims: tuple[Claim, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]
    production_date: date | None = None
    references: tuple[Reference, ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Interchange:
    """An ISA/IEA envelope; `synthetic` when the text had none and started at GS or ST."""

    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    version: str
    usage: str
    separators: Separators
    synthetic: bool
    transaction_sets: tuple[TransactionSet, ...]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class EraFile:
    interchanges: tuple[Interchange, ...]
    findings: tuple[Finding, ...] = ()

    @property
    def transaction_sets(self) -> tuple[TransactionSet, ...]:
        return tuple(ts for i in self.interchanges for ts in i.transaction_sets)

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(c for ts in self.transaction_sets for c in ts.claims)

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Everything the reader noticed; balancing findings come from `balance_report`."""
        nested = (
            f for i in self.interchanges for f in (*i.findings, *(g for ts in i.transaction_sets for g in ts.findings))
        )
        return (*self.findings, *nested)

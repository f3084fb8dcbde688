"""A tolerant X12 835 (electronic remittance advice) reader, 4010 and 5010, standard library only.

`read_era(data)` turns the bytes a payer sent into an `EraFile`; `balance_report(era)` checks the
835 balancing rules. Only input that is not an 835 at all raises `EraReadError`; anything else a
payer gets wrong becomes a `Finding`.
"""

from domain.remittance.era835.balancing import (
    BalanceReport,
    TransactionSetBalance,
    balance_report,
    check_transaction_set,
)
from domain.remittance.era835.errors import EraReadError
from domain.remittance.era835.model import (
    Adjustment,
    Claim,
    ClaimStatus,
    EraFile,
    Finding,
    FindingCode,
    Interchange,
    Location,
    Party,
    Payment,
    Person,
    Procedure,
    ProviderAdjustment,
    ProviderAdjustmentItem,
    Reference,
    ServiceLine,
    Severity,
    Trace,
    TransactionSet,
)
from domain.remittance.era835.reader import read_era
from domain.remittance.era835.tokenizer import Separators

__all__ = [
    "Adjustment",
    "BalanceReport",
    "Claim",
    "ClaimStatus",
    "EraFile",
    "EraReadError",
    "Finding",
    "FindingCode",
    "Interchange",
    "Location",
    "Party",
    "Payment",
    "Person",
    "Procedure",
    "ProviderAdjustment",
    "ProviderAdjustmentItem",
    "Reference",
    "Separators",
    "ServiceLine",
    "Severity",
    "Trace",
    "TransactionSet",
    "TransactionSetBalance",
    "balance_report",
    "check_transaction_set",
    "read_era",
]

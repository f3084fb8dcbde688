"""835 remittances: upload, matching, posting and the review queue (application/remittance/service.py)."""

from application.remittance.ports import ClientPatients, PatientName, StoreAggregates
from application.remittance.report import ClaimOutcome, ProcessingReport
from application.remittance.service import RemittanceService, UnreadableRemittance

__all__ = [
    "ClaimOutcome",
    "ClientPatients",
    "PatientName",
    "ProcessingReport",
    "RemittanceService",
    "StoreAggregates",
    "UnreadableRemittance",
]

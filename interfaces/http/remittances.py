"""835 remittances: upload (multipart) and process, the list, a file's report and claims, a re-run
under another version of the matching rules, the review queue and its resolve command."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field

from application.remittance import ClaimOutcome, ProcessingReport
from application.remittance.service import MAX_UPLOAD_BYTES
from domain.remittance.remittance import MAX_RESOLVED_CHARGES
from interfaces.http.billing_schemas import Cursor, EditBilling, Money
from interfaces.http.deps import ContainerDep, ViewBilling
from interfaces.http.schemas import Strict

router = APIRouter(tags=["remittances"])
ClaimStatus = Literal["matched", "review", "resolved", "dismissed"]


class TotalsOut(BaseModel):
    charged: Money
    paid: Money
    adjusted: Money
    patient_responsibility: Money
    provider_adjustments: Money
    payment: Money
    posted_payments: Money
    posted_adjustments: Money
    unmatched_paid: Money


class FindingOut(BaseModel):
    level: str = Field(description="file, interchange, transaction, claim or line")
    severity: str
    code: str
    message: str
    location: str
    expected: Decimal | None
    actual: Decimal | None


class TransactionSetOut(BaseModel):
    index: int
    control_number: str
    trace: str
    payer: str
    payer_id: str
    payment: Decimal | None
    paid_on: date | None
    claims: int
    balanced: bool
    claims_balanced: bool
    posting: str = Field(description="recorded (payment recorded, matched claims posted), duplicate or not_posted")
    note: str


class DuplicateOut(BaseModel):
    transaction_set: int
    trace: str
    payer_id: str
    payment_id: UUID
    other_remittance_id: UUID | None


class RefusedOut(BaseModel):
    key: str
    charge_id: UUID | None
    reason: str


class SuggestionOut(BaseModel):
    client_id: UUID
    charge_ids: list[UUID]
    score: Decimal
    how: str


class ClaimOut(BaseModel):
    claim_key: str
    transaction_set: int
    position: int
    claim_number: str
    payer_claim_number: str
    claim_status: str
    charged: Decimal | None
    paid: Decimal | None
    reversal: bool
    reverses: str | None
    level: str = Field(description='1-4 automatic, "manual", 5 = review queue')
    confidence: Decimal
    charge_ids: list[UUID]
    status: ClaimStatus
    reasons: list[str]
    suggestions: list[SuggestionOut]
    posted: Money


class ReportOut(BaseModel):
    id: UUID
    filename: str
    sha256: str
    size: int
    uploaded_at: datetime
    status: str = Field(description="uploaded, needs_review or processed")
    run: int
    rules_version: int | None
    interchanges: int
    transaction_set_count: int
    claims: int
    reversals: int
    matched_by_level: dict[str, int]
    unmatched: int
    auto_match_rate: Decimal
    totals: TotalsOut
    balanced: bool
    findings: list[FindingOut]
    transaction_sets: list[TransactionSetOut]
    duplicates: list[DuplicateOut]
    postings_written: int
    refused: list[RefusedOut]
    claim_results: list[ClaimOut] | None = Field(default=None, description="The claims and their outcome.")

    @classmethod
    def of(cls, report: ProcessingReport, claims: list[ClaimOutcome] | None = None) -> ReportOut:
        data: dict[str, Any] = {
            name: getattr(report, name) for name in cls.model_fields if name not in ("id", "claim_results")
        }
        results = None if claims is None else [ClaimOut.model_validate(c, from_attributes=True) for c in claims]
        return cls.model_validate({**data, "id": report.remittance_id, "claim_results": results}, from_attributes=True)


class RemittanceRowOut(BaseModel):
    id: UUID
    filename: str
    uploaded_at: datetime
    status: str
    claims: int
    level_1: int
    level_2: int
    level_3: int
    level_4: int
    manual: int
    unmatched: int
    auto_match_rate: Decimal
    payment: Money
    posted_payments: Money
    balanced: bool
    findings: int
    duplicates: int
    run: int
    rules_version: int | None
    last_run_at: datetime | None


class RemittancePage(BaseModel):
    items: list[RemittanceRowOut]
    next_cursor: str | None


class ReviewItemOut(BaseModel):
    remittance_id: UUID
    filename: str
    uploaded_at: datetime
    claim_key: str
    claim_number: str
    payer_claim_number: str
    claim_status: str
    charged: Decimal | None
    paid: Decimal | None
    confidence: Decimal
    suggestions: list[SuggestionOut]
    reasons: list[str]


class ReviewQueue(BaseModel):
    items: list[ReviewItemOut]


class MatchIn(Strict):
    rules_version: int | None = Field(default=None, ge=1, description="None: the version of the latest run.")


class ResolveIn(Strict):
    claim_key: str = Field(min_length=1, max_length=200)
    charge_ids: list[UUID] = Field(max_length=MAX_RESOLVED_CHARGES,
                                   description="The charges the claim pays; empty: it pays none of ours (dismissed).")


@router.post("/api/v1/remittances", status_code=201, response_model=ReportOut,
             responses={200: {"description": "The same bytes were uploaded before: that remittance's report."}})
def upload_remittance(
    response: Response, caller: EditBilling, k: ContainerDep,
    file: Annotated[UploadFile, File(description="An X12 835 file.")],
    rules_version: Annotated[int | None, Form(ge=1)] = None,
) -> ReportOut:
    """Upload an 835, then match and post it. A file that is not an 835 is refused (422) and nothing
    is stored; the same bytes again answer 200 with the same remittance, posting nothing new."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    report = k.remittances.import_file(caller.practice_id, file.filename or "upload.835", data, rules_version)
    if not report.created:
        response.status_code = 200
    return ReportOut.of(report)


@router.get("/api/v1/remittances", response_model=RemittancePage)
def list_remittances(
    caller: ViewBilling, k: ContainerDep, cursor: Cursor = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RemittancePage:
    """Newest upload first."""
    page = k.remittances.remittances(caller.practice_id, cursor=cursor, limit=limit)
    return RemittancePage(
        items=[RemittanceRowOut.model_validate({**vars(r), "id": r.remittance_id}) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/api/v1/remittances/review-queue", response_model=ReviewQueue)
def review_queue(caller: ViewBilling, k: ContainerDep,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> ReviewQueue:
    """Claims no rule matched, oldest upload first; resolve them with .../claims/resolve."""
    items = k.remittances.review_queue(caller.practice_id, limit=limit)
    return ReviewQueue(items=[
        ReviewItemOut.model_validate({
            **{f: getattr(i.claim, f) for f in ReviewItemOut.model_fields if hasattr(i.claim, f)},
            "remittance_id": i.claim.remittance_id, "filename": i.filename, "uploaded_at": i.uploaded_at,
        })
        for i in items
    ])


@router.get("/api/v1/remittances/{remittance_id}", response_model=ReportOut)
def get_remittance(
    remittance_id: UUID, caller: ViewBilling, k: ContainerDep, status: ClaimStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 1000, offset: Annotated[int, Query(ge=0)] = 0,
) -> ReportOut:
    """The processing report and the file's claims with their outcome (`status` narrows them)."""
    report = k.remittances.report(caller.practice_id, remittance_id)
    claims = k.remittances.claims(caller.practice_id, remittance_id, status)[offset : offset + limit]
    return ReportOut.of(report, claims)


@router.post("/api/v1/remittances/{remittance_id}/match", response_model=ReportOut)
def rematch_remittance(remittance_id: UUID, body: MatchIn, caller: EditBilling, k: ContainerDep) -> ReportOut:
    """Match the stored file again (under `rules_version`) and post only what is not posted yet."""
    return ReportOut.of(k.remittances.process(caller.practice_id, remittance_id, body.rules_version))


@router.post("/api/v1/remittances/{remittance_id}/claims/resolve", response_model=ReportOut)
def resolve_claim(remittance_id: UUID, body: ResolveIn, caller: EditBilling, k: ContainerDep) -> ReportOut:
    """Say which charges a claim of the review queue pays (none: dismiss it); its postings follow."""
    report = k.remittances.resolve(caller.practice_id, remittance_id, body.claim_key, body.charge_ids)
    claims = k.remittances.claims(caller.practice_id, remittance_id)
    return ReportOut.of(report, [c for c in claims if c.claim_key == body.claim_key])

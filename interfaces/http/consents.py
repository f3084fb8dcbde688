"""A client's consents on file (booking gates) and how reminders may reach them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from application.clients import Read
from domain.scheduling.consents import ConsentRecord
from interfaces.http.deps import ContainerDep, EditPatients, ViewPatients
from interfaces.http.scheduling_schemas import (
    ConsentIn,
    ConsentOut,
    ContactPreferencesIn,
    ContactPreferencesOut,
    WithdrawConsentIn,
)
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/clients/{client_id}", tags=["clients"])


@router.post("/consents", status_code=201, response_model=Accepted)
def record_consent(client_id: UUID, body: ConsentIn, caller: EditPatients, k: ContainerDep) -> Accepted:
    """Informed consent (yearly; without `expires_at` it lapses a year after signing), a
    guardian's consent for minors (names the guardian), or telehealth consent."""
    record = ConsentRecord(body.type, body.signed_at, body.expires_at, body.signed_by, body.guardian_name)
    saved = k.clients.record_consent(caller.practice_id, client_id, record)
    return Accepted(id=saved.id, version=saved.version, position=saved.position)


@router.get("/consents", response_model=list[ConsentOut])
def list_consents(client_id: UUID, caller: ViewPatients, k: ContainerDep) -> list[ConsentOut]:
    consents = k.clients.consents(caller.practice_id, client_id, Read("GET /api/v1/clients/{id}/consents"))
    return [
        ConsentOut(id=i, type=c.type, signed_at=c.signed_at, expires_at=c.expires_at,
                   effective_expiry=c.effective_expiry, signed_by=c.signed_by, guardian_name=c.guardian_name)
        for i, c in sorted(consents.items(), key=lambda item: item[1].signed_at)
    ]


@router.post("/consents/{consent_id}/withdraw", response_model=Accepted)
def withdraw_consent(
    client_id: UUID, consent_id: UUID, body: WithdrawConsentIn, caller: EditPatients, k: ContainerDep
) -> Accepted:
    saved = k.clients.withdraw_consent(caller.practice_id, client_id, consent_id, body.reason_code)
    return Accepted.model_validate(saved, from_attributes=True)


@router.put("/contact-preferences", response_model=ContactPreferencesOut)
def set_contact_preferences(
    client_id: UUID, body: ContactPreferencesIn, caller: EditPatients, k: ContainerDep
) -> ContactPreferencesOut:
    """Reminders go by the preferred channel while its opt-in holds (an SMS STOP overrides it)."""
    client = k.clients.set_contact_preferences(
        caller.practice_id, client_id, body.channel, body.sms_opt_in, body.email_opt_in
    )
    return ContactPreferencesOut(
        channel=body.channel, sms_opt_in=client.sms_opt_in, email_opt_in=client.email_opt_in,
        sms_opted_out=client.sms_opted_out, reminder_channel=client.reminder_channel(),
    )

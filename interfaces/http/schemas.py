"""Request and response bodies. Inputs forbid unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(Strict):
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=50)
    zip: str | None = Field(default=None, max_length=20)


class EmergencyContactIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    relationship: str | None = Field(default=None, max_length=50)


class InsuranceIn(Strict):
    payer: str | None = Field(default=None, max_length=200)
    payer_id: str | None = Field(default=None, max_length=50)
    member_id: str | None = Field(default=None, max_length=50)
    group_number: str | None = Field(default=None, max_length=50)
    plan: str | None = Field(default=None, max_length=100)


class DemographicsIn(Strict):
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: date | None = None
    gender: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    address: AddressIn | None = None
    emergency_contact: EmergencyContactIn | None = None
    insurance_primary: InsuranceIn | None = None
    insurance_secondary: InsuranceIn | None = None
    referring_provider: str | None = Field(default=None, max_length=200)

    def values(self, *, only_set: bool) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=only_set)
        return {
            k: ({kk: vv for kk, vv in v.items() if vv is not None} if isinstance(v, dict) else v)
            for k, v in data.items()
        }


class ClientIn(DemographicsIn):
    first_name: str = Field(min_length=1, max_length=100)  # type: ignore[assignment]
    last_name: str = Field(min_length=1, max_length=100)  # type: ignore[assignment]
    date_of_birth: date  # type: ignore[assignment]
    care_level: Literal["basic", "intermediate", "intensive"] = "basic"


class StatusIn(Strict):
    status: Literal["active", "inactive", "discharged"]
    reason_code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    note: str | None = Field(default=None, max_length=2000)


class CareLevelIn(Strict):
    care_level: Literal["basic", "intermediate", "intensive"]


class AssignIn(Strict):
    staff_id: UUID
    team_role: str = Field(default="clinician", min_length=1, max_length=50)


class EraseIn(Strict):
    reason_code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")


class Accepted(BaseModel):
    id: UUID
    version: int
    position: int


class CareTeamMember(BaseModel):
    staff_id: UUID
    team_role: str


class ClientOut(BaseModel):
    id: UUID
    practice_id: UUID
    version: int
    status: str
    care_level: str
    care_team: list[CareTeamMember]
    erased: bool
    as_of: datetime | None = None
    demographics: dict[str, Any]


class ClientSummary(BaseModel):
    id: UUID
    first_name: str
    last_name: str
    date_of_birth: str
    status: str
    care_level: str
    care_team: list[UUID]
    erased: bool


class ClientPage(BaseModel):
    items: list[ClientSummary]
    next_cursor: str | None


class StaffOut(BaseModel):
    id: UUID
    full_name: str
    email: str
    role: str
    license_type: str | None
    active: bool
    supervisor_id: UUID | None


class HistoryEntryOut(BaseModel):
    position: int
    aggregate_id: UUID
    version: int
    event_type: str
    recorded_at: datetime
    envelope: dict[str, Any]
    data: dict[str, Any]


class DisclosureOut(BaseModel):
    position: int
    at: datetime
    actor_id: str
    actor_role: str
    endpoint: str
    purpose: str
    fields: list[str]
    request_id: str | None
    reason: str | None = None

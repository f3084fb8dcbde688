"""Bodies of the auth, member, practice and access-alert routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from interfaces.http.schemas import Strict

Secret = Field(min_length=1, max_length=256)


class LoginIn(Strict):
    email: str = Field(min_length=1, max_length=320)
    password: str = Secret
    totp: str | None = Field(default=None, max_length=32, description="TOTP code or a recovery code")
    practice: str | None = Field(default=None, max_length=64, description="Practice slug, when you have several")


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    mfa_pending: bool = False


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


class ForgotIn(Strict):
    email: str = Field(min_length=1, max_length=320)


class ResetIn(Strict):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Secret


class ChangePasswordIn(Strict):
    current_password: str = Secret
    new_password: str = Secret


class AcceptIn(Strict):
    token: str = Field(min_length=1, max_length=512)
    password: str = Secret
    full_name: str | None = Field(default=None, min_length=1, max_length=200)


class AcceptedInvitation(BaseModel):
    user_id: UUID


class MfaEnrolmentOut(BaseModel):
    secret: str
    provisioning_uri: str


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=32)


class MfaEnabledOut(BaseModel):
    recovery_codes: list[str]
    detail: str


class DisableMfaIn(Strict):
    password: str = Secret
    code: str = Field(min_length=1, max_length=32)


class MeOut(BaseModel):
    user_id: UUID
    member_id: UUID
    practice_id: UUID
    email: str
    role: str
    permissions: list[str]
    scope: str
    client_ids: list[UUID]
    mfa_enabled: bool
    mfa_pending: bool
    hipaa_training_on: date | None
    hipaa_training_expires_on: date | None


class InviteIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    full_name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=32)
    license_type: str | None = Field(default=None, max_length=50)
    client_ids: list[UUID] = Field(default_factory=list, max_length=50)
    permissions: dict[str, bool] = Field(default_factory=dict, description="Overrides of the role's defaults")
    hipaa_training_on: date | None = None


class MemberOut(BaseModel):
    id: UUID
    user_id: UUID | None
    email: str
    full_name: str
    role: str
    license_type: str | None
    status: str
    supervisor_id: UUID | None
    client_ids: list[UUID]
    hipaa_training_on: date | None
    permissions: list[str] | None = None


class RoleIn(Strict):
    role: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=200)


class PermissionsIn(Strict):
    overrides: dict[str, bool]


class SupervisorIn(Strict):
    supervisor_id: UUID | None


class ClientLinksIn(Strict):
    client_ids: list[UUID] = Field(max_length=50)


class DeactivateIn(Strict):
    reason_code: str = Field(min_length=1, max_length=64)


class TrainingIn(Strict):
    completed_on: date


class BaaIn(Strict):
    signed_by: str = Field(min_length=1, max_length=200)
    signer_title: str | None = Field(default=None, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    signed_on: date


class SettingsIn(Strict):
    require_staff_mfa: bool | None = None


class PracticeOut(BaseModel):
    id: UUID
    name: str
    slug: str
    time_zone: str
    settings: dict[str, object]
    baa: dict[str, object] | None


class AlertOut(BaseModel):
    id: UUID
    client_id: UUID
    accessed_by: UUID
    accessor_role: str
    kind: str
    access_id: UUID
    raised_at: datetime
    acknowledged_by: UUID | None
    acknowledged_at: datetime | None


class AcknowledgeIn(Strict):
    note: str | None = Field(default=None, max_length=500)

"""The caller's practice: details, settings, and the business associate agreement (seed 004)."""

from __future__ import annotations

from fastapi import APIRouter

from domain.errors import InvalidCommand
from interfaces.http.deps import ContainerDep, EditSettings, ViewSettings
from interfaces.http.identity_schemas import BaaIn, PracticeOut, SettingsIn
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/practice", tags=["practice"])


@router.get("", response_model=PracticeOut)
def get_practice(caller: ViewSettings, k: ContainerDep) -> PracticeOut:
    p = k.practices.get(caller.practice_id)
    return PracticeOut(id=p.id, name=p.name, slug=p.slug, time_zone=p.time_zone, settings=p.settings, baa=p.baa)


@router.post("/baa", response_model=Accepted)
def sign_baa(body: BaaIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """Records the signed BAA (who, when, which version); client records can be created after."""
    saved = k.practices.sign_baa(caller.practice_id, body.signed_by, body.signer_title, body.version, body.signed_on)
    return Accepted.model_validate(saved, from_attributes=True)


@router.patch("/settings", response_model=Accepted)
def change_settings(body: SettingsIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """`require_staff_mfa`: staff must enrol TOTP before they can do anything else."""
    changes = body.model_dump(exclude_none=True)
    if not changes:  # an empty PATCH would record a SettingsChanged event that changes nothing
        raise InvalidCommand("Name at least one setting to change.", field="settings")
    saved = k.practices.change_settings(caller.practice_id, changes)
    return Accepted.model_validate(saved, from_attributes=True)

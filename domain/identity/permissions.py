"""Roles and what they may do, as data (seed 004's permission sets, widened to our roles).

A membership carries a role and optional per-permission overrides; the effective set is the
role's defaults with the overrides applied. Record scope (own caseload, supervisees, own
record) is separate from permissions: a permission says *what*, scope says *whose*.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import InvalidCommand


class Permission(StrEnum):
    VIEW_PATIENTS = "view_patients"
    EDIT_PATIENTS = "edit_patients"
    VIEW_APPOINTMENTS = "view_appointments"
    EDIT_APPOINTMENTS = "edit_appointments"
    VIEW_SETTINGS = "view_settings"
    EDIT_SETTINGS = "edit_settings"
    VIEW_BILLING = "view_billing"
    EDIT_BILLING = "edit_billing"
    VIEW_TEAM = "view_team"
    MANAGE_TEAM = "manage_team"
    VIEW_AUDIT = "view_audit"
    ERASE_PHI = "erase_phi"
    VIEW_CALLS = "view_calls"
    ASSIGN_CARE_TEAM = "assign_care_team"
    VIEW_NOTES = "view_notes"
    WRITE_NOTES = "write_notes"


class Scope(StrEnum):
    PRACTICE = "practice"  # every client of the practice
    SUPERVISEES = "supervisees"  # own caseload and the caseloads of supervisees
    CASELOAD = "caseload"  # clients whose care team includes the user
    OWN_RECORD = "own_record"  # the client themself, or the family member's linked clients


P = Permission
ALL = frozenset(Permission)
ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "owner": ALL,
    "admin": ALL,
    "supervisor": frozenset({P.VIEW_PATIENTS, P.EDIT_PATIENTS, P.VIEW_APPOINTMENTS, P.EDIT_APPOINTMENTS,
                             P.VIEW_TEAM, P.VIEW_CALLS, P.ASSIGN_CARE_TEAM, P.VIEW_NOTES, P.WRITE_NOTES}),
    "clinician": frozenset({P.VIEW_PATIENTS, P.EDIT_PATIENTS, P.VIEW_APPOINTMENTS, P.EDIT_APPOINTMENTS,
                            P.VIEW_TEAM, P.VIEW_CALLS, P.VIEW_NOTES, P.WRITE_NOTES}),
    "billing": frozenset({P.VIEW_PATIENTS, P.VIEW_APPOINTMENTS, P.VIEW_BILLING, P.EDIT_BILLING, P.VIEW_TEAM}),
    "front_desk": frozenset({P.VIEW_PATIENTS, P.EDIT_PATIENTS, P.VIEW_APPOINTMENTS, P.EDIT_APPOINTMENTS,
                             P.VIEW_TEAM, P.VIEW_CALLS, P.ASSIGN_CARE_TEAM}),
    "care_team": frozenset({P.VIEW_PATIENTS, P.VIEW_APPOINTMENTS, P.VIEW_TEAM}),
    "external_caregiver": frozenset({P.VIEW_PATIENTS, P.VIEW_APPOINTMENTS}),
    "client": frozenset({P.VIEW_PATIENTS, P.VIEW_APPOINTMENTS, P.VIEW_BILLING}),
    "family_member": frozenset({P.VIEW_PATIENTS, P.VIEW_APPOINTMENTS, P.VIEW_BILLING}),
}
ROLE_SCOPE: Mapping[str, Scope] = {
    "owner": Scope.PRACTICE,
    "admin": Scope.PRACTICE,
    "billing": Scope.PRACTICE,
    "front_desk": Scope.PRACTICE,
    "supervisor": Scope.SUPERVISEES,
    "clinician": Scope.CASELOAD,
    "care_team": Scope.CASELOAD,
    "external_caregiver": Scope.CASELOAD,
    "client": Scope.OWN_RECORD,
    "family_member": Scope.OWN_RECORD,
}
ROLES = frozenset(ROLE_PERMISSIONS)
STAFF_ROLES = ROLES - {"client", "family_member"}


def check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidCommand(f"Unknown role {role!r}.", field="role", allowed=sorted(ROLES))


def effective_permissions(role: str, overrides: Mapping[str, bool] | None = None) -> frozenset[Permission]:
    """The role's defaults with per-membership overrides (`{"edit_billing": true}`) applied."""
    check_role(role)
    granted = set(ROLE_PERMISSIONS[role])
    for name, allowed in (overrides or {}).items():
        try:
            permission = Permission(name)
        except ValueError:
            raise InvalidCommand(
                f"Unknown permission {name!r}.", field="permissions", allowed=sorted(Permission)
            ) from None
        (granted.add if allowed else granted.discard)(permission)
    return frozenset(granted)

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.identity.permissions import (
    ROLE_PERMISSIONS,
    ROLE_SCOPE,
    ROLES,
    Permission,
    Scope,
    effective_permissions,
)


def test_every_role_has_permissions_and_a_scope() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLE_SCOPE) == ROLES
    assert {"admin", "clinician", "supervisor", "billing", "front_desk", "care_team", "client",
            "family_member", "external_caregiver", "owner"} == ROLES


def test_least_privilege_defaults() -> None:
    assert Permission.ERASE_PHI in ROLE_PERMISSIONS["admin"]
    assert Permission.VIEW_AUDIT not in ROLE_PERMISSIONS["clinician"]
    assert Permission.EDIT_BILLING not in ROLE_PERMISSIONS["front_desk"]
    assert Permission.EDIT_PATIENTS not in ROLE_PERMISSIONS["billing"]
    assert ROLE_SCOPE["clinician"] is Scope.CASELOAD and ROLE_SCOPE["client"] is Scope.OWN_RECORD


@given(role=st.sampled_from(sorted(ROLES)), overrides=st.dictionaries(st.sampled_from(sorted(Permission)), st.booleans()))
def test_overrides_grant_and_revoke_exactly(role: str, overrides: dict[str, bool]) -> None:
    granted = effective_permissions(role, overrides)
    for name, allowed in overrides.items():
        assert (Permission(name) in granted) is allowed
    untouched = set(Permission) - {Permission(n) for n in overrides}
    assert {p for p in untouched if p in granted} == {p for p in untouched if p in ROLE_PERMISSIONS[role]}


def test_unknown_role_or_permission_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        effective_permissions("wizard")
    with pytest.raises(InvalidCommand):
        effective_permissions("clinician", {"fly": True})

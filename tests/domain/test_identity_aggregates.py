from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.identity.membership import Membership, membership_id_for
from domain.identity.session import Session, SessionEnded
from domain.identity.user_account import UserAccount, user_id_for

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PID = uuid4()


def member(role: str = "clinician", **kw: object) -> Membership:
    return Membership.invite(PID, "Kim@Example.test", "Kim Lee", role, "h" * 64, T0 + timedelta(days=7), **kw)  # type: ignore[arg-type]


def test_one_membership_per_address_and_practice() -> None:
    assert member().id == membership_id_for(PID, "kim@example.test") == member().id
    assert membership_id_for(uuid4(), "kim@example.test") != member().id


def test_invitation_is_single_use_and_expires() -> None:
    m = member()
    assert m.invitation_valid("h" * 64, T0) and not m.invitation_valid("x" * 64, T0)
    assert not m.invitation_valid("h" * 64, T0 + timedelta(days=7))
    m.accept(uuid4())
    assert m.status == "active" and not m.invitation_valid("h" * 64, T0)
    with pytest.raises(IllegalTransition):
        m.accept(uuid4())


def test_portal_roles_need_linked_clients_and_staff_roles_must_not_have_them() -> None:
    with pytest.raises(InvalidCommand):
        member("client")
    with pytest.raises(InvalidCommand):
        member("clinician", client_ids=[uuid4()])
    assert member("family_member", client_ids=[c := uuid4()]).client_ids == [c]


def test_role_change_keeps_staff_and_portal_apart() -> None:
    m = member("front_desk")
    m.change_role("billing")
    assert m.role == "billing" and "edit_billing" in m.permissions and "edit_patients" not in m.permissions
    with pytest.raises(InvalidCommand):
        m.change_role("client")
    with pytest.raises(InvalidCommand):
        m.change_role("wizard")


def test_permission_overrides_apply_to_the_role_defaults() -> None:
    m = member("billing", overrides={"edit_patients": True, "view_billing": False})
    assert "edit_patients" in m.permissions and "view_billing" not in m.permissions
    with pytest.raises(InvalidCommand):
        m.override_permissions({"fly": True})


def test_hipaa_training_gate_reminder_and_lapse_once_per_cycle() -> None:
    m = member()
    assert m.hipaa_suspended(date(2026, 3, 1))  # nothing on record
    m.record_hipaa_training(date(2026, 3, 1), today=date(2026, 3, 1))
    assert not m.hipaa_suspended(date(2027, 2, 28)) and m.hipaa_suspended(date(2027, 3, 1))
    assert m.sweep_hipaa_training(date(2027, 1, 29)) is None
    assert m.sweep_hipaa_training(date(2027, 1, 30)) == "reminded"
    assert m.sweep_hipaa_training(date(2027, 2, 10)) is None
    assert m.sweep_hipaa_training(date(2027, 3, 1)) == "lapsed"
    assert m.sweep_hipaa_training(date(2027, 3, 2)) is None
    m.record_hipaa_training(date(2027, 3, 2), today=date(2027, 3, 2))
    assert not m.hipaa_suspended(date(2027, 3, 2))
    with pytest.raises(InvalidCommand):
        m.record_hipaa_training(date(2027, 3, 5), today=date(2027, 3, 2))
    portal = member("client", client_ids=[uuid4()])
    assert not portal.hipaa_suspended(date(2030, 1, 1))


def test_supervisor_must_be_an_active_supervising_member_of_the_practice() -> None:
    clinician = member()
    boss = Membership.invite(PID, "boss@example.test", "Boss", "supervisor", "h" * 64, T0)
    clinician.assign_supervisor(boss)
    assert clinician.supervisor_id == boss.id
    peer = Membership.invite(PID, "peer@example.test", "Peer", "billing", "h" * 64, T0)
    with pytest.raises(InvalidCommand):
        clinician.assign_supervisor(peer)
    with pytest.raises(InvalidCommand):
        clinician.assign_supervisor(clinician)


def session() -> Session:
    return Session(user_id=uuid4(), membership_id=uuid4(), practice_id=PID, role="clinician", refresh_hash="r1",
                   started_at=T0, expires_at=T0 + timedelta(days=7), idle_timeout_seconds=900, mfa_pending=False)


def test_refresh_rotates_and_reuse_revokes_the_family() -> None:
    s = session()
    assert s.rotate("r1", "r2", T0 + timedelta(minutes=1))
    assert s.refresh_hash == "r2"
    assert not s.rotate("r1", "r3", T0 + timedelta(minutes=2))  # r1 again: stolen
    assert s.revoked == "refresh_token_reused"
    with pytest.raises(SessionEnded):
        s.rotate("r2", "r4", T0 + timedelta(minutes=3))


def test_unknown_or_expired_refresh_tokens_are_refused_without_revoking() -> None:
    s = session()
    with pytest.raises(SessionEnded):
        s.rotate("guess", "r2", T0)
    assert s.revoked is None
    with pytest.raises(SessionEnded):
        s.rotate("r1", "r2", T0 + timedelta(days=7))


def test_idle_timeout() -> None:
    s = session()
    assert not s.idle_since(T0, T0 + timedelta(minutes=15))
    assert s.idle_since(T0, T0 + timedelta(minutes=15, seconds=1))


def test_account_locks_after_five_failures_and_a_success_clears_the_count() -> None:
    u = UserAccount.register("Ann@Example.test", "Ann", "hash")
    assert u.id == user_id_for("ann@example.test") and u.email == "ann@example.test"
    for i in range(4):
        assert not u.sign_in_failed("password", T0 + timedelta(minutes=i)).locked
    u.signed_in(PID, uuid4(), None, None, T0 + timedelta(minutes=5))
    for i in range(4):
        assert not u.sign_in_failed("password", T0 + timedelta(minutes=6 + i)).locked
    state = u.sign_in_failed("password", T0 + timedelta(minutes=10))
    assert state.locked and state.until == T0 + timedelta(minutes=25) and u.locked_until == state.until
    assert u.lockout(T0 + timedelta(minutes=24)).locked and not u.lockout(T0 + timedelta(minutes=25)).locked


def test_totp_steps_are_never_accepted_twice_and_recovery_codes_once() -> None:
    u = UserAccount.register("ann@example.test", "Ann", "hash")
    u.start_mfa_enrolment("SECRET")
    u.enable_mfa(["c0", "c1"], totp_step=100)
    with pytest.raises(InvalidCommand):
        u.signed_in(PID, uuid4(), "totp", 100, T0)
    u.signed_in(PID, uuid4(), "totp", 101, T0)
    u.use_recovery_code(1)
    with pytest.raises(IllegalTransition):
        u.use_recovery_code(1)


def test_reset_token_is_single_use() -> None:
    u = UserAccount.register("ann@example.test", "Ann", "hash")
    u.request_password_reset("t", T0 + timedelta(hours=1))
    assert u.reset_token_valid("t", T0) and not u.reset_token_valid("t", T0 + timedelta(hours=1))
    u.change_password("new", "reset")
    assert not u.reset_token_valid("t", T0)


def test_bad_addresses_are_refused() -> None:
    for bad in ("", "no-at", "a@b", "a b@example.test"):
        with pytest.raises(InvalidCommand):
            user_id_for(bad)

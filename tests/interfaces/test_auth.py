"""Sign-in, sessions, passwords, MFA and rate limits, end to end over HTTP.

Tests that move time build their own container with a `FrozenClock` (the `frozen` fixture);
the others use the session's shared app (`api`). Every test signs in with e-mail addresses of
its own, so lockouts, rate-limit keys and sessions never leak from one test into another.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from adapters.clock import FrozenClock
from application import audit
from domain.identity.session import Session
from domain.identity.user_account import user_id_for
from domain.practices.practice import practice_id_for
from interfaces.container import Container
from interfaces.http.app import create_app
from tests.interfaces.conftest import PASSWORD, bearer, ensure_member, setup_practice

NEW_PASSWORD = "Battery-Staple-97?"
LOGIN_IP_KEY = "login:ip:testclient"  # every TestClient request comes from this address

# --- helpers -----------------------------------------------------------------------------------


def new_email(practice: str = "alpha") -> str:
    return f"{uuid4().hex[:10]}@{practice}.test"


def member(k: Any, role: str = "clinician", practice: str = "alpha") -> str:
    """A fresh member of `role` (password PASSWORD); returns their e-mail address."""
    email = new_email(practice)
    ensure_member(k, practice, role, email)
    return email


def portal_member(k: Any, practice: str = "alpha") -> str:
    """A fresh client-portal member linked to a client record of their own; returns their e-mail."""
    pid = practice_id_for(practice)
    with audit.acting(audit.system("system:test", practice_id=pid)):
        client = k.clients.register(
            pid, "basic", {"first_name": "Portal", "last_name": "Person", "date_of_birth": date(1980, 1, 1)}
        )
    email = new_email(practice)
    ensure_member(k, practice, "client", email, clients=[client.id])
    return email


def auth(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def login(
    api: TestClient, email: str, password: str = PASSWORD, request_id: str | None = None, **extra: Any
) -> httpx.Response:
    headers = {"X-Request-ID": request_id} if request_id else None
    return api.post("/api/v1/auth/login", json={"email": email, "password": password, **extra}, headers=headers)


def refresh(api: TestClient, refresh_token: str) -> httpx.Response:
    return api.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def me(api: TestClient, access_token: str) -> httpx.Response:
    return api.get("/api/v1/auth/me", headers=auth(access_token))


def pair(r: httpx.Response) -> tuple[str, str]:
    """The (access, refresh) tokens of a successful login or refresh."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    return body["access_token"], body["refresh_token"]


def signed_in(api: TestClient, email: str, password: str = PASSWORD, **extra: Any) -> tuple[str, str]:
    return pair(login(api, email, password, **extra))


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def assert_retry_after(r: httpx.Response) -> int:
    """A 429 `rate_limited` answer with a whole number of seconds to wait, in header and body."""
    body = assert_problem(r, 429, "rate_limited")
    wait = int(r.headers["Retry-After"])
    assert wait >= 1 and body["retry_after"] == wait
    return wait


def user_events(k: Any, email: str) -> list[Any]:
    return list(k.store.events.get(user_id_for(email)))


def topics(events: list[Any]) -> list[str]:
    return [type(e).TOPIC for e in events]


def last_failure(k: Any, email: str) -> Any:
    failures = [e for e in user_events(k, email) if type(e).TOPIC == "careledger/user/sign-in-failed"]
    assert failures, "no sign-in-failed event"
    return failures[-1]


def session_of(k: Any, refresh_token: str) -> Session:
    session: Session = k.store.load(UUID(refresh_token.partition(".")[0]), Session)
    return session


def mailed_token(k: Any, email: str, label: str) -> str:
    """The token in the newest mail to `email`, from its `<label>: <token>` line."""
    mails = k.mailer.list(limit=1, to=email)
    assert mails, f"no mail to {email}"
    found = re.search(rf"^{re.escape(label)}: (\S+)$", mails[0].text, re.MULTILINE)
    assert found, mails[0].text
    return found.group(1)


def totp_codes_around(secret: str, at: datetime) -> set[str]:
    """Every code the server may accept around `at` (one 30-second step either side, plus one
    more for a step boundary passing while the request is under way)."""
    totp = pyotp.TOTP(secret)
    return {totp.at(at + timedelta(seconds=s)) for s in (-60, -30, 0, 30, 60)}


@dataclass
class Frozen:
    """An app of its own whose container clock only moves when the test says so."""

    k: Any
    clock: FrozenClock
    api: TestClient

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


@contextmanager
def frozen_app(database_url: str, start: datetime) -> Iterator[Frozen]:
    k = Container(database_url=database_url)
    clock = FrozenClock(start)
    k.clock = clock  # before k.accounts / k.members exist: they capture the clock
    try:
        setup_practice(k, "alpha")
        with TestClient(create_app(k), raise_server_exceptions=False) as client:
            yield Frozen(k, clock, client)
    finally:
        k.close()


@pytest.fixture
def frozen(database_url: str, api: TestClient) -> Iterator[Frozen]:
    """A frozen clock starting now; tests move it forward."""
    with frozen_app(database_url, datetime.now(tz=UTC)) as app:
        yield app


# --- 1. sign-in -------------------------------------------------------------------------------


def test_login_issues_working_tokens_and_audits_every_attempt(api: TestClient, container: Any) -> None:
    email = member(container, "front_desk")
    ok_rid, bad_rid, unknown_rid = (f"login-{what}-{uuid4().hex[:8]}" for what in ("ok", "bad", "who"))
    ok = login(api, email, request_id=ok_rid)
    access, refresh_token = pair(ok)
    assert ok.json()["mfa_pending"] is False and refresh_token
    who = me(api, access)
    assert who.status_code == 200, who.text
    assert who.json()["email"] == email and who.json()["role"] == "front_desk"
    assert who.json()["user_id"] == str(user_id_for(email))

    wrong = login(api, email, "Not-The-Password-1!", request_id=bad_rid)
    wrong_body = assert_problem(wrong, 401, "invalid_credentials")
    assert "access_token" not in wrong_body

    before = container.store.recorder.max_notification_id() or 0
    nobody = new_email()
    unknown = login(api, nobody, "Whatever-Password-1!", request_id=unknown_rid)
    unknown_body = assert_problem(unknown, 401, "invalid_credentials")
    assert set(unknown_body) == set(wrong_body)
    assert unknown_body["detail"] == wrong_body["detail"] and unknown_body["title"] == wrong_body["title"]

    refused = [
        container.store.decode(n)
        for n in container.store.recorder.select_notifications(
            before + 1, 100, topics=["careledger/unknown-account-sign-in/refused"]
        )
    ]
    mine = [e for e in refused if e.email == nobody]
    assert len(mine) == 1
    assert mine[0].audit["actor_id"] == "anonymous" and mine[0].audit["request_id"] == unknown_rid

    events = {type(e).TOPIC: e for e in user_events(container, email)}
    success, failure = events["careledger/user/signed-in"], events["careledger/user/sign-in-failed"]
    assert success.audit["request_id"] == ok_rid and failure.audit["request_id"] == bad_rid
    for e in (success, failure):
        assert e.audit["actor_id"] == str(user_id_for(email)) and e.audit["client_ip"] == "testclient"
    assert failure.reason == "password"
    assert str(success.session_id) == refresh_token.partition(".")[0]


def test_tokens_follow_the_container_clock_even_when_it_is_ahead(database_url: str, api: TestClient) -> None:
    """A token issued by a clock ahead of the verifier's (a test clock moved forward, or another
    instance with a little skew) must still verify: expiry is judged by the container clock."""
    with frozen_app(database_url, datetime.now(tz=UTC) + timedelta(minutes=5)) as app:
        access, _ = signed_in(app.api, member(app.k))
        r = me(app.api, access)
        assert r.status_code == 200, r.text


# --- 2. lockout -------------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_fifteen_minutes(frozen: Frozen) -> None:
    email = member(frozen.k)
    for attempt in range(1, 5):
        assert_problem(login(frozen.api, email, f"Wrong-Password-{attempt}!"), 401, "invalid_credentials")
    locked = assert_problem(login(frozen.api, email, "Wrong-Password-5!"), 401, "account_locked")
    until = datetime.fromisoformat(locked["locked_until"])
    assert until == frozen.clock.now() + timedelta(minutes=15)

    assert_problem(login(frozen.api, email), 401, "account_locked")  # the right password does not help
    assert "careledger/user/locked-out" in topics(user_events(frozen.k, email))
    assert last_failure(frozen.k, email).reason == "locked"

    frozen.advance(minutes=14, seconds=59)
    assert_problem(login(frozen.api, email), 401, "account_locked")
    frozen.advance(seconds=2)
    access, _ = signed_in(frozen.api, email)
    r = me(frozen.api, access)
    assert r.status_code == 200, r.text


# --- 3. access-token expiry and the staff idle timeout ------------------------------------------


def test_an_expired_access_token_is_refused_and_refresh_issues_a_new_one(frozen: Frozen) -> None:
    email = member(frozen.k)
    access, refresh_token = signed_in(frozen.api, email)
    frozen.advance(minutes=10)
    assert me(frozen.api, access).status_code == 200  # activity: the session is not idle
    frozen.advance(minutes=5, seconds=1)
    assert_problem(me(frozen.api, access), 401, "token_expired")

    new_access, new_refresh = pair(refresh(frozen.api, refresh_token))
    assert new_access != access and new_refresh != refresh_token
    assert me(frozen.api, new_access).status_code == 200


def test_a_staff_session_idle_for_over_fifteen_minutes_ends(frozen: Frozen) -> None:
    email = member(frozen.k)
    _, refresh_token = signed_in(frozen.api, email)
    frozen.advance(minutes=16)
    assert_problem(refresh(frozen.api, refresh_token), 401, "session_ended")
    assert session_of(frozen.k, refresh_token).revoked == "idle"
    assert_problem(refresh(frozen.api, refresh_token), 401, "session_ended")


def test_a_request_every_ten_minutes_keeps_a_staff_session_alive(frozen: Frozen) -> None:
    email = member(frozen.k)
    access, refresh_token = signed_in(frozen.api, email)
    for _ in range(3):  # 60 minutes in all, never more than 10 idle
        frozen.advance(minutes=10)
        assert me(frozen.api, access).status_code == 200
        frozen.advance(minutes=10)
        assert_problem(me(frozen.api, access), 401, "token_expired")
        access, refresh_token = pair(refresh(frozen.api, refresh_token))
    assert me(frozen.api, access).status_code == 200
    assert session_of(frozen.k, refresh_token).revoked is None


# --- 4. refresh rotation and reuse detection ----------------------------------------------------


def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(api: TestClient, container: Any) -> None:
    email = member(container)
    a1, r1 = signed_in(api, email)
    a2, r2 = pair(refresh(api, r1))
    assert r2 != r1 and me(api, a2).status_code == 200

    assert_problem(refresh(api, r1), 401, "refresh_token_reused")
    assert_problem(refresh(api, r2), 401, "session_ended")
    assert_problem(me(api, a2), 401, "session_ended")
    assert_problem(me(api, a1), 401, "session_ended")
    assert session_of(container, r2).revoked == "refresh_token_reused"


def test_a_refresh_token_of_another_shape_is_refused(api: TestClient) -> None:
    assert_problem(refresh(api, "not-a-token"), 401, "session_ended")
    assert_problem(refresh(api, f"{uuid4()}.{'x' * 43}"), 401, "session_ended")


# --- 5. logout ---------------------------------------------------------------------------------


def test_logout_revokes_the_access_and_refresh_tokens(api: TestClient, container: Any) -> None:
    email = member(container)
    access, refresh_token = signed_in(api, email)
    other_access, _ = signed_in(api, email)
    r = api.post("/api/v1/auth/logout", headers=auth(access))
    assert r.status_code == 204, r.text
    assert_problem(me(api, access), 401, "session_ended")
    assert_problem(refresh(api, refresh_token), 401, "session_ended")
    assert session_of(container, refresh_token).revoked == "logout"
    assert me(api, other_access).status_code == 200  # only that session ended


# --- 6. refresh-token lifetime ------------------------------------------------------------------


def test_refresh_tokens_stop_working_after_seven_days(frozen: Frozen) -> None:
    email = portal_member(frozen.k)  # portal members have no idle timeout
    _, refresh_token = signed_in(frozen.api, email)
    frozen.advance(days=6, hours=23, minutes=50)
    access, refresh_token = pair(refresh(frozen.api, refresh_token))
    assert me(frozen.api, access).status_code == 200
    frozen.advance(minutes=10)
    assert_problem(refresh(frozen.api, refresh_token), 401, "session_ended")


# --- 7. MFA ------------------------------------------------------------------------------------


def wrong_code(secret: str, at: datetime) -> str:
    valid = totp_codes_around(secret, at)
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def enrol(api: TestClient, access_token: str, at: datetime) -> tuple[str, list[str]]:
    """Enrols an authenticator with a code for `at` (after a wrong one is turned down); returns
    its secret and the recovery codes."""
    started = api.post("/api/v1/auth/mfa/enrol", headers=auth(access_token))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["provisioning_uri"].startswith("otpauth://totp/")
    refused = api.post("/api/v1/auth/mfa/verify", json={"code": wrong_code(secret, at)}, headers=auth(access_token))
    assert assert_problem(refused, 422, "invalid_command")["field"] == "code"
    verified = api.post("/api/v1/auth/mfa/verify", json={"code": pyotp.TOTP(secret).at(at)},
                        headers=auth(access_token))
    assert verified.status_code == 200, verified.text
    return secret, list(verified.json()["recovery_codes"])


def test_mfa_needs_a_fresh_code_or_an_unused_recovery_code(frozen: Frozen) -> None:
    email = member(frozen.k)
    access, _ = signed_in(frozen.api, email)
    too_early = frozen.api.post("/api/v1/auth/mfa/verify", json={"code": "123456"}, headers=auth(access))
    assert_problem(too_early, 409, "conflict")  # nothing to verify before enrolling
    secret, recovery = enrol(frozen.api, access, frozen.clock.now())
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert me(frozen.api, access).json()["mfa_enabled"] is True
    assert "careledger/user/mfa-enabled" in topics(user_events(frozen.k, email))

    frozen.advance(seconds=30)  # the enrolment code's step is spent
    assert_problem(login(frozen.api, email), 401, "mfa_required")
    code = pyotp.TOTP(secret).at(frozen.clock.now())
    pair(login(frozen.api, email, totp=code))
    assert_problem(login(frozen.api, email, totp=code), 401, "invalid_credentials")  # replay
    assert last_failure(frozen.k, email).reason == "second_factor"

    pair(login(frozen.api, email, totp=recovery[0]))
    assert_problem(login(frozen.api, email, totp=recovery[0]), 401, "invalid_credentials")
    pair(login(frozen.api, email, totp=recovery[1].upper()))  # another code still works
    assert topics(user_events(frozen.k, email)).count("careledger/user/recovery-code-used") == 2

    wrong = wrong_code(secret, frozen.clock.now())
    failures_before = topics(user_events(frozen.k, email)).count("careledger/user/sign-in-failed")
    assert_problem(login(frozen.api, email, totp=wrong), 401, "invalid_credentials")
    assert topics(user_events(frozen.k, email)).count("careledger/user/sign-in-failed") == failures_before + 1
    assert last_failure(frozen.k, email).reason == "second_factor"
    assert_problem(login(frozen.api, email, "Wrong-Password-1!", totp=wrong), 401, "invalid_credentials")
    assert last_failure(frozen.k, email).reason == "password"


# --- 8. practices that require MFA for staff ----------------------------------------------------


def test_staff_of_a_practice_requiring_mfa_must_enrol_first(api: TestClient, container: Any) -> None:
    slug = f"mfa-{uuid4().hex[:6]}"
    setup_practice(container, slug)
    admin = bearer(container, ensure_member(container, slug, "admin", new_email(slug)))
    r = api.patch("/api/v1/practice/settings", json={"require_staff_mfa": True}, headers=admin)
    assert r.status_code == 200, r.text
    email = member(container, "clinician", slug)

    first = login(api, email)
    pending, _ = pair(first)
    assert first.json()["mfa_pending"] is True
    assert_problem(api.get("/api/v1/clients", headers=auth(pending)), 403, "mfa_enrolment_required")
    assert me(api, pending).json()["mfa_pending"] is True
    secret, recovery = enrol(api, pending, datetime.now(tz=UTC))
    assert len(recovery) == 10
    assert_problem(me(api, pending), 401, "session_ended")  # enrolling ends the pending session

    assert_problem(login(api, email), 401, "mfa_required")
    # The next step's code: the enrolment spent the current one (the server allows one step ahead).
    ok = login(api, email, totp=pyotp.TOTP(secret).at(time.time() + 30))
    access, _ = pair(ok)
    assert ok.json()["mfa_pending"] is False
    assert api.get("/api/v1/clients", headers=auth(access)).status_code == 200


# --- 9. invitations and the password policy ------------------------------------------------------


def test_an_invitation_is_accepted_once_with_a_password_that_meets_the_policy(
    api: TestClient, container: Any, token: Any
) -> None:
    email = new_email()
    invited = api.post(
        "/api/v1/members",
        json={"email": email, "full_name": "Ivy Invitee", "role": "front_desk",
              "hipaa_training_on": datetime.now(tz=UTC).date().isoformat()},
        headers=token("admin", "alpha"),
    )
    assert invited.status_code == 201, invited.text
    invitation = mailed_token(container, email, "Invitation token")

    def accept(password: str) -> httpx.Response:
        return api.post("/api/v1/auth/invitations/accept", json={"token": invitation, "password": password})

    short = assert_problem(accept("short"), 422, "invalid_command")
    assert short["field"] == "password"
    assert {"min_length", "uppercase", "digit", "symbol"} <= set(short["missing"])
    assert "lowercase" not in short["missing"]
    local = email.partition("@")[0]
    assert assert_problem(accept(f"Xx!9{local}"), 422, "invalid_command")["missing"] == ["not_email"]
    assert_problem(login(api, email), 401, "invalid_credentials")  # nothing registered yet

    accepted = accept(NEW_PASSWORD)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["user_id"] == str(user_id_for(email))
    access, _ = signed_in(api, email, NEW_PASSWORD)
    assert me(api, access).json()["role"] == "front_desk"

    assert_problem(accept(NEW_PASSWORD), 422, "invalid_token")
    forged = api.post("/api/v1/auth/invitations/accept", json={"token": invitation + "x", "password": NEW_PASSWORD})
    assert_problem(forged, 422, "invalid_token")


# --- 10. password reset ------------------------------------------------------------------------


def forgot(api: TestClient, email: str) -> httpx.Response:
    return api.post("/api/v1/auth/password/forgot", json={"email": email})


def reset(api: TestClient, reset_token: str, password: str) -> httpx.Response:
    return api.post("/api/v1/auth/password/reset", json={"token": reset_token, "new_password": password})


def test_a_mailed_reset_token_sets_a_new_password_once(api: TestClient, container: Any) -> None:
    email = member(container)
    old_access, _ = signed_in(api, email)
    known, unknown = forgot(api, email), forgot(api, nobody := new_email())
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert container.mailer.list(limit=5, to=nobody) == []
    reset_token = mailed_token(container, email, "Reset token")

    weak = assert_problem(reset(api, reset_token, "password"), 422, "invalid_command")
    assert weak["field"] == "password" and "uppercase" in weak["missing"]
    r = reset(api, reset_token, NEW_PASSWORD)
    assert r.status_code == 204, r.text

    assert_problem(login(api, email), 401, "invalid_credentials")
    signed_in(api, email, NEW_PASSWORD)
    assert_problem(me(api, old_access), 401, "session_ended")  # sessions from before the reset end
    assert_problem(reset(api, reset_token, "Yet-Another-Pass-3#"), 422, "invalid_token")
    assert [e.method for e in user_events(container, email) if type(e).TOPIC == "careledger/user/password-changed"] \
        == ["reset"]


def test_a_reset_token_expires_after_an_hour(frozen: Frozen) -> None:
    email = member(frozen.k)
    assert forgot(frozen.api, email).status_code == 202
    reset_token = mailed_token(frozen.k, email, "Reset token")
    frozen.advance(minutes=61)
    assert_problem(reset(frozen.api, reset_token, NEW_PASSWORD), 422, "invalid_token")
    signed_in(frozen.api, email)  # the password is unchanged


# --- 11. rate limits ---------------------------------------------------------------------------


def test_login_attempts_are_limited_per_account_and_per_address(
    api: TestClient, container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "login_attempts_per_window", 5)
    container.rate_limiter.reset(LOGIN_IP_KEY)
    try:
        email = member(container)
        for attempt in range(5):
            assert login(api, email, f"Wrong-Password-{attempt}!").status_code == 401
        container.rate_limiter.reset(LOGIN_IP_KEY)  # what follows is the account's own limit
        assert assert_retry_after(login(api, email.upper(), "Wrong-Password-6!")) <= 900
        assert_retry_after(login(api, email))
        assert login(api, member(container)).status_code == 200  # other accounts are unaffected

        container.rate_limiter.reset(LOGIN_IP_KEY)
        for _ in range(5):
            assert login(api, new_email(), "Some-Password-1!").status_code == 401
        assert_retry_after(login(api, new_email(), "Some-Password-1!"))  # the address's limit
    finally:
        container.rate_limiter.reset(LOGIN_IP_KEY)


def test_api_requests_are_limited_per_session(
    api: TestClient, container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "api_rate_limit_per_minute", 3)
    member_id = ensure_member(container, "alpha", "clinician", new_email())
    busy = bearer(container, member_id)
    for _ in range(3):
        assert api.get("/api/v1/auth/me", headers=busy).status_code == 200
    assert assert_retry_after(api.get("/api/v1/auth/me", headers=busy)) <= 60
    assert api.get("/api/v1/auth/me", headers=bearer(container, member_id)).status_code == 200
    for _ in range(5):
        assert api.get("/health").status_code == 200


# --- 12. password change -----------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions_only(api: TestClient, container: Any) -> None:
    email = member(container)
    here_access, here_refresh = signed_in(api, email)
    there_access, there_refresh = signed_in(api, email)

    def change(current: str, new: str) -> httpx.Response:
        return api.post("/api/v1/auth/password/change", json={"current_password": current, "new_password": new},
                        headers=auth(here_access))

    assert assert_problem(change("Not-The-Password-1!", NEW_PASSWORD), 422, "invalid_command")["field"] \
        == "current_password"
    assert "symbol" in assert_problem(change(PASSWORD, "NoSymbolsHere123"), 422, "invalid_command")["missing"]
    assert me(api, there_access).status_code == 200  # refused changes end nothing

    r = change(PASSWORD, NEW_PASSWORD)
    assert r.status_code == 204, r.text
    assert me(api, here_access).status_code == 200
    pair(refresh(api, here_refresh))
    assert_problem(me(api, there_access), 401, "session_ended")
    assert_problem(refresh(api, there_refresh), 401, "session_ended")

    assert_problem(login(api, email), 401, "invalid_credentials")
    signed_in(api, email, NEW_PASSWORD)
    changed = [e for e in user_events(container, email) if type(e).TOPIC == "careledger/user/password-changed"]
    assert [e.method for e in changed] == ["change"]

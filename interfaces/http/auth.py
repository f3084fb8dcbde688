"""Sign-in, token refresh and logout, password reset and change, MFA enrolment, invitations."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from application.identity.accounts import SessionTokens
from domain.identity.membership import Membership
from domain.identity.permissions import ROLE_SCOPE
from interfaces.container import Container
from interfaces.http.deps import ContainerDep, Public, Signed, SignedAnyState, check_rate, client_ip
from interfaces.http.identity_schemas import (
    AcceptedInvitation,
    AcceptIn,
    ChangePasswordIn,
    CodeIn,
    DisableMfaIn,
    ForgotIn,
    LoginIn,
    MeOut,
    MfaEnabledOut,
    MfaEnrolmentOut,
    RefreshIn,
    ResetIn,
    TokenOut,
)
from interfaces.http.tokens import Claims, issue

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _token_pair(k: Container, t: SessionTokens) -> TokenOut:
    ttl = k.identity_policy.access_ttl
    claims = Claims(t.user_id, t.member_id, t.session_id, t.role, t.practice_id, t.mfa_pending)
    return TokenOut(
        access_token=issue(k.secrets.token_secret, claims, ttl, t.issued_at),
        refresh_token=t.refresh_token,
        expires_in=int(ttl.total_seconds()),
        mfa_pending=t.mfa_pending,
    )


def _limit_attempts(k: Container, request: Request, email: str, what: str) -> None:
    """Seed 000: 5 attempts per 15 minutes, per account and per address."""
    s = k.settings
    account = email.strip().lower()
    for key in (f"{what}:ip:{client_ip(request)}", f"{what}:account:{account}"):
        check_rate(k, key, s.login_attempts_per_window, s.login_window_seconds, f"{what} attempts")


@router.post("/login", response_model=TokenOut, dependencies=[Public])
def login(body: LoginIn, request: Request, k: ContainerDep) -> TokenOut:
    """Email and password (and a TOTP or recovery code when MFA is on) for a token pair."""
    _limit_attempts(k, request, body.email, "login")
    tokens = k.accounts.login(body.email, body.password, body.totp, body.practice)
    return _token_pair(k, tokens)


@router.post("/refresh", response_model=TokenOut, dependencies=[Public])
def refresh(body: RefreshIn, k: ContainerDep) -> TokenOut:
    """Swap a refresh token for a new pair. Each refresh token works once: presenting a used
    one again revokes every token of that sign-in."""
    return _token_pair(k, k.accounts.refresh(body.refresh_token))


@router.post("/logout", status_code=204)
def logout(caller: SignedAnyState, k: ContainerDep) -> Response:
    """Ends the session: its access and refresh tokens stop working."""
    k.accounts.logout(caller.session_id)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(caller: SignedAnyState, k: ContainerDep) -> MeOut:
    """Who the token speaks for: membership, effective permissions, record scope, MFA, training."""
    member: Membership = k.store.load(caller.member_id, Membership)
    user = k.accounts.account(caller.user_id)
    return MeOut(
        user_id=caller.user_id, member_id=caller.member_id, practice_id=caller.practice_id, email=user.email,
        role=member.role, permissions=sorted(caller.grant.permissions), scope=ROLE_SCOPE[member.role].value,
        client_ids=sorted(member.client_ids), mfa_enabled=user.mfa_enabled, mfa_pending=caller.mfa_pending,
        hipaa_training_on=member.hipaa_training_on, hipaa_training_expires_on=member.hipaa_training_expires_on,
    )


@router.post("/password/forgot", status_code=202, dependencies=[Public])
def forgot_password(body: ForgotIn, request: Request, k: ContainerDep) -> dict[str, str]:
    """Mails a reset link valid for one hour. The answer is the same whether or not the address
    has an account."""
    _limit_attempts(k, request, body.email, "password-reset")
    k.accounts.request_password_reset(body.email)
    return {"detail": "If the address has an account, a reset link is on its way."}


@router.post("/password/reset", status_code=204, dependencies=[Public])
def reset_password(body: ResetIn, k: ContainerDep) -> Response:
    k.accounts.reset_password(body.token, body.new_password)
    return Response(status_code=204)


@router.post("/password/change", status_code=204)
def change_password(body: ChangePasswordIn, caller: SignedAnyState, k: ContainerDep) -> Response:
    """Other sessions of the account end; this one stays."""
    k.accounts.change_password(caller.user_id, caller.session_id, body.current_password, body.new_password)
    return Response(status_code=204)


@router.post("/mfa/enrol", response_model=MfaEnrolmentOut)
def mfa_enrol(caller: SignedAnyState, k: ContainerDep) -> MfaEnrolmentOut:
    """A new TOTP secret and its otpauth:// URI (show it as a QR code); confirm with /mfa/verify."""
    enrolment = k.accounts.start_mfa(caller.user_id)
    return MfaEnrolmentOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.post("/mfa/verify", response_model=MfaEnabledOut)
def mfa_verify(body: CodeIn, caller: SignedAnyState, k: ContainerDep) -> MfaEnabledOut:
    codes = k.accounts.confirm_mfa(caller.user_id, caller.session_id, body.code)
    return MfaEnabledOut(
        recovery_codes=codes,
        detail="MFA is on. Keep the recovery codes somewhere safe: each works once, and they are not shown again.",
    )


@router.post("/mfa/disable", status_code=204)
def mfa_disable(body: DisableMfaIn, caller: Signed, k: ContainerDep) -> Response:
    """Needs the password and a current code."""
    k.accounts.disable_mfa(caller.user_id, body.password, body.code)
    return Response(status_code=204)


@router.post("/invitations/accept", status_code=201, response_model=AcceptedInvitation, dependencies=[Public])
def accept_invitation(body: AcceptIn, k: ContainerDep) -> AcceptedInvitation:
    """Accept an invitation with the mailed token: new people choose a password (the policy
    applies); people with an account already enter theirs."""
    return AcceptedInvitation(user_id=k.members.accept(body.token, body.full_name, body.password))

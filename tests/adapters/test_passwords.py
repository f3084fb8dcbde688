"""argon2id password hashing, TOTP and recovery codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from argon2 import PasswordHasher

from adapters.passwords import (
    hash_password,
    hash_recovery_code,
    needs_rehash,
    new_totp_secret,
    provisioning_uri,
    recovery_codes,
    verify_password,
    verify_recovery_code,
    verify_totp,
)

AT = datetime(2025, 3, 1, 9, 0, 15, tzinfo=UTC)  # 15 s into a 30 s step


def test_hash_and_verify_round_trip() -> None:
    h = hash_password("Correct-Horse-9!")
    assert h.startswith("$argon2id$")
    assert "Correct-Horse-9!" not in h
    assert verify_password(h, "Correct-Horse-9!")
    assert not needs_rehash(h)


def test_each_hash_is_salted() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_a_wrong_password_is_false() -> None:
    h = hash_password("Correct-Horse-9!")
    assert not verify_password(h, "correct-horse-9!")
    assert not verify_password(h, "")


@pytest.mark.parametrize("garbage", ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$broken", "$2b$12$abc"])
def test_a_garbage_hash_is_false_and_needs_rehash(garbage: str) -> None:
    assert not verify_password(garbage, "anything")
    assert needs_rehash(garbage)


def test_a_hash_made_with_weaker_parameters_verifies_but_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("Correct-Horse-9!")
    assert verify_password(weak, "Correct-Horse-9!")
    assert needs_rehash(weak)


def test_totp_secret_is_base32_and_fresh() -> None:
    secret = new_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert secret != new_totp_secret()


def test_totp_verifies_the_code_of_the_given_time() -> None:
    secret = new_totp_secret()
    code = pyotp.TOTP(secret).at(AT)
    assert verify_totp(secret, code, at=AT)
    assert verify_totp(secret, f"{code[:3]} {code[3:]}", at=AT)  # spaces as the apps show them


def test_totp_accepts_one_step_either_side_by_default() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    assert verify_totp(secret, totp.at(AT - timedelta(seconds=30)), at=AT)
    assert verify_totp(secret, totp.at(AT + timedelta(seconds=30)), at=AT)
    assert not verify_totp(secret, totp.at(AT - timedelta(seconds=30)), at=AT, valid_window=0)


def test_totp_codes_outside_the_window_are_rejected() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    inside = {totp.at(AT + timedelta(seconds=s)) for s in (-30, 0, 30)}
    outside = [totp.at(AT + timedelta(seconds=s)) for s in (-120, -60, 60, 120)]
    checked = [code for code in outside if code not in inside]  # skip a (one in a million) collision
    assert len(checked) >= 3
    assert not any(verify_totp(secret, code, at=AT) for code in checked)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_rejected(code: str) -> None:
    assert not verify_totp(new_totp_secret(), code, at=AT)


def test_a_malformed_secret_is_false_not_an_error() -> None:
    assert not verify_totp("not base32 !!", "123456", at=AT)


def test_totp_defaults_to_now() -> None:
    secret = new_totp_secret()
    assert verify_totp(secret, pyotp.TOTP(secret).now())


def test_the_provisioning_uri_carries_issuer_account_and_secret() -> None:
    secret = new_totp_secret()
    uri = provisioning_uri(secret, "ann.lee+2fa@example.org")
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert unquote(parsed.path) == "/CareLedger:ann.lee+2fa@example.org"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["CareLedger"]
    assert pyotp.parse_uri(uri).secret == secret
    assert parse_qs(urlparse(provisioning_uri(secret, "a@b.org", issuer="Acme Care")).query)["issuer"] == ["Acme Care"]


def test_recovery_codes_are_unique_readable_and_verifiable() -> None:
    codes = recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}", c) for c in codes)
    assert len(recovery_codes(3)) == 3
    hashes = [hash_recovery_code(c) for c in codes[:2]]
    assert verify_recovery_code(hashes[0], codes[0])
    assert verify_recovery_code(hashes[0], codes[0].upper().replace("-", " "))  # typed back loosely
    assert not verify_recovery_code(hashes[0], codes[1])
    assert not verify_recovery_code(hashes[1], codes[0])
    assert not verify_recovery_code("garbage", codes[0])

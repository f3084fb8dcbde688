"""Password policy (properties) and login lockout (examples)."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.identity.password_policy import (
    LOCKOUT_ATTEMPTS,
    LOCKOUT_MINUTES,
    REQUIREMENTS,
    LockoutState,
    check_password,
    lockout_state,
)

POOLS = {
    "uppercase": string.ascii_uppercase,
    "lowercase": string.ascii_lowercase,
    "digit": string.digits,
    "symbol": string.punctuation,
}
ALL = "".join(POOLS.values())
LOCAL_PART = st.text(alphabet=string.ascii_lowercase + string.digits + "._", min_size=3, max_size=20)


def _missing(password: str, email: str | None = None) -> list[str]:
    with pytest.raises(InvalidCommand) as caught:
        check_password(password, email=email)
    assert caught.value.details["field"] == "password"
    missing = caught.value.details["missing"]
    assert isinstance(missing, list)
    return missing


@st.composite
def strong_passwords(draw: st.DrawFn, min_size: int = 12, max_size: int = 128) -> str:
    required = [draw(st.sampled_from(pool)) for pool in POOLS.values()]
    filler = draw(st.text(alphabet=ALL, min_size=min_size - 4, max_size=max_size - 4))
    return "".join(draw(st.permutations([*required, *filler])))


@given(data=st.data(), omitted=st.sampled_from(sorted(POOLS)))
def test_a_password_missing_a_character_class_is_refused_and_the_class_named(data: st.DataObject, omitted: str) -> None:
    alphabet = "".join(pool for name, pool in POOLS.items() if name != omitted)
    password = data.draw(st.text(alphabet=alphabet, max_size=140))
    assert omitted in _missing(password)


@given(password=strong_passwords(), local=LOCAL_PART)
def test_a_password_with_every_class_and_a_fitting_length_is_accepted(password: str, local: str) -> None:
    assume(local.casefold() not in password.casefold())
    check_password(password, email=f"{local}@example.org")
    check_password(password)


@given(password=strong_passwords(max_size=100), local=LOCAL_PART, at=st.integers(0, 100), upper=st.booleans())
def test_a_password_containing_the_email_local_part_is_refused_in_any_case(
    password: str, local: str, at: int, upper: bool
) -> None:
    at = min(at, len(password))
    password = password[:at] + (local.upper() if upper else local) + password[at:]
    assert "not_email" in _missing(password, email=f"{local.title()}@Example.org")


@given(password=st.text(alphabet=ALL, max_size=11))
def test_shorter_than_12_is_refused(password: str) -> None:
    assert "min_length" in _missing(password)


@given(password=strong_passwords(min_size=129, max_size=300))
def test_longer_than_128_is_refused_for_length_only(password: str) -> None:
    assert _missing(password) == ["max_length"]


@given(password=st.text(max_size=200), email=st.none() | st.emails())
def test_any_string_is_either_accepted_or_refused_with_known_requirements(password: str, email: str | None) -> None:
    try:
        check_password(password, email=email)
    except InvalidCommand as e:
        missing = e.details["missing"]
        assert isinstance(missing, list)
        assert missing
        assert set(missing) <= set(REQUIREMENTS)
        assert len(missing) == len(set(missing))


def test_examples() -> None:
    check_password("Correct-Horse-Battery-9")
    check_password("Tr0ub4dor&3xyz", email="ann.lee@example.org")
    assert _missing("") == ["min_length", "uppercase", "lowercase", "digit", "symbol"]
    assert _missing("correcthorsebattery") == ["uppercase", "digit", "symbol"]
    assert _missing("Ann.Lee-2024-secret", email="ann.lee@example.org") == ["not_email"]
    check_password("Ab#1ab-ab-ab-ab", email="ab@example.org")  # local parts under 3 characters are ignored
    check_password("Ünïcødé-Paß-42", email=None)  # letters and digits beyond ASCII count


def test_the_refusal_never_echoes_the_password() -> None:
    password = "x" * 129 + "Aa1!"
    with pytest.raises(InvalidCommand) as caught:
        check_password(password)
    assert password not in str(caught.value)
    assert "x" * 20 not in repr(caught.value.details)


# --- lockout -----------------------------------------------------------------------------

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LOCK = timedelta(minutes=LOCKOUT_MINUTES)


def _failures(n: int, start: datetime = T0, step: timedelta = timedelta(seconds=10)) -> list[datetime]:
    return [start + i * step for i in range(n)]


def test_the_constants() -> None:
    assert (LOCKOUT_ATTEMPTS, LOCKOUT_MINUTES) == (5, 15)


def test_no_failures_leave_every_attempt() -> None:
    assert lockout_state([], T0) == LockoutState(locked=False, until=None, remaining_attempts=5)


def test_four_failures_do_not_lock() -> None:
    failures = _failures(4)
    assert lockout_state(failures, failures[-1]) == LockoutState(locked=False, until=None, remaining_attempts=1)


def test_the_fifth_failure_locks_for_exactly_15_minutes() -> None:
    failures = _failures(5)
    fifth = failures[-1]
    assert lockout_state(failures, fifth) == LockoutState(locked=True, until=fifth + LOCK, remaining_attempts=0)
    assert lockout_state(failures, fifth + LOCK - timedelta(microseconds=1)).locked
    assert lockout_state(failures, fifth + LOCK) == LockoutState(locked=False, until=None, remaining_attempts=5)


def test_after_the_lock_counting_starts_afresh() -> None:
    failures = _failures(5)
    later = failures[-1] + LOCK + timedelta(minutes=1)
    assert lockout_state([*failures, later], later).remaining_attempts == 4


def test_failures_during_a_lock_neither_count_nor_extend_it() -> None:
    failures = _failures(5)
    fifth = failures[-1]
    during = _failures(10, start=fifth + timedelta(minutes=1), step=timedelta(minutes=1))
    state = lockout_state([*failures, *during], fifth + timedelta(minutes=11))
    assert state == LockoutState(locked=True, until=fifth + LOCK, remaining_attempts=0)
    assert not lockout_state([*failures, *during], fifth + LOCK).locked


def test_failures_older_than_the_window_do_not_count() -> None:
    old = _failures(4)
    now = old[-1] + LOCK + timedelta(seconds=1)
    assert lockout_state([*old, now], now) == LockoutState(locked=False, until=None, remaining_attempts=4)


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    failures = _failures(20, step=timedelta(minutes=4))  # at most 4 inside any 15 minutes
    for i, failure in enumerate(failures):
        assert not lockout_state(failures[: i + 1], failure).locked


def test_a_lock_runs_from_the_fifth_failure_inside_the_window() -> None:
    failures = [T0, *_failures(5, start=T0 + timedelta(minutes=20))]  # the first is too old to count
    fifth = failures[-1]
    assert lockout_state(failures[:5], failures[4]).remaining_attempts == 1
    assert lockout_state(failures, fifth) == LockoutState(locked=True, until=fifth + LOCK, remaining_attempts=0)


def test_order_and_future_failures_do_not_matter() -> None:
    failures = _failures(5)
    now = failures[-1]
    assert lockout_state(list(reversed(failures)), now).locked
    assert not lockout_state(failures, failures[3]).locked  # the fifth lies in the future

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.consents import (
    GUARDIAN,
    INFORMED,
    TELEHEALTH,
    ConsentRecord,
    ConsentsMissing,
    age_on,
    check_booking_consents,
)

NY = "America/New_York"
START = datetime(2026, 6, 10, 14, tzinfo=UTC)
ADULT = date(1990, 4, 1)
CHILD = date(2014, 9, 1)
SIGNED = datetime(2026, 1, 15, 15, tzinfo=UTC)


def consent(kind: str, signed_at: datetime = SIGNED, expires_at: datetime | None = None) -> ConsentRecord:
    guardian = "Maria Smith" if kind == GUARDIAN else None
    return ConsentRecord(kind, signed_at, expires_at, signed_by="Maria Smith", guardian_name=guardian)


def check(
    consents: Sequence[ConsentRecord], born: date = ADULT, modality: str = "in_person",
    starts_at: datetime = START, emancipated: bool = False,
) -> list[str]:
    """The missing consent types, [] when the booking may go ahead."""
    try:
        check_booking_consents(
            date_of_birth=born, modality=modality, starts_at=starts_at, time_zone=NY,
            consents=consents, emancipated=emancipated,
        )
    except ConsentsMissing as e:
        missing: list[str] = list(e.details["missing"])  # type: ignore[call-overload]
        return missing
    return []


def test_missing_consents_are_an_invalid_command_with_a_stable_code() -> None:
    with pytest.raises(InvalidCommand) as info:
        check_booking_consents(date_of_birth=ADULT, modality="in_person", starts_at=START, time_zone=NY, consents=[])
    assert isinstance(info.value, ConsentsMissing) and info.value.code == "consents_missing"
    assert info.value.details == {"field": "consents", "missing": [INFORMED]}


def test_an_adult_in_person_needs_only_a_current_informed_consent() -> None:
    assert check([consent(INFORMED)]) == []
    assert check([]) == [INFORMED]
    assert check([consent(TELEHEALTH)]) == [INFORMED]


def test_an_informed_consent_expiring_at_the_start_is_expired() -> None:
    assert check([consent(INFORMED, expires_at=START)]) == [INFORMED]
    assert check([consent(INFORMED, expires_at=START + timedelta(minutes=1))]) == []
    assert check([consent(INFORMED, expires_at=START - timedelta(days=1)), consent(INFORMED)]) == []


def test_an_informed_consent_without_expiry_lapses_after_a_year() -> None:
    assert check([consent(INFORMED, signed_at=START - timedelta(days=364))]) == []
    assert check([consent(INFORMED, signed_at=START - timedelta(days=365))]) == [INFORMED]


def test_a_consent_signed_after_the_start_does_not_cover_it() -> None:
    assert check([consent(INFORMED, signed_at=START + timedelta(hours=1))]) == [INFORMED]


def test_a_minor_needs_a_guardian_s_consent() -> None:
    assert check([consent(INFORMED)], born=CHILD) == [GUARDIAN]
    assert check([consent(INFORMED), consent(GUARDIAN)], born=CHILD) == []
    assert check([consent(INFORMED), consent(GUARDIAN, expires_at=START)], born=CHILD) == [GUARDIAN]


def test_an_emancipated_minor_consents_for_themself() -> None:
    assert check([consent(INFORMED)], born=CHILD, emancipated=True) == []


def test_age_is_taken_on_the_appointment_s_local_date() -> None:
    # 02:00 UTC on 1 May is still 30 April in New York: the client born 1 May 2008 is 17 there
    evening = datetime(2026, 5, 1, 2, tzinfo=UTC)
    assert check([consent(INFORMED)], born=date(2008, 5, 1), starts_at=evening) == [GUARDIAN]
    assert check([consent(INFORMED)], born=date(2008, 4, 30), starts_at=evening) == []


def test_telehealth_needs_its_own_consent() -> None:
    assert check([consent(INFORMED)], modality="telehealth") == [TELEHEALTH]
    assert check([consent(INFORMED), consent(TELEHEALTH)], modality="telehealth") == []


def test_every_missing_consent_is_named() -> None:
    assert check([], born=CHILD, modality="telehealth") == [INFORMED, GUARDIAN, TELEHEALTH]
    stale = [consent(k, expires_at=START - timedelta(days=1)) for k in (INFORMED, GUARDIAN, TELEHEALTH)]
    assert check(stale, born=CHILD, modality="telehealth") == [INFORMED, GUARDIAN, TELEHEALTH]


def test_birthdays_count_whole_years() -> None:
    assert age_on(date(2008, 6, 10), date(2026, 6, 9)) == 17
    assert age_on(date(2008, 6, 10), date(2026, 6, 10)) == 18
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.mark.parametrize(
    "make",
    [
        lambda: ConsentRecord("vaccination", SIGNED, None, "Ana"),
        lambda: ConsentRecord(INFORMED, datetime(2026, 1, 1), None, "Ana"),
        lambda: ConsentRecord(INFORMED, SIGNED, SIGNED, "Ana"),
        lambda: ConsentRecord(INFORMED, SIGNED, None, " "),
        lambda: ConsentRecord(GUARDIAN, SIGNED, None, "Maria Smith"),
    ],
)
def test_bad_consent_records_are_refused(make: object) -> None:
    with pytest.raises(InvalidCommand):
        make()  # type: ignore[operator]


def test_a_birth_after_the_appointment_is_refused() -> None:
    with pytest.raises(InvalidCommand) as info:
        check([consent(INFORMED)], born=date(2027, 1, 1))
    assert not isinstance(info.value, ConsentsMissing)

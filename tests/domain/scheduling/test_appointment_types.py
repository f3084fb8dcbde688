from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.appointment_types import BUILT_IN_TYPES, AppointmentType, built_in


def test_seed_001_types_are_built_in_with_their_default_lengths() -> None:
    assert {code: t.duration_minutes for code, t in BUILT_IN_TYPES.items()} == {
        "initial_evaluation": 60,
        "follow_up": 30,
        "medication_management": 20,
        "therapy_session": 53,
        "group": 90,
        "family": 60,
    }
    assert built_in("group").name == "Group Therapy"


def test_booking_settings_default_to_seed_004() -> None:
    t = built_in("therapy_session")
    assert (t.buffer_before_minutes, t.buffer_after_minutes, t.min_notice_hours, t.booking_window_days) == (0, 10, 2, 90)
    assert t.modality == "in_person" and t.price == Decimal("0.00")
    assert t.duration == timedelta(minutes=53) and t.buffer_after == timedelta(minutes=10)
    assert t.min_notice == timedelta(hours=2) and t.booking_window == timedelta(days=90)


def test_unknown_built_in_is_refused() -> None:
    with pytest.raises(InvalidCommand) as info:
        built_in("massage")
    assert info.value.details["field"] == "appointment_type"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "Therapy"}, "code"),
        ({"code": "x"}, "code"),
        ({"name": "  "}, "name"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"duration_minutes": 30.0}, "duration_minutes"),
        ({"buffer_before_minutes": -1}, "buffer_before_minutes"),
        ({"buffer_after_minutes": 121}, "buffer_after_minutes"),
        ({"min_notice_hours": -1}, "min_notice_hours"),
        ({"booking_window_days": 0}, "booking_window_days"),
        ({"booking_window_days": 731}, "booking_window_days"),
        ({"modality": "phone"}, "modality"),
        ({"price": Decimal("-1")}, "price"),
        ({"price": Decimal("10.001")}, "price"),
        ({"price": Decimal("NaN")}, "price"),
        ({"price": 10.0}, "price"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCommand) as info:
        built_in("follow_up").with_changes(**changes)
    assert info.value.details["field"] == field


def test_a_practice_type_can_be_telehealth_and_priced() -> None:
    t = AppointmentType("tele_follow_up", "Telehealth Follow-Up", 30, modality="telehealth", price=Decimal("95.00"))
    assert t.modality == "telehealth" and t.price == Decimal("95.00")
    assert t.with_changes(duration_minutes=45).duration_minutes == 45 and t.duration_minutes == 30

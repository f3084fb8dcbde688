from __future__ import annotations

import pytest

from domain.messaging.phone import to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+14045550100", "+14045550100"),
        ("+1 (404) 555-0100", "+14045550100"),
        ("(404) 555-0100", "+14045550100"),
        ("404.555.0100", "+14045550100"),
        ("1-404-555-0100", "+14045550100"),
        ("+44 7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
    ],
)
def test_numbers_in_e164(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", [None, "", "555-0100", "07700 900123", "+0123456789", "+1234", "abc"])
def test_unreadable_numbers(raw: str | None) -> None:
    assert to_e164(raw) is None

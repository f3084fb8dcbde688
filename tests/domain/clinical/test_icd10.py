from __future__ import annotations

import pytest

from domain.clinical.icd10 import normalise_icd10, normalise_icd10_codes
from domain.errors import InvalidCommand


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("F32.9", "F32.9"), ("f41.1", "F41.1"), ("Z63.0", "Z63.0"), (" F43.10 ", "F43.10"),
        ("F329", "F32.9"), ("F32", "F32"), ("S06.0x1a", "S06.0X1A"), ("T74.11XA", "T74.11XA"),
    ],
)
def test_valid_codes_are_normalised(raw: str, normal: str) -> None:
    assert normalise_icd10(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "F3", "32.9", "FF2.9", "F32.", "F32.12345", "F32..9", "F32-9", "F32 9", "F32.9!", "é32.9"],
)
def test_malformed_codes_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidCommand) as info:
        normalise_icd10(raw)
    assert info.value.details == {"field": "icd10_codes"}  # a diagnosis is PHI: never echoed
    assert info.value.message == "Not an ICD-10-CM code (e.g. F32.9)."


def test_a_list_keeps_order_drops_repeats_and_names_the_bad_position() -> None:
    assert normalise_icd10_codes(["F41.1", "f32.9", "F411"]) == ("F41.1", "F32.9")
    with pytest.raises(InvalidCommand) as info:
        normalise_icd10_codes(["F41.1", "nope"])
    assert info.value.details == {"field": "icd10_codes", "index": 1}
    with pytest.raises(InvalidCommand):
        normalise_icd10_codes("F41.1")
    assert normalise_icd10_codes([], field="x") == ()

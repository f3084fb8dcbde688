"""Property tests: generated remittances round-trip through any separators, and nothing crashes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.remittance.era835 import EraReadError, balance_report, read_era

CODE = st.from_regex(r"[A-Z0-9]([A-Z0-9 -]{0,8}[A-Z0-9])?", fullmatch=True)
GROUPS = st.sampled_from(["CO", "PR", "OA", "PI", "CR"])
REASONS = st.sampled_from(["1", "2", "3", "45", "94", "253", "A2", "B7"])
PLB_REASONS = st.sampled_from(["L6", "WO", "CS", "FB", "72", "J1"])
QUALIFIERS = st.sampled_from(["HC", "AD", "NU", "HP", "N4"])
MODIFIER = st.from_regex(r"[A-Z0-9]{2}", fullmatch=True)


def money(low: int = -99_999_99, high: int = 99_999_99) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda cents: Decimal(cents).scaleb(-2))


@dataclass(frozen=True)
class Adj:
    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class Line:
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal | None
    adjustments: tuple[Adj, ...]

    @property
    def paid(self) -> Decimal:
        return self.charge - sum((a.amount for a in self.adjustments), Decimal(0))


@dataclass(frozen=True)
class ClaimSpec:
    account: str
    status: str
    extra_charge: Decimal
    adjustments: tuple[Adj, ...]
    lines: tuple[Line, ...]

    @property
    def charge(self) -> Decimal:
        return self.extra_charge + sum((line.charge for line in self.lines), Decimal(0))

    @property
    def all_adjustments(self) -> tuple[Adj, ...]:
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)

    @property
    def paid(self) -> Decimal:
        return self.charge - sum((a.amount for a in self.all_adjustments), Decimal(0))

    @property
    def patient_share(self) -> Decimal:
        return sum((a.amount for a in self.all_adjustments if a.group == "PR"), Decimal(0))


@dataclass(frozen=True)
class Layout:
    element: str
    component: str
    terminator: str
    envelope: bool
    version: str


ADJUSTMENTS = st.lists(st.builds(Adj, GROUPS, REASONS, money(-5000_00, 5000_00)), max_size=6)
LINES = st.builds(
    Line,
    QUALIFIERS,
    CODE,
    st.lists(MODIFIER, max_size=4).map(tuple),
    money(0),
    st.none() | st.integers(0, 999).map(lambda tenths: Decimal(tenths).scaleb(-1)),
    ADJUSTMENTS.map(tuple),
)
CLAIMS = st.builds(
    ClaimSpec,
    CODE,
    st.sampled_from(["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]),
    money(0, 1000_00),
    ADJUSTMENTS.map(tuple),
    st.lists(LINES, max_size=4).map(tuple),
)
PLBS = st.lists(st.tuples(PLB_REASONS, CODE, money(-1000_00, 1000_00)), max_size=7)


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    element = draw(st.sampled_from("*|!^"))
    component = draw(st.sampled_from([c for c in ":>^\\" if c != element]))
    terminator = draw(st.sampled_from(["~", "\n", "\r\n", "~\n", "~\r\n", "'"]))
    return Layout(element, component, terminator, draw(st.booleans()), draw(st.sampled_from(["00401", "00501"])))


def render(claims: list[ClaimSpec], plbs: list[tuple[str, str, Decimal]], layout: Layout) -> str:
    e, c = layout.element, layout.component
    paid = sum((claim.paid for claim in claims), Decimal(0))
    items = list(plbs)
    net = paid - sum((amount for _, _, amount in items), Decimal(0))
    if net < 0:
        items.append(("FB", "CARRY", net))
        net = Decimal(0)
    segments: list[list[str]] = [["ST", "835", "0001"]]
    segments.append(["BPR", "I", f"{net:f}", "C", "CHK", *[""] * 11, "20240301"])
    segments.append(["TRN", "1", "CHECK1", "1234567890"])
    segments.append(["N1", "PR", "PLAN"])
    segments.append(["N1", "PE", "CLINIC", "XX", "1234567893"])
    segments.append(["LX", "1"])
    for claim in claims:
        amounts = [f"{claim.charge:f}", f"{claim.paid:f}", f"{claim.patient_share:f}"]
        segments.append(["CLP", claim.account, claim.status, *amounts, "12"])
        segments += [["CAS", a.group, a.reason, f"{a.amount:f}"] for a in claim.adjustments]
        for line in claim.lines:
            procedure = c.join([line.qualifier, line.code, *line.modifiers])
            units = "" if line.units is None else f"{line.units:f}"
            segments.append(["SVC", procedure, f"{line.charge:f}", f"{line.paid:f}", "", units])
            segments += [["CAS", a.group, a.reason, f"{a.amount:f}"] for a in line.adjustments]
    for start in range(0, len(items), 6):
        pairs = [[f"{r}{c}{ref}", f"{amount:f}"] for r, ref, amount in items[start : start + 6]]
        segments.append(["PLB", "1234567893", "20241231", *(x for pair in pairs for x in pair)])
    segments.append(["SE", str(len(segments) + 1), "0001"])
    if layout.envelope:
        repetition = "U" if layout.version == "00401" else next(r for r in "{}#" if r not in (e, c))
        isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
               "RECEIVER".ljust(15), "240301", "1200", repetition, layout.version, "000000001",
               "0", "T", c]  # fmt: skip
        gs_version = "004010X091A1" if layout.version == "00401" else "005010X221A1"
        gs = ["GS", "HP", "SENDER", "RECEIVER", "20240301", "1200", "1", "X", gs_version]
        segments = [isa, gs, *segments, ["GE", "1", "1"], ["IEA", "1", "000000001"]]
    return "".join(e.join(segment) + layout.terminator for segment in segments)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CLAIMS, min_size=1, max_size=4), PLBS, layouts())
def test_generated_remittances_round_trip_and_balance(
    claims: list[ClaimSpec], plbs: list[tuple[str, str, Decimal]], layout: Layout
) -> None:
    text = render(claims, plbs, layout)
    era = read_era(text.encode())

    assert era.all_findings == ()
    [isa] = era.interchanges
    assert isa.synthetic is not layout.envelope
    assert isa.separators.element == layout.element
    if layout.envelope or layout.component in text:
        assert isa.separators.component == layout.component
    [ts] = era.transaction_sets
    assert len(ts.claims) == len(claims)
    for read, spec in zip(ts.claims, claims, strict=True):
        assert (read.patient_control_number, read.status) == (spec.account, spec.status)
        assert (read.charge, read.paid) == (spec.charge, spec.paid)
        assert read.patient_responsibility == spec.patient_share
        assert [(a.group, a.reason, a.amount) for a in read.adjustments] == [
            (a.group, a.reason, a.amount) for a in spec.adjustments
        ]
        assert len(read.lines) == len(spec.lines)
        for line, line_spec in zip(read.lines, spec.lines, strict=True):
            procedure = line.procedure
            assert (procedure.qualifier, procedure.code) == (line_spec.qualifier, line_spec.code)
            assert procedure.modifiers == line_spec.modifiers
            assert (line.charge, line.paid, line.units) == (
                line_spec.charge,
                line_spec.paid,
                line_spec.units,
            )
            assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
                (a.group, a.reason, a.amount) for a in line_spec.adjustments
            ]
    read_plbs = [(i.reason, i.reference, i.amount) for p in ts.provider_adjustments for i in p.items]
    assert read_plbs[: len(plbs)] == plbs
    report = balance_report(era)
    assert report.balanced
    assert [f for f in report.findings if f.severity != "info"] == []
    assert report.transaction_sets[0].claims_balanced


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_era_read_error(data: bytes) -> None:
    with contextlib.suppress(EraReadError):
        read_era(data)


X12ISH = st.text(alphabet="ISTGEABPRCLVNMQ8350124679*:|^>~\n\r -.", max_size=600)


@settings(max_examples=300, deadline=None)
@given(X12ISH)
def test_x12_looking_text_never_raises_anything_but_era_read_error(text: str) -> None:
    with contextlib.suppress(EraReadError):
        read_era(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CLAIMS, min_size=1, max_size=2), PLBS, layouts(), st.data())
def test_damage_after_the_st_header_never_raises(
    claims: list[ClaimSpec], plbs: list[tuple[str, str, Decimal]], layout: Layout, data: st.DataObject
) -> None:
    text = render(claims, plbs, layout)
    start = text.index("835") + 10
    cut = data.draw(st.integers(start, len(text)))
    junk = data.draw(st.text(max_size=40))
    tail = data.draw(st.integers(cut, len(text)))

    era = read_era(text[:cut] + junk + text[tail:])

    assert len(era.transaction_sets) >= 1
    balance_report(era)

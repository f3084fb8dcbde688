"""The bench 835 writer: hand-specified payments written and read back by our own reader."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bench.era_writer import (
    ClaimSpec,
    LineSpec,
    OriginalProcedure,
    PaymentSpec,
    PlbItem,
    amount,
    write_835,
)
from domain.remittance.era835 import (
    Adjustment,
    Procedure,
    ProviderAdjustmentItem,
    balance_report,
    read_era,
)

D = Decimal
PAYMENT = PaymentSpec(
    payer_name="ACME HEALTH PLAN",
    payer_id="87726",
    payee_name="RIVERSIDE THERAPY",
    payee_npi="1234567893",
    trace_number="EFT0001",
    paid_date=date(2026, 3, 2),
    plb=(PlbItem("L6", "2606100000001", D("-2.50")), PlbItem("WO", "2601500000077", D("40.00"))),
    payee_tax_id="471234567",
)
ADA = ClaimSpec(
    patient_control_number="RB26-000101",
    status="1",
    charge=D("325.00"),
    paid=D("154.50"),
    patient_responsibility=D("30.00"),
    payer_claim_number="2606100000001",
    patient_last="LOVELACE",
    patient_first="ADA",
    member_id="XJH123456789",
    statement_from=date(2026, 1, 5),
    statement_to=date(2026, 1, 12),
    lines=(
        LineSpec("90837", D("200.00"), D("80.50"), ("95",), service_date=date(2026, 1, 5), line_ref="L00000000000A",
                 adjustments=(("CO", "45", D("89.50")), ("PR", "3", D("30.00")))),
        LineSpec("90834", D("125.00"), D("74.00"), service_date=date(2026, 1, 12), line_ref="L00000000000B",
                 adjustments=(("CO", "45", D("51.00")),), rarcs=("N130",),
                 original=OriginalProcedure("90837", ("HO",), D("1.5"))),
    ),
)
GRACE = ClaimSpec(
    patient_control_number="RB26-000102",
    status="22",
    charge=D("-125.00"),
    paid=D("-10.25"),
    patient_responsibility=D("0.00"),
    payer_claim_number="2604000000999",
    patient_last="HOPPER",
    patient_first="GRACE",
    insured_last="HOPPER",
    insured_first="WALTER",
    insured_id="ABC987654321",
    lines=(LineSpec("90832", D("-125.00"), D("-10.25"), service_date=date(2026, 1, 7),
                    adjustments=(("CO", "45", D("-114.75")),)),),
)


def test_a_two_claim_payment_reads_back_with_exact_amounts() -> None:
    data = write_835(PAYMENT, [ADA, GRACE])
    text = data.decode()
    assert text.index("~") == 105  # ISA is fixed width: 106 characters with its terminator
    era = read_era(data)
    assert era.all_findings == ()
    report = balance_report(era)
    assert report.findings == ()
    [interchange] = era.interchanges
    assert (interchange.control_number, interchange.version, interchange.sender_id) == ("000000001", "00501", "87726")
    [ts] = era.transaction_sets
    assert ts.payment is not None
    assert ts.payment.amount == D("106.75")  # 154.50 - 10.25 - (-2.50 + 40.00)
    assert (ts.payment.method, ts.payment.effective_date) == ("ACH", date(2026, 3, 2))
    assert ts.trace is not None and ts.trace.number == "EFT0001"
    assert ts.production_date == date(2026, 3, 2)
    assert ts.payer is not None and ts.payer.name == "ACME HEALTH PLAN"
    assert ts.payee is not None and (ts.payee.npi, ts.payee.references[0].value) == ("1234567893", "471234567")
    ada, grace = ts.claims
    assert (ada.patient_control_number, ada.status, ada.charge, ada.paid, ada.patient_responsibility) == (
        "RB26-000101", "1", D("325"), D("154.5"), D("30"))
    assert ada.payer_claim_control_number == "2606100000001"
    assert ada.patient is not None and (ada.patient.last_name, ada.patient.id_qualifier, ada.patient.id) == (
        "LOVELACE", "MI", "XJH123456789")
    assert (ada.statement_from, ada.statement_to, ada.insured) == (date(2026, 1, 5), date(2026, 1, 12), None)
    first, second = ada.lines
    assert first.procedure == Procedure("HC", "90837", ("95",))
    assert (first.charge, first.paid, first.units, first.service_from) == (D("200"), D("80.5"), D("1"), date(2026, 1, 5))
    assert first.adjustments == (Adjustment("CO", "45", D("89.5")), Adjustment("PR", "3", D("30")))
    assert (first.control_number, first.allowed) == ("L00000000000A", D("110.5"))
    assert second.original_procedure == Procedure("HC", "90837", ("HO",))
    assert (second.original_units, second.remark_codes, second.allowed) == (D("1.5"), ("N130",), D("74"))
    assert grace.is_reversal
    assert (grace.charge, grace.paid) == (D("-125"), D("-10.25"))
    assert grace.lines[0].adjustments == (Adjustment("CO", "45", D("-114.75")),)
    assert grace.lines[0].allowed == D("-10.25")
    assert grace.insured is not None and (grace.insured.first_name, grace.insured.id) == ("WALTER", "ABC987654321")
    assert grace.patient is not None and grace.patient.id == ""
    assert grace.lines[0].control_number == ""
    [plb] = ts.provider_adjustments
    assert (plb.provider_id, plb.fiscal_period) == ("1234567893", date(2026, 12, 31))
    assert plb.items == (
        ProviderAdjustmentItem("L6", "2606100000001", D("-2.5")),
        ProviderAdjustmentItem("WO", "2601500000077", D("40")),
    )


def test_amounts_are_written_as_payers_write_them() -> None:
    text = write_835(PAYMENT, [ADA, GRACE]).decode()
    assert "CLP*RB26-000101*1*325*154.5*30*CI*2606100000001*11*1~" in text
    assert "SVC*HC:90834*125*74**1*HC:90837:HO*1.5~" in text
    assert "CLP*RB26-000102*22*-125*-10.25*0*CI*2604000000999*11*1~" in text
    assert "PLB*1234567893*20261231*L6:2606100000001*-2.5*WO:2601500000077*40~" in text
    assert "BPR*I*106.75*C*ACH*" in text
    assert [amount(D(x)) for x in ("125.00", "80.50", "-10.25", "0.00", "-0.00", "0.07")] == ["125", "80.5", "-10.25", "0", "0", "0.07"]
    with pytest.raises(ValueError):
        amount(D("1.005"))


def test_segment_counts_and_control_numbers() -> None:
    text = write_835(PAYMENT, [ADA, GRACE], interchange_control="42").decode()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    st, se = segments.index("ST*835*0001"), next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    assert segments[se] == f"SE*{se - st + 1}*0001"
    assert segments[-2:] == ["GE*1*42", "IEA*1*000000042"]
    assert segments[1].startswith("GS*HP*87726*1234567893*20260302*1200*42*X*005010X221A1")


def test_other_separators_and_a_newline_terminator_read_the_same() -> None:
    standard = read_era(write_835(PAYMENT, [ADA, GRACE]))
    odd_bytes = write_835(PAYMENT, [ADA, GRACE], element="|", component="^", terminator="\n")
    odd = read_era(odd_bytes)
    assert odd.all_findings == ()
    assert odd.claims == standard.claims
    assert odd.transaction_sets[0].provider_adjustments == standard.transaction_sets[0].provider_adjustments
    assert odd.interchanges[0].separators.component == "^"
    assert odd.interchanges[0].separators.repetition == "{"


def test_4010_envelope() -> None:
    era = read_era(write_835(PAYMENT, [ADA], version="004010X091A1"))
    assert era.interchanges[0].version == "00401"
    assert era.transaction_sets[0].version == "004010X091A1"
    assert balance_report(era).balanced


def test_zero_payment_is_a_notification_and_a_check_has_no_bank_details() -> None:
    denied = ClaimSpec("RB26-000103", "4", D("150"), D("0"), D("0"), "2606100000002", "DOE", "JANE", "M1",
                       lines=(LineSpec("90834", D("150"), D("0"), adjustments=(("CO", "16", D("150")),), rarcs=("M51",)),))
    zero = PaymentSpec("P", "1", "Q", "1234567893", "T1", date(2026, 3, 2))
    text = write_835(zero, [denied]).decode()
    assert "BPR*H*0*C*NON************20260302~" in text
    assert "AMT*B6" not in text  # nothing allowed on a denied line
    check = PaymentSpec("P", "1", "Q", "1234567893", "T2", date(2026, 3, 2), method="CHK")
    assert "BPR*I*154.5*C*CHK************20260302~" in write_835(check, [ADA]).decode()


def test_values_holding_a_separator_are_refused() -> None:
    bad = ClaimSpec("RB26*1", "1", D("0"), D("0"), D("0"), "X", "DOE", "JANE")
    with pytest.raises(ValueError, match="separator"):
        write_835(PAYMENT, [bad])
    bad_modifier = LineSpec("90834", D("1"), D("1"), modifiers=("9:5",))
    with pytest.raises(ValueError, match="separator"):
        write_835(PAYMENT, [ClaimSpec("A", "1", D("1"), D("1"), D("0"), "X", "DOE", "JANE", lines=(bad_modifier,))])

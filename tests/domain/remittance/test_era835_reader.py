"""The 835 reader on small hand-written remittances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import DomainError
from domain.remittance.era835 import (
    Adjustment,
    ClaimStatus,
    EraFile,
    EraReadError,
    FindingCode,
    Location,
    Payment,
    Procedure,
    ProviderAdjustment,
    ProviderAdjustmentItem,
    Reference,
    Separators,
    Severity,
    Trace,
    balance_report,
    read_era,
)

ISA_5010 = "ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *240105*1200*^*00501*{control}*0*T*:"
HEADER = [
    "BPR*I*345.00*C*ACH*CCP*01*011000015*DA*12345*1512345678**01*021000021*DA*67890*20240108",
    "TRN*1*EFT0001*1512345678",
    "REF*EV*CLEARINGHOUSE1",
    "DTM*405*20240105",
    "N1*PR*ACME HEALTH PLAN*XV*99999",
    "N3*1 PLAN WAY",
    "N4*SPRINGFIELD*IL*62701",
    "PER*BL*PROVIDER DESK*TE*8005550100",
    "N1*PE*RIVERSIDE THERAPY*XX*1234567893",
    "REF*TJ*987654321",
]
CLAIM_1 = [
    "LX*1",
    "CLP*PCN-100*1*300.00*205.00*40.00*12*PAYERCLM100*11*1",
    "NM1*QC*1*LOVELACE*ADA*M***MI*MEM100",
    "MOA***MA01*MA18",
    "DTM*232*20231201",
    "DTM*233*20231202",
    "DTM*050*20231210",
    "SVC*HC:97110:GP:59:KX:XU*200.00*140.00**2",
    "DTM*472*20231201",
    "CAS*CO*45*29.50**253*0.50",
    "CAS*PR*3*30.00",
    "REF*6R*LINE-1",
    "AMT*B6*170.50",
    "LQ*HE*N130",
    "SVC*HC:97530*100.00*65.00**1.5",
    "DTM*472*20231202",
    "CAS*PR*1*10.00",
    "CAS*CO*45*25.00",
]
CLAIM_2 = [
    "CLP*PCN-200*1*150.00*90.00*0*12*PAYERCLM200*11*1",
    "NM1*QC*1*HOPPER*GRACE****MI*MEM200",
    "SVC*HC:99213*150.00*90.00**1",
    "DTM*472*20231205",
    "CAS*CO*45*60.00",
]
PLB = ["PLB*1234567893*20241231*L6:INTEREST*-5.00*WO:OVERPAY-9*10.00*CS*-55.00"]

REVERSAL = [
    "BPR*I*25.00*C*CHK************20240215",
    "TRN*1*CHK900*1512345678",
    "N1*PR*ACME HEALTH PLAN",
    "N1*PE*RIVERSIDE THERAPY*XX*1234567893",
    "LX*1",
    "CLP*PCN-300*22*-120.00*-80.00*0*12*PAYERCLM300*11*8",
    "NM1*QC*1*LOVELACE*ADA****MI*MEM100",
    "SVC*HC:97110*-120.00*-80.00**1",
    "CAS*CO*45*-20.00",
    "CAS*PR*3*-20.00",
    "CLP*PCN-300*1*120.00*105.00*0*12*PAYERCLM301*11*7",
    "NM1*QC*1*LOVELACE*ADA****MI*MEM100",
    "SVC*HC:97110*120.00*105.00**1",
    "CAS*CO*45*15.00",
]

PIPE_4010 = (
    "ISA|00|          |00|          |ZZ|PAYERCO        |ZZ|CLINIC01       |230301|0900|U|00401|"
    "000000777|0|P|^\n"
    "GS|HP|PAYERCO|CLINIC01|20230301|0900|777|X|004010X091A1\n"
    "ST|835|7001\n"
    "BPR|I|80|C|CHK||||||||||||20230301\n"
    "TRN|1|CHK555|1999999999\n"
    "N1|PR|OLD PAYER\n"
    "N1|PE|SMALL CLINIC|XX|1999999999\n"
    "LX|1\n"
    "CLP|ACCT-9|1|120|80|20|MC|PCN9\n"
    "NM1|QC|1|DOE|JANE||||MI|M9\n"
    "SVC|HC^90837^HO|120|80||1\n"
    "DTM|472|20230215\n"
    "CAS|PR|2|20\n"
    "PLB|1999999999|20231231|WO^REF 1|0\n"
    "SE|13|7001\n"
    "GE|1|777\n"
    "IEA|1|000000777\n"
)

NO_ENVELOPE = (
    "ST*835*0042~"
    "BPR*I*50*C*CHK************20240301~"
    "TRN*1*CHK42*1888888888~"
    "N1*PR*TINY PLAN~"
    "N1*PE*SOLO PRACTICE*XX*1888888888~"
    "CLP*ACCT-42*1*70*50*20*12*PCN42~"
    "SVC*HC>97110>GP*70*50**1~"
    "CAS*PR*2*20~"
    "SE*9*0042~"
)


def transaction_set(control: str, body: list[str]) -> list[str]:
    return [f"ST*835*{control}*005010X221A1", *body, f"SE*{len(body) + 2}*{control}"]


def interchange(control: str, *sets: list[str]) -> list[str]:
    return [
        ISA_5010.format(control=control),
        "GS*HP*SENDERID*RECEIVERID*20240105*1200*1*X*005010X221A1",
        *(segment for ts in sets for segment in ts),
        f"GE*{len(sets)}*1",
        f"IEA*1*{control}",
    ]


def x12(segments: list[str], terminator: str = "~") -> str:
    return "".join(segment + terminator for segment in segments)


BASIC_SEGMENTS = interchange("000000101", transaction_set("0001", HEADER + CLAIM_1 + CLAIM_2 + PLB))
BASIC = x12(BASIC_SEGMENTS)


def read_clean(text: str | bytes) -> EraFile:
    era = read_era(text)
    assert era.all_findings == ()
    return era


def test_reads_the_envelope_and_header() -> None:
    era = read_clean(BASIC.encode())

    [isa] = era.interchanges
    assert (isa.control_number, isa.sender_id, isa.receiver_id) == (
        "000000101",
        "SENDERID",
        "RECEIVERID",
    )
    assert (isa.version, isa.usage, isa.synthetic) == ("00501", "T", False)
    assert isa.separators == Separators("*", ":", "~", "^")
    [ts] = isa.transaction_sets
    assert (ts.control_number, ts.version) == ("0001", "005010X221A1")
    assert ts.payment == Payment("I", Decimal("345.00"), "C", "ACH", "20240108", date(2024, 1, 8))
    assert ts.trace == Trace("EFT0001", "1512345678")
    assert ts.production_date == date(2024, 1, 5)
    assert ts.references == (Reference("EV", "CLEARINGHOUSE1"),)
    assert ts.payer is not None
    assert (ts.payer.name, ts.payer.id_qualifier, ts.payer.id) == ("ACME HEALTH PLAN", "XV", "99999")
    assert ts.payee is not None
    assert (ts.payee.name, ts.payee.npi) == ("RIVERSIDE THERAPY", "1234567893")
    assert ts.payee.references == (Reference("TJ", "987654321"),)


def test_reads_claims() -> None:
    first, second = read_clean(BASIC).claims

    assert first.patient_control_number == "PCN-100"
    assert first.status == ClaimStatus.PRIMARY
    assert (first.charge, first.paid, first.patient_responsibility) == (
        Decimal("300.00"),
        Decimal("205.00"),
        Decimal("40.00"),
    )
    assert (first.filing_indicator, first.payer_claim_control_number) == ("12", "PAYERCLM100")
    assert (first.facility_type, first.frequency) == ("11", "1")
    assert first.patient is not None
    assert (first.patient.last_name, first.patient.first_name, first.patient.id) == (
        "LOVELACE",
        "ADA",
        "MEM100",
    )
    assert (first.statement_from, first.statement_to) == (date(2023, 12, 1), date(2023, 12, 2))
    assert first.received == date(2023, 12, 10)
    assert first.remark_codes == ("MA01", "MA18")
    assert len(first.lines) == 2
    assert second.patient_control_number == "PCN-200"
    assert second.patient_responsibility == Decimal(0)
    assert [line.procedure.code for line in second.lines] == ["99213"]


def test_reads_service_lines() -> None:
    line, half_unit = read_clean(BASIC).claims[0].lines

    assert line.procedure == Procedure("HC", "97110", ("GP", "59", "KX", "XU"))
    assert (line.charge, line.paid, line.units) == (
        Decimal("200.00"),
        Decimal("140.00"),
        Decimal(2),
    )
    assert line.service_from == line.service_to == date(2023, 12, 1)
    assert line.adjustments == (
        Adjustment("CO", "45", Decimal("29.50")),
        Adjustment("CO", "253", Decimal("0.50")),
        Adjustment("PR", "3", Decimal("30.00")),
    )
    assert line.remark_codes == ("N130",)
    assert (line.control_number, line.allowed) == ("LINE-1", Decimal("170.50"))
    assert half_unit.units == Decimal("1.5")
    assert half_unit.procedure == Procedure("HC", "97530")
    assert half_unit.adjustment_total == Decimal("35.00")


def test_reads_provider_level_adjustments() -> None:
    [ts] = read_clean(BASIC).transaction_sets

    assert ts.provider_adjustments == (
        ProviderAdjustment(
            "1234567893",
            "20241231",
            date(2024, 12, 31),
            (
                ProviderAdjustmentItem("L6", "INTEREST", Decimal("-5.00")),
                ProviderAdjustmentItem("WO", "OVERPAY-9", Decimal("10.00")),
                ProviderAdjustmentItem("CS", "", Decimal("-55.00")),
            ),
        ),
    )
    assert ts.provider_adjustments[0].total == Decimal("-50.00")


def test_a_balanced_transaction_has_no_findings() -> None:
    report = balance_report(read_clean(BASIC))

    [ts] = report.transaction_sets
    assert ts.balanced
    assert ts.claims_balanced
    assert report.balanced
    assert report.findings == ()


def test_an_unbalanced_payment_is_named_precisely() -> None:
    report = balance_report(read_era(BASIC.replace("BPR*I*345.00", "BPR*I*340.00")))

    [finding] = report.findings
    assert finding.code is FindingCode.TRANSACTION_BALANCE
    assert finding.severity is Severity.ERROR
    assert finding.location == Location(interchange="000000101", transaction_set="0001", transaction_set_index=0)
    assert (finding.expected, finding.actual) == (Decimal("345.00"), Decimal("340.00"))
    assert str(finding).startswith("error: ISA 000000101 / ST[0] 0001: ")
    assert not report.transaction_sets[0].balanced
    assert not report.balanced


def test_an_unbalanced_service_line_is_named_precisely() -> None:
    text = BASIC.replace("SVC*HC:97530*100.00*65.00", "SVC*HC:97530*100.00*66.00")
    report = balance_report(read_era(text))

    [finding] = report.findings
    assert finding.code is FindingCode.SERVICE_LINE_BALANCE
    assert finding.location == Location(
        interchange="000000101",
        transaction_set="0001",
        transaction_set_index=0,
        claim_index=0,
        claim_id="PCN-100",
        line_index=1,
    )
    assert (finding.expected, finding.actual) == (Decimal("65.00"), Decimal("66.00"))
    assert "claim[0] CLP01 'PCN-100' / line[1]" in str(finding)
    [ts] = report.transaction_sets
    assert ts.balanced
    assert not ts.claims_balanced


def test_an_unbalanced_claim_is_named_precisely() -> None:
    text = BASIC.replace("*150.00*90.00*0*", "*150.00*95.00*0*").replace("*345.00*", "*350.00*")
    report = balance_report(read_era(text))

    [finding] = report.findings
    assert finding.code is FindingCode.CLAIM_BALANCE
    assert (finding.location.claim_index, finding.location.claim_id) == (1, "PCN-200")
    assert finding.location.line_index is None
    assert (finding.expected, finding.actual) == (Decimal("90.00"), Decimal("95.00"))


def test_patient_responsibility_mismatch_is_informational() -> None:
    report = balance_report(read_era(BASIC.replace("*205.00*40.00*", "*205.00*45.00*")))

    [finding] = report.findings
    assert (finding.code, finding.severity) == (FindingCode.PATIENT_RESPONSIBILITY, Severity.INFO)
    assert (finding.expected, finding.actual) == (Decimal("40.00"), Decimal("45.00"))
    assert report.transaction_sets[0].claims_balanced


def test_a_negative_payment_breaks_the_rules() -> None:
    text = x12(interchange("000000102", transaction_set("0001", ["BPR*I*-5*C*NON"])))
    codes = {f.code for f in balance_report(read_era(text)).findings}

    assert codes == {FindingCode.NEGATIVE_PAYMENT, FindingCode.TRANSACTION_BALANCE}


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(BASIC.encode(), id="bytes"),
        pytest.param(b"\xef\xbb\xbf" + BASIC.encode(), id="utf8-bom"),
        pytest.param(x12(BASIC_SEGMENTS, "~\r\n"), id="tilde-crlf"),
        pytest.param(x12(BASIC_SEGMENTS, "~\n  \t"), id="whitespace-after-terminator"),
        pytest.param(x12(BASIC_SEGMENTS, "\r\n"), id="crlf-only"),
        pytest.param(x12(BASIC_SEGMENTS, "\n"), id="newline-only"),
        pytest.param(
            BASIC_SEGMENTS[0] + "\n" + "".join(f"~{s}\n" for s in BASIC_SEGMENTS[1:]),
            id="newline-then-tilde",
        ),
        pytest.param("\n".join(BASIC[i : i + 80] for i in range(0, len(BASIC), 80)), id="wrapped-80"),
    ],
)
def test_terminator_and_encoding_variants_read_the_same(variant: str | bytes) -> None:
    era = read_clean(variant)

    assert era.transaction_sets == read_era(BASIC).transaction_sets
    assert balance_report(era).balanced


def test_newline_terminators_are_recognised() -> None:
    [isa] = read_clean(x12(BASIC_SEGMENTS, "\r\n")).interchanges

    assert isa.separators.segment == "\n"
    assert isa.separators.line_based


def test_reads_pipe_and_caret_separators_in_4010() -> None:
    era = read_clean(PIPE_4010)

    [isa] = era.interchanges
    assert isa.separators == Separators("|", "^", "\n")
    assert isa.version == "00401"
    [ts] = era.transaction_sets
    assert ts.version == "004010X091A1"
    [claim] = ts.claims
    assert claim.lines[0].procedure == Procedure("HC", "90837", ("HO",))
    assert claim.lines[0].adjustments == (Adjustment("PR", "2", Decimal(20)),)
    assert ts.provider_adjustments[0].items == (ProviderAdjustmentItem("WO", "REF 1", Decimal(0)),)
    assert balance_report(era).balanced


def test_reads_a_file_without_envelope() -> None:
    era = read_clean(NO_ENVELOPE)

    [isa] = era.interchanges
    assert isa.synthetic
    assert isa.control_number == ""
    assert isa.separators == Separators("*", ">", "~")
    [claim] = era.claims
    assert claim.lines[0].procedure == Procedure("HC", "97110", ("GP",))
    assert balance_report(era).balanced


def test_reads_a_file_without_envelope_with_newlines_and_pipes() -> None:
    text = NO_ENVELOPE.replace("*", "|").replace("~", "\n").replace(">", ":")
    era = read_clean(text)

    assert era.interchanges[0].separators == Separators("|", ":", "\n")
    assert era.claims[0].lines[0].procedure == Procedure("HC", "97110", ("GP",))


def test_reads_several_interchanges_and_transaction_sets() -> None:
    second_set = transaction_set("0002", HEADER + CLAIM_2 + ["PLB*1234567893*20241231*CS*-255"])
    first = x12(interchange("000000101", transaction_set("0001", HEADER + CLAIM_1 + CLAIM_2 + PLB), second_set))
    era = read_clean(first + "\r\n" + PIPE_4010 + BASIC)

    assert [i.control_number for i in era.interchanges] == ["000000101", "000000777", "000000101"]
    assert [ts.control_number for ts in era.transaction_sets] == ["0001", "0002", "7001", "0001"]
    assert [ts.index for ts in era.transaction_sets] == [0, 1, 2, 3]
    assert [i.separators.element for i in era.interchanges] == ["*", "|", "*"]
    assert len(era.claims) == 3 + 1 + 2
    report = balance_report(era)
    assert report.balanced_count == 4
    assert report.transaction_sets[2].interchange_control_number == "000000777"


def test_reads_a_reversal_and_its_correction() -> None:
    era = read_clean(x12(interchange("000000103", transaction_set("0001", REVERSAL))))

    reversal, correction = era.claims
    assert reversal.patient_control_number == correction.patient_control_number == "PCN-300"
    assert reversal.is_reversal
    assert reversal.status == ClaimStatus.REVERSAL
    assert (reversal.charge, reversal.paid) == (Decimal("-120.00"), Decimal("-80.00"))
    assert reversal.lines[0].adjustments[0].amount == Decimal("-20.00")
    assert not correction.is_reversal
    assert correction.payer_claim_control_number == "PAYERCLM301"
    report = balance_report(era)
    assert report.findings == ()
    assert report.transaction_sets[0].claims_balanced


def test_negative_adjustments_raise_the_payment() -> None:
    body = [
        "BPR*I*110*C*CHK************20240215",
        "CLP*PCN-400*1*100*110*0*12*PAYERCLM400",
        "SVC*HC:99214*100*110**1",
        "CAS*CO*94*-10",
    ]
    era = read_clean(x12(interchange("000000104", transaction_set("0001", body))))

    assert era.claims[0].lines[0].adjustment_total == Decimal(-10)
    assert balance_report(era).findings == ()


def test_one_cas_segment_carries_six_adjustments() -> None:
    body = [
        "BPR*I*79*C*CHK************20240215",
        "CLP*PCN-500*1*100*79*0*12",
        "CAS*CO*45*1*1*253*2**59*3**A2*4**B7*5**94*6*2",
    ]
    era = read_clean(x12(interchange("000000105", transaction_set("0001", body))))

    adjustments = era.claims[0].adjustments
    assert [(a.reason, a.amount) for a in adjustments] == [
        ("45", Decimal(1)),
        ("253", Decimal(2)),
        ("59", Decimal(3)),
        ("A2", Decimal(4)),
        ("B7", Decimal(5)),
        ("94", Decimal(6)),
    ]
    assert [a.quantity for a in adjustments] == [Decimal(1), None, None, None, None, Decimal(2)]
    assert balance_report(era).findings == ()


def test_malformed_amounts_become_findings() -> None:
    body = [
        "BPR*I*12,50*C*CHK************20240215",
        "CLP*PCN-600*1*150.00*ABC*0*12",
        "SVC*HC*99213.00*150.00*90.00**1",
    ]
    era = read_era(x12(interchange("000000106", transaction_set("0001", body))))

    messages = [f.message for f in era.all_findings]
    assert "BPR02 '12,50' is not a number." in messages
    assert "CLP04 'ABC' is not a number." in messages
    assert "SVC01 'HC' has no procedure code." in messages
    assert "SVC04 '90.00' looks like an amount, not a revenue code." in messages
    line = era.claims[0].lines[0]
    assert (line.charge, line.paid) == (Decimal("99213.00"), Decimal("150.00"))
    assert era.claims[0].paid == Decimal(0)
    assert {f.severity for f in era.all_findings} == {Severity.WARNING}


def test_tolerates_a_component_separator_other_than_isa16() -> None:
    body = ["BPR*I*80*C*CHK************20240215", "CLP*PCN-700*1*80*80*0*12", "SVC*HC>97110>59*80*80"]
    era = read_era(x12(interchange("000000107", transaction_set("0001", body))))

    assert era.claims[0].lines[0].procedure == Procedure("HC", "97110", ("59",))
    [finding] = era.all_findings
    assert finding.code is FindingCode.COMPONENT_SEPARATOR


def test_tolerates_a_short_bpr_and_an_impossible_date() -> None:
    short = read_era(BASIC.replace(HEADER[0], "BPR*I*345.00*C*CHK***********20240108"))
    [ts] = short.transaction_sets
    assert ts.payment is not None
    assert ts.payment.effective_date == date(2024, 1, 8)
    assert [f.code for f in short.all_findings] == [FindingCode.SHIFTED_ELEMENT]

    impossible = read_era(BASIC.replace("*20240108~", "*20241340~"))
    payment = impossible.transaction_sets[0].payment
    assert payment is not None
    assert (payment.effective_date_raw, payment.effective_date) == ("20241340", None)
    assert [f.code for f in impossible.all_findings] == [FindingCode.MALFORMED_DATE]
    assert balance_report(impossible).balanced


def test_structural_problems_are_warnings() -> None:
    segments = [s for s in BASIC_SEGMENTS if not s.startswith("SE*")]
    segments.insert(3, "SVC*HC:99999*1*1")
    segments.insert(4, "ZZZ*1")
    era = read_era(x12(segments))

    codes = [f.code for f in era.all_findings]
    assert codes == [
        FindingCode.UNEXPECTED_SEGMENT,
        FindingCode.UNKNOWN_SEGMENT,
        FindingCode.MISSING_SEGMENT,
    ]
    assert {f.severity for f in era.all_findings} == {Severity.WARNING}
    assert era.all_findings[0].location.segment_position == 2
    assert balance_report(era).balanced


def test_a_wrong_segment_count_is_a_warning() -> None:
    era = read_era(BASIC.replace("SE*36*0001", "SE*35*0001"))

    [finding] = era.all_findings
    assert finding.code is FindingCode.SEGMENT_COUNT
    assert finding.message == "SE01 says '35' segments; the transaction set has 36."


def test_skips_other_transaction_types_in_an_835_file() -> None:
    other = ["ST*837*0099", "BHT*0019*00*1*20240105*1200*CH", "SE*3*0099"]
    era = read_era(BASIC.replace("GE*1*1", x12(other) + "GE*2*1"))

    assert len(era.transaction_sets) == 1
    [finding] = era.all_findings
    assert finding.code is FindingCode.OTHER_TRANSACTION_TYPE


@pytest.mark.parametrize(
    ("garbage", "message"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (bytes(range(256)) * 3, "not X12"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not X12"),
        ("Dear provider, your payment is enclosed.", "not X12"),
        ("BPR*I*100*C*CHK~CLP*1*1*100*100~", "not X12"),
        (BASIC.replace("ST*835*", "ST*837*"), "type '837', not 835"),
        (ISA_5010.format(control="000000001") + "~", "no ST segment"),
    ],
)
def test_raises_only_when_the_input_is_not_an_835(garbage: str | bytes, message: str) -> None:
    with pytest.raises(EraReadError, match=message) as raised:
        read_era(garbage)

    assert isinstance(raised.value, DomainError)
    assert raised.value.code == "era_unreadable"

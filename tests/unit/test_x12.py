"""The X12 837 reader, on the sample files and on files built to break it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.claims import problems
from services.intake.schemas import BillIn
from services.intake.submissions import Submission
from services.intake.x12 import read_837
from services.intake.x12_claims import located, submission_of
from services.intake.x12_syntax import X12FileError
from shared.contracts import ClaimType, LineOfBusiness
from tests.helpers import x12_claim, x12_fixture, x12_interchange


def read(text: str, line_of_business: LineOfBusiness | None = None) -> list[Submission]:
    interchange = read_837(text, client_id="acme", line_of_business=line_of_business)
    return [submission_of(i, claim) for i, claim in enumerate(interchange.claims)]


def bills(text: str) -> list[BillIn]:
    submissions = read(text)
    assert all(s.errors == [] for s in submissions), [s.errors for s in submissions]
    return [s.claim for s in submissions if s.claim is not None]


def lines_of(bill: BillIn) -> list[tuple]:
    return [
        (x.line_number, x.revenue_code, x.procedure_code, x.modifiers, x.units, x.charge, x.service_date)
        for x in bill.lines
    ]


D = Decimal

PROFESSIONAL_LINES = [
    (1, None, "99213", [], D("1"), D("40"), date(2006, 10, 3)),
    (2, None, "87070", [], D("1"), D("15"), date(2006, 10, 3)),
    (3, None, "99214", [], D("1"), D("35"), date(2006, 10, 10)),
    (4, None, "86663", [], D("1"), D("10"), date(2006, 10, 10)),
]


@pytest.mark.parametrize("name", ["demo.837", "demo.example1.837"])
def test_professional_samples_read_exactly_as_written(name: str) -> None:
    (bill,) = bills(x12_fixture(name))
    assert bill.partner_claim_id == "26463774"
    assert bill.claim_type is ClaimType.professional
    assert bill.frequency.value == "original"
    assert bill.total_charge == D("100")
    assert bill.place_of_service == "11"
    assert lines_of(bill) == PROFESSIONAL_LINES
    assert [x.diagnosis_pointers for x in bill.lines] == [[1], [1], [2], [2]]
    assert (bill.diagnosis_code_set, bill.diagnoses) == ("icd9", ["0340", "V7389"])
    assert (bill.provider.npi, bill.provider.tin, bill.provider.taxonomy) == (
        "1912301953",
        "587654321",
        "203BF0100Y",
    )
    assert bill.provider.name == "BEN KILDARE SERVICE"
    assert (bill.facility.state, bill.facility.zip) == ("FL", "331110000")
    assert bill.patient is not None
    assert (bill.patient.last_name, bill.patient.first_name) == ("SMITH", "TED")  # the patient (QC), not
    assert bill.patient.birth_date == date(1973, 5, 1)  # the subscriber (JANE)
    assert bill.patient.member_id == "JS00111223333"
    assert bill.line_of_business is LineOfBusiness.group_health  # SBR09 CI


def test_example2_is_kept_as_written_and_its_bad_npis_are_named() -> None:
    (submission,) = read(x12_fixture("demo.example2.837"))
    assert submission.errors == []
    warned = {(w["segment"], w["position"], w["element"], w["field"]) for w in submission.warnings}
    assert warned == {("NM1", 8, "NM109", "provider.npi"), ("NM1", 26, "NM109", "facility.npi")}
    assert all("check digit" in w["message"] and w["type"] == "npi_check_digit" for w in submission.warnings)
    bill = submission.claim
    assert bill is not None
    assert bill.provider.npi == "9876543210"
    assert [(x.procedure_code, x.charge) for x in bill.lines] == [
        ("99213", D("40.00")),
        ("87072", D("15.00")),
        ("99214", D("35.00")),
        ("86663", D("10.00")),
    ]
    assert (bill.facility.name, bill.facility.npi, bill.facility.zip) == (
        "KILDARE ASSOCIATES",
        "5812345679",
        "33111",
    )
    assert bill.line_of_business is LineOfBusiness.group_health  # HM


@pytest.mark.parametrize("name", ["demo.837i", "institutional-claim.837i"])
def test_institutional_sample_reads_exactly_as_written(name: str) -> None:
    (submission,) = read(x12_fixture(name))
    assert submission.errors == []
    # The billing NPI also names the facility of an 837I: one warning, on its one element.
    assert [(w["segment"], w["element"]) for w in submission.warnings] == [("NM1", "NM109")]
    (bill,) = bills(x12_fixture(name))
    assert bill.claim_type is ClaimType.institutional
    assert (bill.partner_claim_id, bill.type_of_bill, bill.total_charge) == ("756048Q", "0141", D("89.93"))
    assert lines_of(bill) == [
        (1, "0305", "85025", [], D("1.00"), D("13.39"), date(1996, 9, 11)),
        (2, "0730", "93005", [], D("3.00"), D("76.54"), date(1996, 9, 11)),
    ]
    assert bill.diagnoses == ["3669", "4019", "79431"]  # principal first; codes BH/BE/BG are not taken
    assert (bill.facility.npi, bill.facility.name) == ("9876540809", "JONES HOSPITAL")
    assert bill.patient is not None
    assert (bill.patient.last_name, bill.patient.first_name) == ("DOE", "JON")  # not the other payer's
    assert bill.line_of_business is None  # Medicare Part B (MB) is no line Parley negotiates for


def test_two_claims_of_one_provider_are_two_bills() -> None:
    first, second = bills(x12_fixture("two-claims-single-provider.837i"))
    assert (first.partner_claim_id, first.type_of_bill, first.total_charge) == ("756048Q", "0131", D("89.95"))
    assert lines_of(first) == [
        (1, "0305", "85025", [], D("1.00"), D("13.39"), date(2005, 3, 15)),
        (2, "0730", "93005", [], D("3.00"), D("76.56"), date(2005, 3, 15)),
    ]
    assert (second.partner_claim_id, second.total_charge, second.diagnoses) == (
        "756049Q",
        D("50.00"),
        ["30000"],
    )
    assert lines_of(second) == [(1, "0300", "85087", [], D("1.00"), D("50.00"), date(2005, 4, 1))]
    assert second.patient is not None
    assert second.patient.last_name == "SMITH"


def test_example6_wrong_component_separator_is_an_error_naming_each_element() -> None:
    """ISA16 says ':' but the composites use '>': refused where it matters, never read as other codes."""
    (submission,) = read(x12_fixture("demo.example6.837"))
    assert submission.claim is None
    separator = [
        (e["segment"], e["element"]) for e in submission.errors if e["type"] == "component_separator"
    ]
    assert separator == [("CLM", "CLM05"), ("HI", "HI01"), ("SV1", "SV101")]
    assert all("'>'" in e["message"] and "ISA16" in e["message"] for e in submission.errors[:3])
    assert {e["type"] for e in submission.errors} == {"component_separator"}


def test_modifiers_ndc_and_line_of_business_override() -> None:
    claim = x12_claim("MODS", [("HC:73560:RT:59:XS:GA", "100", "2.5"), ("HC:J1885", "12.50", "3")])
    claim.append("LIN**N4*00409490234")  # 2410: the drug of the second line
    (bill,) = bills(x12_interchange(claim))
    assert [(x.procedure_code, x.modifiers, x.units, x.charge) for x in bill.lines] == [
        ("73560", ["RT", "59", "XS", "GA"], D("2.5"), D("100")),
        ("J1885", [], D("3"), D("12.50")),
    ]
    assert [x.ndc for x in bill.lines] == [None, "00409490234"]
    assert (bill.diagnosis_code_set, bill.diagnoses) == ("icd10", ["S83511A", "M25561"])
    assert bill.line_of_business is LineOfBusiness.workers_compensation  # SBR09 WC
    (auto,) = read(x12_interchange(x12_claim("LOB")), LineOfBusiness.auto)
    assert auto.claim is not None
    assert auto.claim.line_of_business is LineOfBusiness.auto


def test_other_delimiters_are_read_from_the_isa() -> None:
    text = x12_interchange(x12_claim("DELIMS")).replace("~\n", "!").replace("*", "|").replace(":", ">")
    (bill,) = bills(text)
    assert [x.modifiers for x in bill.lines] == [[], ["RT", "59"]]


def test_one_bad_claim_does_not_stop_the_others() -> None:
    good = x12_claim("GOOD")
    bad = x12_claim("BAD", [("HC:99214", "abc", "1"), ("HC:9921", "10", "0")])
    result = read(x12_interchange(good, bad))
    assert result[0].claim is not None
    assert result[0].errors == []
    assert result[1].claim is None
    where = {(e["segment"], e["element"], e["field"]) for e in result[1].errors}
    assert ("SV1", "SV102", "lines[0].charge") in where
    assert ("SV1", "SV101-2", "lines[1].procedure_code") in where
    assert ("SV1", "SV104", "lines[1].units") in where
    positions = {e["position"] for e in result[1].errors if e["segment"] == "SV1"}
    assert positions == {38, 41}  # as a 999 counts: ST is 1


def test_claim_rules_are_placed_on_segments() -> None:
    mismatch = x12_claim("TOTAL")
    mismatch[11] = mismatch[11].replace("*310.00*", "*300.00*")
    icd9_now = x12_claim("CODES", diagnoses="HI*BK:0340")
    no_date = [s for s in x12_claim("NODATE") if not s.startswith("DTP*472")]
    interchange = read_837(x12_interchange(mismatch, icd9_now, no_date), client_id="a", line_of_business=None)
    results = [submission_of(i, c) for i, c in enumerate(interchange.claims)]
    assert [(e["segment"], e["element"]) for e in results[0].errors] == [("CLM", "CLM02")]
    # Rules across fields run when the claim is received; their errors land on segments the same way.
    assert results[1].claim is not None
    placed = located(interchange.claims[1], [p.as_dict() for p in problems(results[1].claim)])
    assert [(p.location.segment, p.location.element, p.field) for p in placed] == [
        ("HI", "HI01-1", "diagnosis_code_set")
    ]
    assert {e["field"] for e in results[2].errors} == {"lines[0].service_date", "lines[1].service_date"}


@pytest.mark.parametrize(
    ("mutate", "segment", "element"),
    [
        (lambda t: t.replace("*11:B:1*", "*11:B:5*"), "CLM", "CLM05-3"),
        (lambda t: t.replace("SV1*HC:99214", "SV1*ER:99214"), "SV1", "SV101-1"),
        (lambda t: t.replace("DMG*D8*19730501", "DMG*D8*19731301"), "DMG", "DMG02"),
        (lambda t: t.replace("REF*EI*587654321", "REF*EI*58765"), "REF", "REF02"),
        (lambda t: t.replace("N4*MIAMI*FL*33111", "N4*MIAMI*ZZ*33111"), "N4", "N402"),
        (lambda t: t.replace("SV1*HC:99214*210*UN", "SV1*HC:99214*210*HR"), "SV1", "SV103"),
    ],
)
def test_a_wrong_element_is_named(mutate, segment: str, element: str | None) -> None:
    (submission,) = read(mutate(x12_interchange(x12_claim("ONE"))))
    assert submission.claim is None
    assert (segment, element) in {(e["segment"], e["element"]) for e in submission.errors}, submission.errors


@pytest.mark.parametrize(
    ("text", "segment"),
    [
        ("", "ISA"),
        ("hello", "ISA"),
        ("ISA*00*short~", "ISA"),
        (x12_interchange(x12_claim("V")).replace("00501", "00401", 1), "ISA"),
        (x12_interchange(x12_claim("V"), version="005010X221A1"), "ST"),
        (x12_interchange(x12_claim("V")).replace("LX*1~", "~~LX*1~"), "ISA"),
        (x12_interchange([s for s in x12_claim("V") if not s.startswith("CLM")][:6]), "ST"),
    ],
)
def test_unreadable_files_are_refused_whole(text: str, segment: str) -> None:
    with pytest.raises(X12FileError) as caught:
        read_837(text, client_id="acme", line_of_business=None)
    assert caught.value.problems[0].location.segment == segment


def test_a_broken_transaction_envelope_rejects_its_claims() -> None:
    text = x12_interchange(x12_claim("A"), x12_claim("B"))
    segments = text.split("~\n")
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    segments[se] = "SE*99*0001"
    for submission in read("~\n".join(segments)):
        assert submission.claim is None
        assert any(e["segment"] == "SE" for e in submission.errors)


# --- fuzzing: nothing a partner sends makes the reader fail in an unplanned way --------------------------

SAMPLE = x12_fixture("demo.837")


def _survives(text: str) -> None:
    try:
        interchange = read_837(text, client_id="acme", line_of_business=None)
    except X12FileError as exc:
        problems_found = exc.problems
        assert problems_found
        return
    for i, claim in enumerate(interchange.claims):
        submission = submission_of(i, claim)
        assert submission.claim is not None or submission.errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_arbitrary_text(text: str) -> None:
    _survives(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SAMPLE)),
            st.integers(min_value=0, max_value=4),
            st.text(alphabet="*:~^>|0123456789ABZ .-\n", max_size=4),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzz_edits_of_a_valid_file(edits: list[tuple[int, int, str]]) -> None:
    text = SAMPLE
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    _survives(text)

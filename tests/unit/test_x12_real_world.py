"""X12 837 files as partners and clearinghouses really send them (issue 12, items 1-4; issue 11 facts).

Each kind of fault has a test: HL numbering that continues across transaction sets, envelope findings
classified as refusals or warnings, identifiers with X12's characters, defects in elements Parley does
not need, composites with another separator under a partner's setting, and the facts pricing needs
(MS-DRG, discharge status, unit of measure). Values asserted are the ones written in the files.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.intake.claims import problems
from services.intake.events import received_event
from services.intake.schemas import BillIn
from services.intake.submissions import Submission
from services.intake.x12 import read_837
from services.intake.x12_claims import submission_of
from services.intake.x12_syntax import CHECKS, X12FileError, classify
from shared.contracts import BillReceivedV1, UnitOfMeasure
from tests.helpers import (
    STAY_LINES,
    bill,
    inpatient_stay_837i,
    line,
    x12_claim,
    x12_continued_hl,
    x12_fixture,
    x12_interchange,
    x12_sets,
)

D = Decimal


def read(text: str, separator: str | None = None) -> tuple[list[Submission], list[dict]]:
    interchange = read_837(text, client_id="acme", line_of_business=None, composite_separator=separator)
    submissions = [submission_of(i, claim) for i, claim in enumerate(interchange.claims)]
    return submissions, [w.as_dict() for w in interchange.warnings]


def where(items: list[dict]) -> list[tuple]:
    return [(x["segment"], x["position"], x["element"], x["type"]) for x in items]


# --- 1. HL numbering and the hierarchy -------------------------------------------------------------------


def test_hl_numbers_that_continue_across_transaction_sets_are_a_warning_and_every_claim_is_taken() -> None:
    submissions, file_warnings = read(x12_continued_hl())
    assert file_warnings == []
    assert [s.errors for s in submissions] == [[]] * 5
    got = [
        (
            s.claim.partner_claim_id,
            s.claim.total_charge,
            [(x.procedure_code, x.modifiers, x.units, x.charge, x.diagnosis_pointers) for x in s.claim.lines],
        )
        for s in submissions
        if s.claim is not None
    ]
    assert got == [
        ("CH-1", D("20.00"), [("H0003", [], D("1"), D("20.00"), [1])]),
        ("CH-2", D("50.10"), [("96153", ["HF"], D("6"), D("50.10"), [1, 2])]),
        ("CH-3", D("11.64"), [("T1017", ["HF"], D("1"), D("11.64"), [1, 2])]),
        ("CH-4", D("234.00"), [("90853", [], D("120"), D("234.00"), [1])]),
        ("CH-5", D("20.00"), [("H0003", [], D("1"), D("20.00"), [1, 2])]),
    ]
    # The first set numbers 1, 2: no warning. Each other set's first HL (position 5 after ST, BHT and
    # the two NM1) is named once, with the number it has and the one the guide expects.
    assert [where(s.warnings) for s in submissions] == [[]] + [[("HL", 5, "HL01", "hl_numbering")]] * 4
    assert "starts at 63 where 1 was expected" in submissions[1].warnings[0]["message"]


def _set(*segments: str) -> list[str]:
    """A professional set from HL segments and claims: each CLM gets the same line."""
    body = []
    for segment in segments:
        if segment.startswith("HL*") and segment.endswith("*20*1"):
            body += [segment, "NM1*85*2*CLINIC*****XX*1912301953", "N4*MIAMI*FL*33111", "REF*EI*587654321"]
        elif segment.startswith("HL*"):
            body += [segment, "SBR*P*18*******CI", "NM1*IL*1*DOE*JANE****MI*M1", "DMG*D8*19800101*F"]
        else:
            body += [f"CLM*{segment}*20***11:B:1", "HI*ABK:F39", "LX*1", "SV1*HC:99213*20*UN*1***1"]
            body += ["DTP*472*D8*20250115"]
    return body


def test_numbering_that_skips_is_a_warning_only() -> None:
    submissions, _ = read(x12_sets(_set("HL*1**20*1", "HL*3*1*22*0", "SKIP")))
    (only,) = submissions
    assert only.claim is not None
    assert where(only.warnings) == [("HL", 9, "HL01", "hl_numbering")]
    assert "goes on with 3 where 2 was expected" in only.warnings[0]["message"]


def test_a_claim_is_refused_for_its_hierarchy_only_when_a_parent_is_missing_or_ambiguous() -> None:
    text = x12_sets(
        _set(
            "HL*1**20*1",
            "HL*2*1*22*0",
            "GOOD",
            "HL*3*7*22*0",  # parent 7: no such HL before it
            "ORPHAN",
            "HL*4*1*22*0",
            "SHARED-FIRST",  # the first HL 4 is clear when it comes
            "HL*4*1*22*1",  # a second HL 4: ambiguous itself
            "SHARED-SECOND",
            "HL*5*4*23*0",  # and so is any child of "4"
            "CHILD",
            "HL*6*2*22*0",  # a subscriber under a subscriber
            "WRONG-LEVEL",
        )
    )
    submissions, _ = read(text)
    outcome = {s.claim_id: (s.claim is not None, where(s.errors)) for s in submissions}
    assert outcome == {
        "GOOD": (True, []),
        "ORPHAN": (False, [("HL", 18, "HL02", "hierarchy_parent")]),
        "SHARED-FIRST": (True, []),
        "SHARED-SECOND": (False, [("HL", 36, "HL01", "hierarchy_ambiguous")]),
        "CHILD": (False, [("HL", 45, "HL02", "hierarchy_ambiguous")]),
        "WRONG-LEVEL": (False, [("HL", 54, "HL02", "hierarchy_parent")]),
    }


def test_a_claim_belongs_to_the_billing_provider_its_parents_name_not_the_last_one_read() -> None:
    first = _set("HL*1**20*1")
    second = [s.replace("1912301953", "1234567893") for s in _set("HL*2**20*1")]
    rest = _set("HL*3*1*22*0", "UNDER-FIRST", "HL*4*2*22*0", "UNDER-SECOND")
    submissions, _ = read(x12_sets(first + second + rest))
    assert [(s.claim_id, s.claim.provider.npi) for s in submissions if s.claim] == [
        ("UNDER-FIRST", "1912301953"),
        ("UNDER-SECOND", "1234567893"),
    ]


def test_a_claim_without_a_subscriber_level_is_refused() -> None:
    submissions, _ = read(x12_sets(_set("HL*1**20*1", "NOBODY")))
    assert where(submissions[0].errors)[0][3] == "hierarchy"


# --- 1. envelope findings: refuse what is unreadable, warn about style -------------------------------


def _one() -> str:
    return x12_interchange(x12_claim("ENV"))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("GE*1*101", "GE*2*101"), ("GE", "GE01", "trailer_count")),
        (lambda t: t.replace("GE*1*101", "GE*1*102"), ("GE", "GE02", "trailer_control_number")),
        (
            lambda t: t.replace("IEA*1*000000101", "IEA*1*000000999"),
            ("IEA", "IEA02", "trailer_control_number"),
        ),
        (lambda t: t.replace("IEA*1*000000101", "IEA*3*000000101"), ("IEA", "IEA01", "trailer_count")),
        (lambda t: t[: t.index("IEA*")], ("GE", None, "missing_trailer")),  # cut after the GE
        (lambda t: t.replace("BHT*", " BHT*"), ("BHT", None, "leading_space")),
        (lambda t: t.replace("REF*EI*587654321", "REF*EI*587654321*"), ("REF", None, "trailing_separator")),
    ],
)
def test_envelope_style_is_a_file_warning_and_the_claim_is_taken(mutate, expected: tuple) -> None:
    submissions, warnings = read(mutate(_one()))
    assert submissions[0].claim is not None, submissions[0].errors
    assert submissions[0].claim.total_charge == D("310.00")
    assert expected in [(w["segment"], w["element"], w["type"]) for w in warnings]


def test_repeated_control_numbers_are_warnings() -> None:
    text = x12_sets(_set("HL*1**20*1", "HL*2*1*22*0", "A"), _set("HL*1**20*1", "HL*2*1*22*0", "B"))
    text = text.replace("ST*837*000000002", "ST*837*000000001").replace("SE*18*000000002", "SE*18*000000001")
    submissions, warnings = read(text)
    assert [s.claim_id for s in submissions if s.claim] == ["A", "B"]
    assert ("ST", "ST02", "duplicate_control_number") in [
        (w["segment"], w["element"], w["type"]) for w in warnings
    ]


def test_lx_numbering_is_a_warning_and_the_line_numbers_are_kept() -> None:
    (submission,), _ = read(_one().replace("LX*2~", "LX*7~"))
    assert submission.claim is not None
    assert [x.line_number for x in submission.claim.lines] == [1, 7]
    assert where(submission.warnings) == [("LX", 21, "LX01", "lx_numbering")]


@pytest.mark.parametrize(
    ("mutate", "kind"),
    [
        (lambda t: t.replace("SE*24*0001", "SE*23*0001"), "se_count"),
        (lambda t: t.replace("SE*24*0001", "SE*24*0009"), "se_control_number"),
        (lambda t: t[: t.index("SE*")], "missing_se"),  # the file ends inside the set
        (lambda t: t.replace("SE*24*0001~\n", ""), "missing_se"),  # GE while the set is open
    ],
)
def test_a_transaction_set_whose_own_check_fails_has_its_claims_refused(mutate, kind: str) -> None:
    (submission,), _ = read(mutate(_one()))
    assert submission.claim is None
    assert kind in {e["type"] for e in submission.errors}


def test_a_set_without_its_se_is_refused_and_the_next_set_is_taken() -> None:
    text = x12_sets(_set("HL*1**20*1", "HL*2*1*22*0", "CUT"), _set("HL*1**20*1", "HL*2*1*22*0", "NEXT"))
    text = text.replace("SE*18*000000001~\r\n", "")
    cut, following = read(text)[0]
    assert (cut.claim_id, cut.claim, where(cut.errors)) == ("CUT", None, [("ST", 1, None, "missing_se")])
    assert (following.claim_id, following.errors) == ("NEXT", [])


def test_an_unidentifiable_segment_refuses_its_claim_only() -> None:
    text = x12_interchange(x12_claim("BAD"), x12_claim("OK")).replace("DTP*472", "D@P*472", 1)
    bad, ok = read(text)[0]
    assert bad.claim is None
    assert ("D@P", "segment_id") in {(e["segment"], e["type"]) for e in bad.errors}
    assert ok.claim is not None


def test_an_empty_segment_inside_the_interchange_is_refused_naming_the_byte() -> None:
    text = _one()
    broken = text.replace("LX*1~", "~LX*1~")
    with pytest.raises(X12FileError) as caught:
        read(broken)
    assert f"at byte {broken.index('~LX*1~')}" in caught.value.problems[0].message
    trailing, _ = read(text + "~\n~\n")  # blank segments after the IEA end nothing
    assert trailing[0].claim is not None


def test_a_segment_too_long_for_the_reader_is_refused_naming_its_byte() -> None:
    # pyx12 reads 8 KiB at a time and stops without a word at a segment that does not end within the next
    # read: the second set's claim was lost and the file answered as merely "cut short". Refused instead.
    text = x12_sets(x12_claim("LONG-1"), x12_claim("LONG-2"))
    assert [s.claim.partner_claim_id for s in read(text)[0] if s.claim] == ["LONG-1", "LONG-2"]
    at = text.index("ST*837*000000002")
    broken = text[:at] + "NTE*ADD*" + "A" * 9000 + "~\r\n" + text[at:]
    with pytest.raises(X12FileError) as caught:
        read(broken)
    (problem,) = caught.value.problems
    assert problem.type == "segment_too_long"
    assert problem.message.startswith(f"the segment starting at byte {at} (counted from 0) has no segment")


def test_every_pyx12_check_has_a_rule_and_an_unknown_finding_refuses() -> None:
    assert all(c.why and (c.message or c.action == "own") for c in CHECKS)
    assert classify("seg", "1", "Segment contains a leading space").action == "warn"
    assert classify("seg", "1", 'Segment identifier "x" is invalid').action == "claim"
    assert classify("gs", "3", "Unterminated segment 1").action == "own"
    assert classify("gs", "3", 'Mandatory segment "Functional Group Trailer" (GE=1) missing').action == "warn"
    assert classify("seg", "ZZ", "something new").action == "claim"
    assert classify("st", "99", "something new").action == "set"


# --- 2. identifiers: X12's characters and lengths, trimmed, in X12 and JSON alike ----------------------


def test_a_claim_number_with_a_space_and_a_hash_is_taken_trimmed() -> None:
    (submission,), _ = read(x12_interchange(x12_claim(" R03996273 #01 ")))
    assert submission.claim is not None, submission.errors
    assert submission.claim.partner_claim_id == "R03996273 #01"
    too_long, _ = read(x12_interchange(x12_claim("R" * 39)))
    assert where(too_long[0].errors) == [("CLM", 16, "CLM01", "string_too_long")]


def test_json_identifiers_take_x12_characters_and_refuse_control_characters() -> None:
    body = bill(claim="  R03996273 #01/A&B  ", client_id="acme")
    body["patient"] = {"member_id": " XYZ-123 456*01 ", "last_name": "DOE"}
    body["payer_claim_control_number"] = "2023 110100457-#2"
    accepted = BillIn.model_validate(body)
    assert (accepted.partner_claim_id, accepted.patient and accepted.patient.member_id) == (
        "R03996273 #01/A&B",
        "XYZ-123 456*01",
    )
    assert accepted.payer_claim_control_number == "2023 110100457-#2"
    for field, value in (
        ("partner_claim_id", "A\tB"),
        ("partner_claim_id", "   "),
        ("partner_claim_id", "9" * 39),
    ):
        with pytest.raises(ValidationError) as caught:
            BillIn.model_validate({**body, field: value})
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_payer_claim_control_number_and_member_id_are_read_from_x12() -> None:
    claim = x12_claim("REP", frequency="7")
    claim.insert(claim.index(next(s for s in claim if s.startswith("HI*"))), "REF*F8*PAYER CCN #0001")
    claim = [s.replace("MI*JS001", "MI*JS 001-A") for s in claim]
    (submission,), _ = read(x12_interchange(claim))
    assert submission.claim is not None, submission.errors
    assert submission.claim.payer_claim_control_number == "PAYER CCN #0001"
    assert submission.claim.patient is not None
    assert submission.claim.patient.member_id == "JS 001-A"
    too_long, _ = read(x12_interchange([s.replace("PAYER CCN #0001", "9" * 51) for s in claim]))
    assert ("REF", "REF02") in {(e["segment"], e["element"]) for e in too_long[0].errors}


# --- 3. defects in elements Parley does not need are warnings; the rest stay errors -------------------


def test_a_diagnosis_pointer_written_1_00_is_a_warning_and_the_line_is_kept() -> None:
    claim = x12_claim("PTR")
    claim = [s.replace("*UN*1***1", "*UN*1***1.00", 1) if s.startswith("SV1*HC:99214") else s for s in claim]
    (submission,), _ = read(x12_interchange(claim))
    assert submission.claim is not None, submission.errors
    assert [(x.procedure_code, x.charge, x.diagnosis_pointers) for x in submission.claim.lines] == [
        ("99214", D("210.00"), []),
        ("73560", D("100.00"), [1]),
    ]
    assert where(submission.warnings) == [("SV1", 19, "SV107", "diagnosis_pointer")]
    assert "left out" in submission.warnings[0]["message"]


def test_a_pointer_past_the_diagnoses_is_a_warning_on_x12_and_an_error_on_json() -> None:
    claim = [s.replace("***1", "***1:3") if s.startswith("SV1*HC:73560") else s for s in x12_claim("PAST")]
    (submission,), _ = read(x12_interchange(claim))
    assert submission.claim is not None
    assert [x.diagnosis_pointers for x in submission.claim.lines] == [[1], []]
    assert where(submission.warnings) == [("SV1", 22, "SV107", "pointer_range")]
    json_bill = BillIn.model_validate(bill(lines=[line(diagnosis_pointers=[3])]) | {"diagnoses": ["S83511A"]})
    assert [p.type for p in problems(json_bill)] == ["pointer_range"]


def test_a_nine_digit_service_facility_npi_is_a_warning_and_the_facility_keeps_its_place() -> None:
    claim = x12_claim("FAC")
    at = claim.index(next(s for s in claim if s.startswith("HI*"))) + 1
    claim[at:at] = ["NM1*77*2*KILDARE ASSOCIATES*****XX*581234567", "N3*2345 OCEAN BLVD", "N4*MIAMI*FL*33111"]
    (submission,), _ = read(x12_interchange(claim))
    assert submission.claim is not None, submission.errors
    facility = submission.claim.facility
    assert (facility.npi, facility.name, facility.state, facility.zip) == (
        None,
        "KILDARE ASSOCIATES",
        "FL",
        "33111",
    )
    assert [(w["segment"], w["element"], w["field"]) for w in submission.warnings] == [
        ("NM1", "NM109", "facility.npi")
    ]
    assert "exactly 10 digits" in submission.warnings[0]["message"]


@pytest.mark.parametrize(
    ("mutate", "element"),
    [
        (
            lambda t: t.replace(
                "NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953", "NM1*85*2*B*****XX*191230195"
            ),
            "NM109",
        ),
        (lambda t: t.replace("SV1*HC:99214*210*", "SV1*HC:99214*21O*"), "SV102"),
        (lambda t: t.replace("SV1*HC:99214", "SV1*HC:9921"), "SV101-2"),
        (lambda t: t.replace("UN*1***1~\nDTP*472*D8*", "UN*0***1~\nDTP*472*D8*", 1), "SV104"),
        (lambda t: t.replace("DTP*472*D8*2", "DTP*472*D8*1", 1), "DTP03"),
    ],
)
def test_defects_in_what_prices_the_bill_stay_errors(mutate, element: str) -> None:
    (submission,), _ = read(mutate(_one()))
    assert submission.claim is None
    assert element in {e["element"] for e in submission.errors}, submission.errors


def test_an_837i_billing_npi_that_is_also_the_facility_is_named_once_as_the_error() -> None:
    text = x12_fixture("demo.837i").replace("XX*9876540809", "XX*987654080")
    (submission,), _ = read(text)
    assert submission.claim is None
    assert [(e["element"], e["field"]) for e in submission.errors] == [("NM109", "provider.npi")]
    assert submission.warnings == []


# --- 4. composites with another separator: refused, unless the partner's setting says so --------------


def test_example6_is_read_with_the_partners_separator_and_says_so() -> None:
    text = x12_fixture("demo.example6.837")
    (refused,), _ = read(text)
    assert refused.claim is None
    (taken,), _ = read(text, separator=">")
    assert taken.claim is not None, taken.errors
    bill_in = taken.claim
    assert (bill_in.partner_claim_id, bill_in.place_of_service, bill_in.frequency.value) == (
        "125WILL",
        "11",
        "original",
    )
    assert (bill_in.diagnosis_code_set, bill_in.diagnoses) == ("icd9", ["7215"])
    assert [(x.procedure_code, x.units, x.charge, x.service_date) for x in bill_in.lines] == [
        ("98940", D("1.00"), D("145.50"), date(2005, 2, 15))
    ]
    setting = [w for w in taken.warnings if w["type"] == "component_separator_setting"]
    assert where(setting) == [("CLM", 19, "CLM05", "component_separator_setting")]
    assert "3 composite(s)" in setting[0]["message"]
    assert "'>'" in setting[0]["message"]


def test_a_partner_separator_that_is_a_delimiter_of_the_file_is_never_applied() -> None:
    text = x12_interchange(x12_claim("REP"), separator="^")  # ^ is this file's repetition separator
    (submission,), _ = read(text, separator="^")
    assert submission.claim is None
    assert [e["element"] for e in submission.errors] == ["CLM05", "HI01", "HI02", "SV101", "SV101"]
    assert {e["type"] for e in submission.errors} == {"component_separator"}
    assert "repetition separator, ISA11" in submission.errors[0]["message"]
    (clean,), _ = read(x12_interchange(x12_claim("CLEAN")), separator=">")
    assert clean.claim is not None
    assert clean.warnings == []  # the setting warns only where it was used


# --- issue 11: the MS-DRG, the discharge status and the unit of measure --------------------------------


def test_the_inpatient_stay_keeps_its_drg_discharge_status_and_lines() -> None:
    (submission,), _ = read(inpatient_stay_837i())
    assert submission.errors == []
    stay = submission.claim
    assert stay is not None
    assert (stay.drg, stay.discharge_status, stay.type_of_bill, stay.total_charge) == (
        "885",
        "01",
        "0111",
        D("17166.70"),
    )
    assert (stay.admission_date, stay.discharge_date) == (date(2018, 6, 28), date(2018, 7, 2))
    assert stay.diagnoses == ["F39", "F1319", "F419"]  # principal, then other (ABJ admitting is not kept)
    assert [(x.revenue_code, x.units, x.charge, x.unit_of_measure) for x in stay.lines] == [
        (revenue, D(units), D(charge).quantize(D("0.01")), UnitOfMeasure.units)
        for revenue, charge, units in STAY_LINES
    ]
    event = received_event(uuid.uuid4(), "p", stay, revision=1, received_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert (event.drg, event.discharge_status) == ("885", "01")


@pytest.mark.parametrize("drg", ["88", "0885", "88A", "000"])
def test_a_malformed_drg_is_an_error_at_its_element(drg: str) -> None:
    (submission,), _ = read(inpatient_stay_837i(drg=drg))
    assert submission.claim is None
    assert [(e["segment"], e["element"], e["field"]) for e in submission.errors] == [("HI", "HI01-2", "drg")]


def test_two_drgs_are_refused_and_a_drg_on_a_professional_bill_too() -> None:
    (two,), _ = read(inpatient_stay_837i().replace("HI*DR:885", "HI*DR:885*DR:886"))
    assert [(e["element"], e["type"]) for e in two.errors] == [("HI02-1", "drg")]
    professional = BillIn.model_validate(bill() | {"drg": "885"})
    assert [(p.field, p.type) for p in problems(professional)] == [("drg", "claim_type")]


def test_an_anesthesia_line_in_minutes_keeps_its_minutes() -> None:
    claim = x12_claim("ANES", [("HC:00142:QK", "1200", "61")])
    claim = [s.replace("*UN*61", "*MJ*61") for s in claim]
    (submission,), _ = read(x12_interchange(claim))
    assert submission.claim is not None, submission.errors
    (anesthesia,) = submission.claim.lines
    assert (
        anesthesia.procedure_code,
        anesthesia.modifiers,
        anesthesia.units,
        anesthesia.unit_of_measure,
    ) == (
        "00142",
        ["QK"],
        D("61"),
        UnitOfMeasure.minutes,
    )
    event = received_event(
        uuid.uuid4(), "p", submission.claim, revision=1, received_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert (event.lines[0].units, event.lines[0].unit_of_measure) == (D("61"), UnitOfMeasure.minutes)
    assert event.model_dump(mode="json")["lines"][0]["unit_of_measure"] == "minutes"


def test_units_of_measure_on_institutional_lines_and_a_missing_one() -> None:
    (days,), _ = read(inpatient_stay_837i(unit="DA"))
    assert days.claim is not None
    assert {x.unit_of_measure for x in days.claim.lines} == {UnitOfMeasure.units}
    (bad,), _ = read(inpatient_stay_837i(unit="HR"))
    assert {(e["segment"], e["element"]) for e in bad.errors} == {("SV2", "SV204")}
    claim = [s.replace("*UN*", "**") if s.startswith("SV1*HC:99214") else s for s in x12_claim("NOUNIT")]
    (missing,), _ = read(x12_interchange(claim))
    assert missing.claim is not None
    assert missing.claim.lines[0].unit_of_measure is UnitOfMeasure.units
    assert where(missing.warnings) == [("SV1", 19, "SV103", "unit_of_measure_missing")]


def test_json_unit_of_measure_drg_and_discharge_status() -> None:
    body = bill(lines=[line("00142", "1200.00", modifiers=["QK"], units=61, unit_of_measure="minutes")])
    parsed = BillIn.model_validate(body)
    assert (parsed.lines[0].units, parsed.lines[0].unit_of_measure) == (D("61"), UnitOfMeasure.minutes)
    assert BillIn.model_validate(bill()).lines[0].unit_of_measure is UnitOfMeasure.units
    with pytest.raises(ValidationError):
        BillIn.model_validate(bill(lines=[line(unit_of_measure="hours")]))
    for field, value in (("drg", "85"), ("discharge_status", "1")):
        with pytest.raises(ValidationError) as caught:
            BillIn.model_validate(bill() | {field: value})
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_events_written_before_these_fields_still_parse_with_their_defaults() -> None:
    old = {
        "bill_id": "5f0c3a52-6f3e-4a5e-9a57-0d7c3d2a1b10",
        "client_id": "c",
        "partner_claim_id": "1",
        "claim_type": "institutional",
        "provider": {"npi": "1912301953", "tin": "587654321"},
        "facility": {"state": "FL", "zip": "33111"},
        "total_charge": "10.00",
        "lines": [{"line_number": 1, "units": "2", "charge": "10.00", "service_date": "2025-01-02"}],
        "received_at": "2025-01-03T00:00:00Z",
    }
    event = BillReceivedV1.model_validate(old)
    assert (event.drg, event.discharge_status, event.lines[0].unit_of_measure) == (
        None,
        None,
        UnitOfMeasure.units,
    )

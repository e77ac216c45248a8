"""Rules across the fields of one claim (the same for JSON and X12) and the shapes intake adds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.claims import problems
from services.intake.examples import BILL_EXAMPLE, INSTITUTIONAL_EXAMPLE
from services.intake.schemas import BillIn


def fields(body: dict[str, Any]) -> set[str]:
    return {p.field for p in problems(BillIn.model_validate(body))}


def test_the_examples_shown_to_partners_are_valid() -> None:
    assert fields(BILL_EXAMPLE) == set()
    assert fields(INSTITUTIONAL_EXAMPLE) == set()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"discharge_date": "2025-09-27"}, "discharge_date"),  # before admission
        ({"admission_date": "2025-09-29"}, "lines[0].service_date"),  # a line before the stay
        ({"discharge_date": "2025-09-28"}, "lines[1].service_date"),  # a line after the stay
        ({"admission_date": None}, "admission_date"),  # a discharge without an admission
        ({"type_of_bill": None}, "type_of_bill"),
        ({"type_of_bill": "0117"}, "type_of_bill"),  # says replacement, frequency says original
        ({"diagnoses": ["25000"]}, "diagnoses[0]"),  # not ICD-10
        ({"diagnosis_code_set": "icd9", "diagnoses": ["25000"]}, "diagnosis_code_set"),  # ICD-9 in 2025
    ],
)
def test_institutional_rules(change: dict[str, Any], field: str) -> None:
    assert field in fields({**INSTITUTIONAL_EXAMPLE, **change})


def test_institutional_lines_need_revenue_codes_and_professional_lines_procedure_codes() -> None:
    lines = [{"procedure_code": "99213", "units": 1, "charge": "5400.00", "service_date": "2025-09-28"}]
    assert "lines[0].revenue_code" in fields({**INSTITUTIONAL_EXAMPLE, "lines": lines})
    revenue_only = [{"revenue_code": "0450", "units": 1, "charge": "310.00", "service_date": "2025-10-03"}]
    assert "lines[0].procedure_code" in fields({**BILL_EXAMPLE, "lines": revenue_only})


def test_icd10_is_refused_for_services_before_october_2015_and_pointers_stay_in_range() -> None:
    old = [{**line, "service_date": "2014-05-01"} for line in BILL_EXAMPLE["lines"]]
    assert "diagnosis_code_set" in fields({**BILL_EXAMPLE, "lines": old})
    assert (
        fields({**BILL_EXAMPLE, "lines": old, "diagnosis_code_set": "icd9", "diagnoses": ["7213", "V7389"]})
        == set()
    )
    pointing = [{**BILL_EXAMPLE["lines"][0], "diagnosis_pointers": [3]}, BILL_EXAMPLE["lines"][1]]
    assert "lines[0].diagnosis_pointers" in fields({**BILL_EXAMPLE, "lines": pointing})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("00409-4902-34", "00409490234"), ("0409-4902-34", "00409490234"), ("00409490234", "00409490234")],
)
def test_ndc_is_normalised_to_eleven_digits(value: str, expected: str) -> None:
    lines = [{**BILL_EXAMPLE["lines"][0], "ndc": value}, BILL_EXAMPLE["lines"][1]]
    assert BillIn.model_validate({**BILL_EXAMPLE, "lines": lines}).lines[0].ndc == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"lines": [{**BILL_EXAMPLE["lines"][0], "ndc": "0409490234"}, BILL_EXAMPLE["lines"][1]]},
            "lines.0.ndc",
        ),
        ({"provider": {**BILL_EXAMPLE["provider"], "taxonomy": "207X"}}, "provider.taxonomy"),
        ({"patient": {"birth_date": "2999-01-01"}}, "patient.birth_date"),
        ({"type_of_bill": "1"}, "type_of_bill"),
        ({"diagnoses": ["S8"]}, "diagnoses.0"),
        ({"frequency": "cancel"}, "frequency"),
        ({"line_of_business": "life"}, "line_of_business"),
    ],
)
def test_shapes(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BillIn.model_validate({**BILL_EXAMPLE, **change})
    assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}

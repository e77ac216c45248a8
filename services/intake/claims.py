"""Rules across the fields of one claim, applied the same way to JSON and X12 bills.

Each rule returns problems as ``(field path, message, type)`` so the JSON API can name the field and the
X12 reader can name the segment and element the field came from. Messages never repeat the values
(they may be protected health information).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.intake.schemas import BillIn
from shared.contracts import ClaimFrequency, ClaimType

# HIPAA: ICD-10-CM for services from this date; ICD-9-CM before it.
ICD10_FROM = date(2015, 10, 1)

_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}")
_ICD9 = re.compile(r"(\d{3}\d{0,2}|V\d{2}\d{0,2}|E\d{3}\d?)")

FREQUENCY_DIGIT = {ClaimFrequency.original: "1", ClaimFrequency.replacement: "7", ClaimFrequency.void: "8"}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    type: str = "value_error"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


def problems(bill: BillIn) -> list[Problem]:
    found: list[Problem] = []
    found += _by_claim_type(bill)
    found += _dates(bill)
    found += _diagnoses(bill)
    return found


def _by_claim_type(bill: BillIn) -> list[Problem]:
    found = []
    if bill.claim_type is ClaimType.institutional:
        if bill.type_of_bill is None:
            found.append(Problem("type_of_bill", "an institutional claim needs its type of bill", "missing"))
        elif bill.type_of_bill[3] != FREQUENCY_DIGIT[bill.frequency]:
            found.append(
                Problem(
                    "type_of_bill",
                    "the last digit of type of bill is the claim frequency: "
                    f"{FREQUENCY_DIGIT[bill.frequency]} for {bill.frequency.value} "
                    "(Parley takes 1 original, 7 replacement, 8 void)",
                    "frequency_mismatch",
                )
            )
        needed, message = "revenue_code", "an institutional line needs a revenue code"
    else:
        needed, message = "procedure_code", "a professional line needs a procedure code (CPT/HCPCS)"
        # Both belong to a hospital's UB-04 (837I); on a professional claim they would be priced wrongly.
        found += [
            Problem(name, f"{what} is given on institutional (UB-04) claims only", "claim_type")
            for name, what in (("drg", "an MS-DRG"), ("discharge_status", "a patient discharge status"))
            if getattr(bill, name) is not None
        ]
    found += [
        Problem(f"lines[{i}].{needed}", message, "missing")
        for i, line in enumerate(bill.lines)
        if getattr(line, needed) is None
    ]
    return found


def _dates(bill: BillIn) -> list[Problem]:
    found = []
    admitted, discharged = bill.admission_date, bill.discharge_date
    if discharged is not None and admitted is None:
        found.append(Problem("admission_date", "a discharge date needs an admission date", "missing"))
    if admitted is not None and discharged is not None and discharged < admitted:
        found.append(Problem("discharge_date", "discharge date is before the admission date", "date_order"))
        return found
    if admitted is not None:
        for i, line in enumerate(bill.lines):
            if line.service_date < admitted or (discharged is not None and line.service_date > discharged):
                found.append(
                    Problem(
                        f"lines[{i}].service_date",
                        "service date is outside the stay (admission to discharge)",
                        "outside_stay",
                    )
                )
    return found


def _diagnoses(bill: BillIn) -> list[Problem]:
    found = []
    icd9 = bill.diagnosis_code_set == "icd9"
    pattern = _ICD9 if icd9 else _ICD10
    for i, code in enumerate(bill.diagnoses):
        if not pattern.fullmatch(code):
            expected = "ICD-9-CM (e.g. 250.00, V73.89)" if icd9 else "ICD-10-CM (a letter, a digit, then 1-5)"
            found.append(Problem(f"diagnoses[{i}]", f"not an {expected} code", "diagnosis_shape"))
    if bill.diagnoses:
        latest = max([line.service_date for line in bill.lines] + [d for d in (bill.discharge_date,) if d])
        if icd9 and latest >= ICD10_FROM:
            found.append(
                Problem(
                    "diagnosis_code_set",
                    "ICD-9-CM is only valid for services before 2015-10-01; use ICD-10-CM",
                    "code_set_date",
                )
            )
        if not icd9 and latest < ICD10_FROM:
            found.append(
                Problem(
                    "diagnosis_code_set",
                    "services before 2015-10-01 are coded in ICD-9-CM (diagnosis_code_set icd9)",
                    "code_set_date",
                )
            )
    for i, line in enumerate(bill.lines):
        if any(p > len(bill.diagnoses) for p in line.diagnosis_pointers):
            found.append(
                Problem(
                    f"lines[{i}].diagnosis_pointers",
                    f"points past the {len(bill.diagnoses)} diagnoses given",
                    "pointer_range",
                )
            )
    return found

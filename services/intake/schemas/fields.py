"""The field types of a bill as partners send it: identifiers, codes and dates, each checked for its shape.

Identifiers a provider or payer assigned (claim number, member id, payer claim control number) take
X12's characters and lengths; codes are normalised (no dots, upper case, padded where the form allows).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Parley's own ids (clients): letters, digits and . _ - / only, because they appear in scopes and URLs.
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]


def _x12_text(value: str) -> str:
    # X12's basic and extended character sets are printable characters (letters, digits, space and
    # punctuation such as # & ' ( ) + , - . / : ; ? = % @ [ ] _ { } < > $); partners' claim numbers use
    # them ("R03996273 #01"). Nothing downstream parses an identifier: it is compared and shown, so
    # only what cannot be shown or logged safely (control characters, line breaks) is refused.
    if not value.isprintable():
        raise ValueError("only printable characters are allowed (no control characters or line breaks)")
    return value


# Identifiers a provider or payer assigned: trimmed, X12's characters, X12's lengths.
ClaimNumber = Annotated[  # X12 CLM01: AN 1-38
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=38),
    AfterValidator(_x12_text),
    Field(examples=["R03996273 #01"]),
]
MemberId = Annotated[  # X12 NM109: AN up to 80
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), AfterValidator(_x12_text)
]
ReferenceNumber = Annotated[  # X12 REF02: AN 1-50
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_x12_text)
]


def _upper_compact(value: object) -> object:
    return value.strip().upper().replace(".", "") if isinstance(value, str) else value


def _diagnosis(value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{3,7}", value):
        raise ValueError("a diagnosis code is 3 to 7 letters or digits (ICD-10-CM e.g. S83.511A)")
    return value


def _taxonomy(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"\d{3}[0-9A-Z]{7}", code):
        raise ValueError("a provider taxonomy code is 10 characters, e.g. 207X00000X")
    return code


def _ndc(value: str) -> str:
    """NDC as 11 digits (5-4-2). Hyphenated 10-digit forms are padded; 10 bare digits are ambiguous."""
    text = value.strip()
    if "-" in text:
        parts = text.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError("an NDC is 11 digits, or hyphenated as 5-4-2, 4-4-2, 5-3-2 or 5-4-1")
        labeler, product, package = parts
        if (len(labeler), len(product), len(package)) not in ((5, 4, 2), (4, 4, 2), (5, 3, 2), (5, 4, 1)):
            raise ValueError("an NDC is 11 digits, or hyphenated as 5-4-2, 4-4-2, 5-3-2 or 5-4-1")
        return labeler.zfill(5) + product.zfill(4) + package.zfill(2)
    if not re.fullmatch(r"\d{11}", text):
        raise ValueError("an NDC is 11 digits (5-4-2 without hyphens); a 10-digit NDC needs its hyphens")
    return text


def _type_of_bill(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"0?[1-9][0-9A-Z][0-9A-Z]", code):
        raise ValueError("type of bill is 3 characters (facility type, care type, frequency), e.g. 0131")
    return code.zfill(4)


def _drg(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{3}", code) or code == "000":
        raise ValueError("an MS-DRG is 3 digits, 001 to 999 (e.g. 885)")
    return code


def _discharge_status(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{2}", code):
        raise ValueError("patient discharge status is a 2-digit UB-04 code (e.g. 01 home, 02 transfer)")
    return code


def _birth_date(value: date) -> date:
    if value > datetime.now(UTC).date() or value < date(1900, 1, 1):
        raise ValueError("birth date must be a past date after 1900")
    return value


DiagnosisCode = Annotated[str, BeforeValidator(_upper_compact), AfterValidator(_diagnosis)]
Taxonomy = Annotated[str, AfterValidator(_taxonomy), Field(examples=["207X00000X"])]
NDC = Annotated[str, AfterValidator(_ndc), Field(examples=["00409490234"])]
TypeOfBill = Annotated[str, AfterValidator(_type_of_bill), Field(examples=["0131"])]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Drg = Annotated[str, AfterValidator(_drg), Field(examples=["885"])]
DischargeStatus = Annotated[str, AfterValidator(_discharge_status), Field(examples=["01"])]

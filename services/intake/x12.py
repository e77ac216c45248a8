"""Reading an X12 5010 837 interchange (837P professional, 837I institutional) into claims.

pyx12's reader does the X12 syntax: it takes the delimiters from the ISA segment (element separator,
ISA11 repetition, ISA16 component separator, segment terminator), splits segments, elements and
composites, and checks the envelope (ISA/IEA, GS/GE, ST/SE control numbers and counts, HL parents and
numbering, LX numbering). This module walks the 837 loops and picks out what Parley needs, remembering
for every claim field the segment and element it came from, so that any problem found later (here, by
the bill model, or by the claim rules) is answered as "segment SV1 at position 28, element SV102".

What it decides:
- One claim (2300 loop, CLM) is one bill. Problems in a claim reject that claim only. Problems in a
  transaction set's envelope or hierarchy (ST/SE, HL) reject the claims of that transaction set;
  problems in the interchange or group envelope (ISA/IEA, GS/GE) reject the whole file.
- A composite written with another separator than ISA16 declares (``SV1*HC>98940`` under ``ISA16 = :``)
  is an error naming the segment and element. Parley does not guess separators: a guess that is wrong
  once produces wrong codes silently.
- Values are never copied into messages (they may be patient data); messages say what was expected.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyx12.errors
import pyx12.segment
import pyx12.x12file
import structlog
from pydantic import ValidationError

from services.intake.bills import Submission
from services.intake.schemas import BillIn
from shared.codes import NPI_CHECK_DIGIT, NPI_CHECK_DIGIT_MESSAGE, npi_check_digit_ok
from shared.contracts import ClaimType, LineOfBusiness
from shared.http import validation_errors

log = structlog.get_logger(__name__)

VERSIONS: dict[str, ClaimType] = {
    "005010X222A1": ClaimType.professional,
    "005010X222A2": ClaimType.professional,
    "005010X223A1": ClaimType.institutional,
    "005010X223A2": ClaimType.institutional,
    "005010X223A3": ClaimType.institutional,
}
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
# SBR09 claim filing indicator → line of business; other payers (Medicare, Medicaid…) name none.
LINES_OF_BUSINESS = {
    "WC": LineOfBusiness.workers_compensation,
    "AM": LineOfBusiness.auto,
    **dict.fromkeys(("CI", "BL", "HM", "12", "13", "14", "15"), LineOfBusiness.group_health),
}
PRINCIPAL = {"ABK": "icd10", "BK": "icd9"}
OTHER = {"ABF": "icd10", "BF": "icd9"}
# pyx12 findings that do not make a file unreadable: reported as warnings.
HARMLESS = ("trailing element terminators", "leading space")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_SEPARATOR_CANDIDATES = ":>^|\\<!~*"


@dataclass(frozen=True)
class Location:
    segment: str
    position: int  # within its transaction set, ST = 1 (as a 999 acknowledgment counts)
    element: str | None = None


@dataclass(frozen=True)
class X12Problem:
    location: Location
    message: str
    type: str = "x12"
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment": self.location.segment,
            "position": self.location.position,
            "element": self.location.element,
            "field": self.field,
            "message": self.message,
            "type": self.type,
        }


class X12FileError(Exception):
    """The interchange cannot be read at all; no claim in it is taken."""

    def __init__(self, problems: list[X12Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class ParsedClaim:
    transaction: str
    location: Location  # the CLM segment
    claim_type: ClaimType
    claim_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Location] = field(default_factory=dict)
    problems: list[X12Problem] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)  # fields whose problem is already in ``problems``

    def put(self, path: str, value: Any, where: Location) -> None:
        """Set ``data`` at a dotted/indexed path (``lines[0].charge``) and remember where it came from."""
        self.fields[path] = where
        target: Any = self.data
        parts = _path_parts(path)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            key: Any = int(part[1:-1]) if part.startswith("[") else part
            if last:
                if isinstance(key, int) and key == len(target):
                    target.append(value)
                else:
                    target[key] = value
            elif isinstance(key, int):
                target = target[key]
            else:
                target = target.setdefault(key, [] if parts[i + 1].startswith("[") else {})

    def problem(self, path: str | None, where: Location, message: str, kind: str = "x12") -> None:
        self.problems.append(X12Problem(where, message, kind, path))
        if path is not None:
            self.reported.add(path)

    def locate(self, path: str) -> Location:
        """Where a field came from; for a field the file did not carry, the nearest thing that did."""
        while path:
            if path in self.fields:
                return self.fields[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.location


@dataclass
class Interchange:
    control_number: str
    sender: str
    receiver: str
    claims: list[ParsedClaim]
    warnings: list[X12Problem]


@dataclass
class _Entity:
    """An NM1 loop and the N3/N4/REF/DMG/PRV segments that follow it."""

    code: str
    values: dict[str, tuple[str, Location]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, Location] | None:
        return self.values.get(name)


def read_837(text: str, *, client_id: str, line_of_business: LineOfBusiness | None) -> Interchange:
    """Read every claim of the interchange. Raises :class:`X12FileError` if the file cannot be read."""
    return _Walker(client_id, line_of_business).read(text)


class _Walker:
    def __init__(self, client_id: str, line_of_business: LineOfBusiness | None) -> None:
        self.client_id = client_id
        self.line_of_business = line_of_business
        self.file_problems: list[X12Problem] = []
        self.warnings: list[X12Problem] = []
        self.claims: list[ParsedClaim] = []
        self.sep = ":"
        self.reserved = ""
        self.header: dict[str, str] = {}
        self.current_id = "ISA"
        self._reset_transaction("", ClaimType.professional)

    def _reset_transaction(self, control: str, claim_type: ClaimType) -> None:
        self.transaction = control
        self.claim_type = claim_type
        self.position = 0
        self.tx_claims: list[ParsedClaim] = []
        self.tx_problems: list[X12Problem] = []
        self.billing = _Entity("85")
        self.subscriber = _Entity("IL")
        self.patient: _Entity | None = None
        self.sbr09: tuple[str, Location] | None = None
        self.entity: _Entity | None = None
        self.claim: ParsedClaim | None = None
        self.facility: _Entity | None = None
        self.line: int | None = None
        self.zone = "header"
        self.stay: dict[str, tuple[date, Location]] = {}
        self.patient_status: str | None = None
        self.line_dates: dict[int, bool] = {}

    # --- the interchange -------------------------------------------------------------------------------

    def read(self, text: str) -> Interchange:
        text = text.lstrip("\ufeff \t\r\n")
        self._check_isa(text)
        try:
            reader = pyx12.x12file.X12Reader(io.StringIO(text))
            reader.check_837_lx = True
            self.sep = reader.subele_term or ":"
            self.reserved = "".join(
                c for c in (reader.ele_term, reader.subele_term, reader.seg_term, reader.repetition_term) if c
            )
            self._check_empty_segments(text, reader.seg_term or "~")
            for segment in reader:
                self.current_id = segment.get_seg_id() or ""
                self.position += 1
                if self.current_id == "ST":  # its errors belong to the transaction it starts
                    self._segment(segment)
                    self._reader_errors(reader.pop_errors())
                else:
                    self._reader_errors(reader.pop_errors())
                    self._segment(segment)
            reader.cleanup()
            self._reader_errors(reader.pop_errors())
        except (pyx12.errors.X12Error, pyx12.errors.EngineError, IndexError, ValueError) as exc:
            # The reader gave up part way: nothing in the file can be trusted to be complete.
            log.info("x12.unreadable", error_type=type(exc).__name__)
            self.file_problems.append(
                X12Problem(Location("ISA", 1), "the interchange could not be read as X12", "x12_syntax")
            )
        if self.claim is not None or self.tx_claims:
            self._end_transaction()  # a transaction without its SE: its claims carry that problem
        if self.file_problems:
            raise X12FileError(self.file_problems)
        if not self.claims:
            raise X12FileError(
                [X12Problem(Location("ST", 1), "the interchange holds no claim (CLM)", "empty")]
            )
        return Interchange(
            control_number=self.header.get("control", ""),
            sender=self.header.get("sender", ""),
            receiver=self.header.get("receiver", ""),
            claims=self.claims,
            warnings=self.warnings,
        )

    def _check_isa(self, text: str) -> None:
        where = Location("ISA", 1)
        if not text.startswith("ISA") or len(text) < 106:
            raise X12FileError([X12Problem(where, "an X12 interchange starts with an ISA segment", "no_isa")])
        element, component, terminator = text[3], text[104], text[105]
        isa = text[:106].split(element)
        if len(isa) != 17 or len({element, component, terminator}) != 3 or component.isalnum():
            raise X12FileError(
                [
                    X12Problem(
                        where,
                        "the ISA segment must be 106 characters with 16 fixed-width elements; Parley reads "
                        "the element separator (4th character), the component separator (ISA16) and the "
                        "segment terminator from it",
                        "isa_layout",
                    )
                ]
            )
        if isa[12] != "00501":
            raise X12FileError(
                [X12Problem(Location("ISA", 1, "ISA12"), "only X12 version 00501 (5010) is taken", "version")]
            )
        self.header = {"sender": isa[6].strip(), "receiver": isa[8].strip(), "control": isa[13].strip()}

    def _check_empty_segments(self, text: str, terminator: str) -> None:
        # pyx12 stops reading at an empty segment; say so rather than report a truncated file.
        if re.search(re.escape(terminator) + r"[\r\n ]*" + re.escape(terminator), text):
            raise X12FileError(
                [
                    X12Problem(
                        Location("ISA", 1), "the file contains an empty segment (two terminators)", "empty"
                    )
                ]
            )

    def _reader_errors(self, errors: list[Any]) -> None:
        for kind, _code, message, _value, _line in errors:
            where = Location(self.current_id, self.position)
            problem = X12Problem(where, str(message), "x12_" + str(kind))
            if any(h in str(message) for h in HARMLESS):
                self.warnings.append(problem)
            elif kind in ("isa", "gs"):
                self.file_problems.append(problem)
            elif kind == "seg" and self.claim is not None and self.current_id != "HL":
                self.claim.problems.append(problem)
            else:
                self.tx_problems.append(problem)

    # --- segments ----------------------------------------------------------------------------------------

    def _segment(self, seg: pyx12.segment.Segment) -> None:
        sid = self.current_id
        if sid == "ISA":
            return
        if sid == "GS":
            if self._el(seg, 1) != "HC":
                self.file_problems.append(
                    X12Problem(Location("GS", 0, "GS01"), "only health care claims (GS01 = HC) are taken")
                )
            return
        if sid == "ST":
            self._start_transaction(seg)
            return
        if sid == "SE":
            self._end_transaction()
            return
        if sid in ("GE", "IEA"):
            return
        handler = getattr(self, f"_seg_{sid}", None)
        if handler is not None:
            handler(seg, Location(sid, self.position))

    def _start_transaction(self, seg: pyx12.segment.Segment) -> None:
        version = self._el(seg, 3)
        claim_type = VERSIONS.get(version)
        self._reset_transaction(self._el(seg, 2), claim_type or ClaimType.professional)
        self.position = 1
        if self._el(seg, 1) != "837" or claim_type is None:
            self.file_problems.append(
                X12Problem(
                    Location("ST", 1, "ST03"),
                    "only 837 claims in 5010 (005010X222A1/A2 professional, 005010X223A1-A3 institutional)"
                    " are taken",
                    "version",
                )
            )

    def _end_transaction(self) -> None:
        if self.claim is not None:
            self._close_claim()
        for claim in self.tx_claims:
            claim.problems.extend(self.tx_problems)
        self.tx_claims = []
        self.zone = "header"

    def _seg_HL(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        level = self._el(seg, 3)
        if level == "20":
            self.billing = _Entity("85")
            self.zone = "billing"
        elif level == "22":
            self.subscriber = _Entity("IL")
            self.patient = None
            self.sbr09 = None
            self.zone = "subscriber"
        elif level == "23":
            self.patient = _Entity("QC")
            self.zone = "patient"
        self.entity = None

    def _seg_PRV(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "billing" and self._el(seg, 1) == "BI":
            self.billing.values["taxonomy"] = (self._el(seg, 3), _at(where, 3))

    def _seg_SBR(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "subscriber":
            self.sbr09 = (self._el(seg, 9), _at(where, 9))
        elif self.claim is not None:
            self.zone = "other_payer"  # 2320/2330: other payers' data, not this claim's

    def _seg_NM1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        code = self._el(seg, 1)
        entity = _Entity(code)
        entity.values["kind"] = (self._el(seg, 2), _at(where, 2))
        entity.values["last"] = (self._el(seg, 3), _at(where, 3))
        entity.values["first"] = (self._el(seg, 4), _at(where, 4))
        entity.values["id_qualifier"] = (self._el(seg, 8), _at(where, 8))
        entity.values["id"] = (self._el(seg, 9), _at(where, 9))
        self.entity = None
        if self.zone == "billing" and code == "85":
            self.billing.values.update(entity.values)
            self.entity = self.billing
        elif self.zone == "subscriber" and code == "IL":
            self.subscriber.values.update(entity.values)
            self.entity = self.subscriber
        elif self.zone == "patient" and code == "QC" and self.patient is not None:
            self.patient.values.update(entity.values)
            self.entity = self.patient
        elif self.zone == "claim" and code == "77":
            self.facility = entity
            self.entity = entity
        elif self.zone == "line":
            self.zone = "line_other"  # 2420 line-level providers

    def _seg_N3(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.entity is not None:
            self.entity.values["line1"] = (self._el(seg, 1), _at(where, 1))
            if self._el(seg, 2):
                self.entity.values["line2"] = (self._el(seg, 2), _at(where, 2))

    def _seg_N4(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.entity is not None:
            for name, i in (("city", 1), ("state", 2), ("zip", 3)):
                self.entity.values[name] = (self._el(seg, i), _at(where, i))

    def _seg_REF(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.entity is self.billing and self._el(seg, 1) in ("EI", "SY"):
            self.billing.values["tin"] = (self._el(seg, 2), _at(where, 2))

    def _seg_DMG(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.entity is not None and self.entity in (self.subscriber, self.patient):
            self.entity.values["birth_date"] = (self._el(seg, 2), _at(where, 2))

    def _seg_CLM(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        claim = ParsedClaim(self.transaction, where, self.claim_type, self._el(seg, 1) or None)
        self.claim = claim
        self.zone = "claim"
        self.entity = None
        self.facility = None
        self.line = None
        self.stay = {}
        self.patient_status = None
        self.line_dates = {}
        claim.put("partner_claim_id", self._el(seg, 1), _at(where, 1))
        claim.put("client_id", self.client_id, where)
        claim.put("claim_type", self.claim_type.value, where)
        claim.put("lines", [], where)
        self._amount(claim, "total_charge", seg, 2, where)
        composite = "type_of_bill" if self.claim_type is ClaimType.institutional else "place_of_service"
        parts = self._composite(claim, composite, seg, 5, where)
        if composite in claim.reported:
            return
        padded = [*parts, "", "", ""]
        facility_code, frequency = padded[0], padded[2]
        if frequency not in FREQUENCIES:
            claim.problem(
                "frequency",
                Location("CLM", where.position, "CLM05-3"),
                "claim frequency must be 1 (original), 7 (replacement) or 8 (void)",
                "frequency",
            )
        else:
            claim.put("frequency", FREQUENCIES[frequency], Location("CLM", where.position, "CLM05-3"))
        if self.claim_type is ClaimType.institutional:
            claim.put(
                "type_of_bill", "0" + facility_code + frequency, Location("CLM", where.position, "CLM05-1")
            )
        elif facility_code:
            claim.put("place_of_service", facility_code, Location("CLM", where.position, "CLM05-1"))

    def _seg_DTP(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim = self.claim
        if claim is None or self.zone in ("other_payer", "line_other"):
            return
        qualifier = self._el(seg, 1)
        if self.zone == "line" and qualifier == "472" and self.line is not None:
            start = self._date(claim, f"lines[{self.line}].service_date", seg, where)
            if start is not None:
                claim.put(f"lines[{self.line}].service_date", start.isoformat(), _at(where, 3))
            self.line_dates[self.line] = True
        elif self.zone == "claim" and qualifier in ("435", "434"):
            name = "admission_date" if qualifier == "435" else "statement"
            start = self._date(claim, name, seg, where)
            if start is not None:
                self.stay[name] = (start, _at(where, 3))
                end = self._date(claim, name, seg, where, end=True)
                if name == "statement" and end is not None:
                    self.stay["statement_to"] = (end, _at(where, 3))

    def _seg_CL1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "claim":
            self.patient_status = self._el(seg, 3)

    def _seg_HI(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim = self.claim
        if claim is None or self.zone != "claim":
            return
        codes: list[str] = claim.data.setdefault("diagnoses", [])
        for i in range(1, len(seg.elements) + 1):
            parts = self._composite(claim, "diagnoses", seg, i, where)
            if len(parts) < 2:
                continue
            qualifier, code = parts[0], parts[1]
            code_set = PRINCIPAL.get(qualifier) or OTHER.get(qualifier)
            if code_set is None:
                continue  # admitting, reason for visit, occurrence, value, condition codes: not needed
            known = claim.data.get("diagnosis_code_set")
            if known is not None and known != code_set:
                claim.problem(
                    "diagnosis_code_set",
                    Location("HI", where.position, f"HI{i:02d}-1"),
                    "a claim's diagnoses are all ICD-10-CM (ABK/ABF) or all ICD-9-CM (BK/BF), not both",
                    "code_set_mixed",
                )
                continue
            claim.put("diagnosis_code_set", code_set, Location("HI", where.position, f"HI{i:02d}-1"))
            claim.put(f"diagnoses[{len(codes)}]", code, Location("HI", where.position, f"HI{i:02d}-2"))

    def _seg_LX(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim = self.claim
        if claim is None:
            return
        self.zone = "line"
        index = len(claim.data["lines"])
        self.line = index
        claim.put(f"lines[{index}]", {}, where)
        number = self._el(seg, 1)
        if number.isdigit():
            claim.put(f"lines[{index}].line_number", int(number), _at(where, 1))

    def _seg_SV1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim, i = self.claim, self.line
        if claim is None or i is None or self.zone != "line":
            return
        self._procedure(claim, i, seg, 1, where)
        self._amount(claim, f"lines[{i}].charge", seg, 2, where)
        self._amount(claim, f"lines[{i}].units", seg, 4, where)
        if self._el(seg, 5):
            claim.put(f"lines[{i}].place_of_service", self._el(seg, 5), _at(where, 5))
        pointers = [p for p in self._composite(claim, f"lines[{i}].diagnosis_pointers", seg, 7, where) if p]
        if pointers:
            if all(p.isdigit() for p in pointers):
                claim.put(f"lines[{i}].diagnosis_pointers", [int(p) for p in pointers], _at(where, 7))
            else:
                claim.problem(
                    f"lines[{i}].diagnosis_pointers", _at(where, 7), "diagnosis pointers are numbers 1-12"
                )

    def _seg_SV2(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim, i = self.claim, self.line
        if claim is None or i is None or self.zone != "line":
            return
        claim.put(f"lines[{i}].revenue_code", self._el(seg, 1), _at(where, 1))
        if self._el(seg, 2):
            self._procedure(claim, i, seg, 2, where)
        self._amount(claim, f"lines[{i}].charge", seg, 3, where)
        self._amount(claim, f"lines[{i}].units", seg, 5, where)

    def _seg_LIN(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None and self.line is not None and self._el(seg, 2) == "N4":
            self.claim.put(f"lines[{self.line}].ndc", self._el(seg, 3), _at(where, 3))

    # --- closing a claim -------------------------------------------------------------------------------

    def _close_claim(self) -> None:
        claim = self.claim
        assert claim is not None
        self.claim = None
        self.line = None
        self._provider(claim)
        self._facility(claim)
        self._patient(claim)
        self._stay(claim)
        if self.line_of_business is not None:
            claim.put("line_of_business", self.line_of_business.value, claim.location)
        elif self.sbr09 is not None and self.sbr09[0] in LINES_OF_BUSINESS:
            claim.put("line_of_business", LINES_OF_BUSINESS[self.sbr09[0]].value, self.sbr09[1])
        if not claim.data["lines"]:
            claim.problem("lines", claim.location, "the claim has no service line (LX)", "no_lines")
        self.claims.append(claim)
        self.tx_claims.append(claim)

    def _provider(self, claim: ParsedClaim) -> None:
        values = self.billing.values
        for path, name in (
            ("provider.npi", "id"),
            ("provider.tin", "tin"),
            ("provider.taxonomy", "taxonomy"),
        ):
            if name in values and values[name][0]:
                claim.put(path, *values[name])
        if "id" not in values:
            claim.problem("provider", claim.location, "no billing provider (2010AA NM1*85)", "missing")
        provider_name = _name(self.billing)
        if provider_name:
            claim.put("provider.name", provider_name, values["last"][1])
        self._address(claim, "provider.address", self.billing)

    def _facility(self, claim: ParsedClaim) -> None:
        source = self.facility if self.facility is not None and "state" in self.facility.values else None
        entity = source or self.billing
        for name in ("state", "zip"):
            if name in entity.values:
                claim.put(f"facility.{name}", *entity.values[name])
        if source is not None or claim.claim_type is ClaimType.institutional:
            npi = entity.get("id")
            if npi and npi[0] and entity.values.get("id_qualifier", ("", None))[0] == "XX":
                claim.put("facility.npi", *npi)
            facility_name = _name(entity)
            if facility_name:
                claim.put("facility.name", facility_name, entity.values["last"][1])
        self._address(claim, "facility.address", entity)

    def _address(self, claim: ParsedClaim, path: str, entity: _Entity) -> None:
        if all(k in entity.values for k in ("line1", "city", "state", "zip")):
            for part in ("line1", "line2", "city", "state", "zip"):
                if part in entity.values:
                    claim.put(f"{path}.{part}", *entity.values[part])

    def _patient(self, claim: ParsedClaim) -> None:
        person = (
            self.patient if self.patient is not None and "last" in self.patient.values else self.subscriber
        )
        if "last" not in person.values:
            return
        for path, name in (("last_name", "last"), ("first_name", "first")):
            if person.values[name][0]:
                claim.put(f"patient.{path}", *person.values[name])
        member = self.subscriber.get("id")
        if member and member[0]:
            claim.put("patient.member_id", *member)
        born = person.get("birth_date")
        if born:
            parsed = _parse_date(born[0])
            if parsed is None:
                claim.problem("patient.birth_date", born[1], "a date is CCYYMMDD", "date")
            else:
                claim.put("patient.birth_date", parsed.isoformat(), born[1])

    def _stay(self, claim: ParsedClaim) -> None:
        statement = self.stay.get("statement")
        if "admission_date" in self.stay:
            admitted, where = self.stay["admission_date"]
            claim.put("admission_date", admitted.isoformat(), where)
            if "statement_to" in self.stay and self.patient_status != "30":  # 30: still a patient
                claim.put(
                    "discharge_date", self.stay["statement_to"][0].isoformat(), self.stay["statement_to"][1]
                )
        for i in range(len(claim.data["lines"])):
            if self.line_dates.get(i):
                continue
            if claim.claim_type is ClaimType.institutional and statement is not None:
                # 837I lines may omit DTP*472; the statement period's first day stands in.
                claim.put(f"lines[{i}].service_date", statement[0].isoformat(), statement[1])
            else:
                claim.problem(
                    f"lines[{i}].service_date",
                    claim.locate(f"lines[{i}]"),
                    "the service line has no date of service (DTP*472)",
                    "missing",
                )

    # --- elements --------------------------------------------------------------------------------------

    def _el(self, seg: pyx12.segment.Segment, i: int) -> str:
        """Element ``i`` (1-based) as written, composites included; '' when absent."""
        if i > len(seg.elements):
            return ""
        return seg.elements[i - 1].format(self.sep)

    def _composite(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, i: int, where: Location
    ) -> list[str]:
        if i > len(seg.elements):
            return []
        parts = [e.value for e in seg.elements[i - 1].elements]
        if len(parts) == 1:
            for alt in _SEPARATOR_CANDIDATES:
                if alt in self.reserved or alt not in parts[0]:
                    continue
                pieces = parts[0].split(alt)
                if len(pieces) > 1 and re.fullmatch(r"[A-Z0-9]{1,3}", pieces[0]):
                    claim.problem(
                        path,
                        _at(where, i),
                        f"this composite is written with '{alt}' but the interchange declares '{self.sep}' "
                        f"(ISA16) as its component separator; Parley will not guess which one is meant",
                        "component_separator",
                    )
                    return []
        return parts

    def _procedure(
        self, claim: ParsedClaim, i: int, seg: pyx12.segment.Segment, element: int, where: Location
    ) -> None:
        parts = self._composite(claim, f"lines[{i}].procedure_code", seg, element, where)
        if not parts:
            return
        ref = f"{seg.get_seg_id()}{element:02d}"
        if parts[0] != "HC":
            claim.problem(
                f"lines[{i}].procedure_code",
                Location(where.segment, where.position, f"{ref}-1"),
                "only HC (CPT/HCPCS) procedure codes are taken",
                "qualifier",
            )
            return
        if len(parts) > 1:
            claim.put(
                f"lines[{i}].procedure_code", parts[1], Location(where.segment, where.position, f"{ref}-2")
            )
        modifiers = [m for m in parts[2:6] if m]
        if modifiers:
            claim.put(f"lines[{i}].modifiers", modifiers, Location(where.segment, where.position, f"{ref}-3"))
        for k in range(len(modifiers)):
            claim.fields[f"lines[{i}].modifiers[{k}]"] = Location(
                where.segment, where.position, f"{ref}-{k + 3}"
            )

    def _amount(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, i: int, where: Location
    ) -> None:
        value = self._el(seg, i)
        if not _NUMBER.fullmatch(value):
            claim.problem(path, _at(where, i), "a decimal number is expected (X12 type R)", "number")
            return
        claim.put(path, value, _at(where, i))

    def _date(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, where: Location, *, end: bool = False
    ) -> date | None:
        form, value = self._el(seg, 2), self._el(seg, 3)
        if form == "RD8" and value.count("-") == 1:
            value = value.split("-")[1 if end else 0]
        elif form == "DT":
            value = value[:8]
        elif form != "D8":
            claim.problem(path, _at(where, 2), "a date is given as D8, RD8 or DT", "date_format")
            return None
        parsed = _parse_date(value)
        if parsed is None:
            claim.problem(path, _at(where, 3), "a date is CCYYMMDD", "date")
        return parsed


@functools.lru_cache(maxsize=4096)
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[^.\[\]]+|\[\d+\]", path))


def _at(where: Location, i: int) -> Location:
    return Location(where.segment, where.position, f"{where.segment}{i:02d}")


def _name(entity: _Entity) -> str | None:
    last = entity.values.get("last", ("", None))[0]
    first = entity.values.get("first", ("", None))[0]
    if not last:
        return None
    return f"{last}, {first}" if first and entity.values.get("kind", ("", None))[0] == "1" else last


def _parse_date(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit() or not value.isascii():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def located(claim: ParsedClaim, errors: list[dict[str, Any]]) -> list[X12Problem]:
    """Errors named by field (bill model, claim rules, receiving) placed on the claim's segments."""
    placed: dict[tuple[Location, str], X12Problem] = {}
    for e in errors:
        if any(e["field"] == r or e["field"].startswith((r + ".", r + "[")) for r in claim.reported):
            continue  # already said, where the file was read
        where = claim.locate(e["field"])
        # One value can feed two fields (an 837I's billing NPI is also its facility's): say it once.
        placed.setdefault(
            (where, e["message"]), X12Problem(where, e["message"], e.get("type", "value_error"), e["field"])
        )
    return list(placed.values())


def submission_of(index: int, claim: ParsedClaim) -> Submission:
    """The claim as a bill to receive, or every problem found in it, each placed on its segment.

    An NPI whose check digit is wrong does not stop an 837 claim: the file is the provider's claim as
    billed, relayed by a partner who cannot correct the provider's NPI, and refusing it would drop the
    bill out of cost containment. The claim is kept and the NPI named in its warnings, by segment. (A
    JSON bill, which the partner's own system assembles, is refused instead.)
    """
    errors = [p.as_dict() for p in claim.problems]
    try:
        bill = BillIn.model_validate(claim.data, context={NPI_CHECK_DIGIT: "warn"})
    except ValidationError as exc:
        errors += [p.as_dict() for p in located(claim, validation_errors(exc.errors()))]
        return Submission(index, None, errors, claim.claim_id)
    if errors:
        return Submission(index, None, errors, claim.claim_id)
    unchecked = [
        {"field": path, "message": f"{NPI_CHECK_DIGIT_MESSAGE}: kept as sent", "type": "npi_check_digit"}
        for path, npi in (("provider.npi", bill.provider.npi), ("facility.npi", bill.facility.npi))
        if npi is not None and not npi_check_digit_ok(npi)
    ]
    warnings = [p.as_dict() for p in located(claim, unchecked)]
    return Submission(index, bill, [], claim.claim_id, warnings)

"""Reading an X12 5010 837 interchange (837P professional, 837I institutional) into claims.

pyx12's reader does the X12 syntax: it takes the delimiters from the ISA segment (element separator,
ISA11 repetition, ISA16 component separator, segment terminator), splits segments, elements and
composites, and checks the envelope; :mod:`services.intake.x12_syntax` says what each of its findings
refuses or only warns about. This module walks the 837 loops and picks out what Parley needs,
remembering for every claim field the segment and element it came from, so that any problem found later
(here, by the bill model, or by the claim rules) is answered as "segment SV1 at position 28, element
SV102". The HL tree is followed by its parent references (:mod:`services.intake.x12_hierarchy`), and
the loops read become the claim's fields in :mod:`services.intake.x12_fields`.

What it decides:
- One claim (2300 loop, CLM) is one bill. Problems in a claim reject that claim only. A transaction set
  whose own integrity check fails (ST/SE) rejects its claims; an interchange that cannot be split is
  refused whole.
- A composite written with another separator than ISA16 declares (``SV1*HC>98940`` under ``ISA16 = :``)
  is an error naming the segment and element, unless an operator recorded that this partner writes
  composites with that character (``parley intake partners set``): then it is read so, with a warning
  on the claim. Parley never guesses separators: a guess that is wrong once produces wrong codes
  silently.
- Values are never copied into messages (they may be patient data); messages say what was expected.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyx12.errors
import pyx12.segment
import pyx12.x12file
import structlog

from services.intake.x12_claims import ParsedClaim
from services.intake.x12_fields import close_claim, parse_date
from services.intake.x12_hierarchy import Entity, Hierarchy, Level
from services.intake.x12_syntax import (
    Location,
    X12FileError,
    X12Problem,
    check_empty_segments,
    classify,
    isa_delimiters,
)
from shared.contracts import ClaimType, LineOfBusiness, UnitOfMeasure

log = structlog.get_logger(__name__)

VERSIONS: dict[str, ClaimType] = {
    "005010X222A1": ClaimType.professional,
    "005010X222A2": ClaimType.professional,
    "005010X223A1": ClaimType.institutional,
    "005010X223A2": ClaimType.institutional,
    "005010X223A3": ClaimType.institutional,
}
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
PRINCIPAL = {"ABK": "icd10", "BK": "icd9"}
OTHER = {"ABF": "icd10", "BF": "icd9"}
# SV103 (837P) and SV204 (837I): unit or basis for measurement. DA (days, an accommodation line) counts
# units: a day is that line's unit.
UNITS_OF_MEASURE = {
    "SV1": {"UN": UnitOfMeasure.units, "MJ": UnitOfMeasure.minutes},
    "SV2": {"UN": UnitOfMeasure.units, "DA": UnitOfMeasure.units, "MJ": UnitOfMeasure.minutes},
}
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_SEPARATOR_CANDIDATES = ":>^|\\<!~*"


@dataclass
class Interchange:
    control_number: str
    sender: str
    receiver: str
    claims: list[ParsedClaim]
    warnings: list[X12Problem]


def read_837(
    text: str,
    *,
    client_id: str,
    line_of_business: LineOfBusiness | None,
    composite_separator: str | None = None,
) -> Interchange:
    """Read every claim of the interchange. Raises :class:`X12FileError` if the file cannot be read.

    ``composite_separator``: the partner's recorded setting (a character it writes between components
    although ISA16 declares another); None refuses such composites.
    """
    return _Walker(client_id, line_of_business, composite_separator).read(text)


class _Walker:
    def __init__(
        self, client_id: str, line_of_business: LineOfBusiness | None, composite_separator: str | None
    ) -> None:
        self.client_id = client_id
        self.line_of_business = line_of_business
        self.partner_separator = composite_separator
        self.file_problems: list[X12Problem] = []
        self.warnings: list[X12Problem] = []
        self.claims: list[ParsedClaim] = []
        self.sep = ":"
        self.reserved = ""
        self.repetition = ""
        self.header: dict[str, str] = {}
        self.current_id = "ISA"
        self.set_open = False
        self._reset_transaction("", ClaimType.professional)

    def _reset_transaction(self, control: str, claim_type: ClaimType) -> None:
        self.transaction = control
        self.claim_type = claim_type
        self.position = 0
        self.tx_claims: list[ParsedClaim] = []
        self.tx_problems: list[X12Problem] = []
        self.hierarchy = Hierarchy()
        self.level: Level | None = None
        self.entity: Entity | None = None
        self.claim: ParsedClaim | None = None
        self.facility: Entity | None = None
        self.line: int | None = None
        self.zone = "header"
        self.stay: dict[str, tuple[date, Location]] = {}
        self.line_dates: dict[int, bool] = {}
        self.separator_uses: list[Location] = []

    # --- the interchange -------------------------------------------------------------------------------

    def read(self, text: str) -> Interchange:
        stripped = text.lstrip("\ufeff \t\r\n")
        _, component, terminator, isa = isa_delimiters(stripped)
        self.header = {"sender": isa[6].strip(), "receiver": isa[8].strip(), "control": isa[13].strip()}
        check_empty_segments(stripped, terminator, len(text[: len(text) - len(stripped)].encode("utf-8")))
        try:
            reader = pyx12.x12file.X12Reader(io.StringIO(stripped))
            reader.check_837_lx = True
            self.sep = reader.subele_term or component
            self.repetition = reader.repetition_term or ""
            self.reserved = "".join(
                c for c in (reader.ele_term, reader.subele_term, reader.seg_term, reader.repetition_term) if c
            )
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
        if self.set_open:
            self._missing_se()
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

    def _reader_errors(self, errors: list[Any]) -> None:
        for kind, code, message, _value, _line in errors:
            check = classify(str(kind), str(code), str(message))
            problem = X12Problem(
                Location(self.current_id, self.position, check.element), check.message, check.type
            )
            if check.action == "own":
                continue
            if check.action == "warn":
                self.warnings.append(problem)
            elif check.action == "line" and self.claim is not None:
                self.claim.warnings.append(problem)
            elif check.action == "file":
                self.file_problems.append(problem)
            elif check.action == "claim" and self.claim is not None:
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
            if self.set_open:
                self._missing_se()
            return
        handler = getattr(self, f"_seg_{sid}", None)
        if handler is not None:
            handler(seg, Location(sid, self.position))

    def _start_transaction(self, seg: pyx12.segment.Segment) -> None:
        if self.set_open:
            self._missing_se()
        version = self._el(seg, 3)
        claim_type = VERSIONS.get(version)
        self._reset_transaction(self._el(seg, 2), claim_type or ClaimType.professional)
        self.set_open = True
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

    def _missing_se(self) -> None:
        self.tx_problems.append(
            X12Problem(
                Location("ST", 1),
                "this transaction set has no SE trailer, so its claims may be cut short",
                "missing_se",
            )
        )
        self._end_transaction()

    def _end_transaction(self) -> None:
        if self.claim is not None:
            self._close_claim()
        for claim in self.tx_claims:
            claim.problems.extend(self.tx_problems)
            claim.warnings.extend(self.hierarchy.warnings)
        self.tx_claims = []
        self.zone = "header"
        self.set_open = False

    def _seg_HL(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        self.level = self.hierarchy.add(self._el(seg, 1), self._el(seg, 2), self._el(seg, 3), where.position)
        self.zone = {"20": "billing", "22": "subscriber", "23": "patient"}.get(self.level.code, "unknown")
        self.entity = None

    def _seg_PRV(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "billing" and self.level is not None and self._el(seg, 1) == "BI":
            self.level.billing.values["taxonomy"] = (self._el(seg, 3), _at(where, 3))

    def _seg_SBR(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "subscriber" and self.level is not None and self.level.subscriber is not None:
            self.level.subscriber.values["sbr09"] = (self._el(seg, 9), _at(where, 9))
        elif self.claim is not None:
            self.zone = "other_payer"  # 2320/2330: other payers' data, not this claim's

    def _seg_NM1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        code = self._el(seg, 1)
        values = {
            "kind": (self._el(seg, 2), _at(where, 2)),
            "last": (self._el(seg, 3), _at(where, 3)),
            "first": (self._el(seg, 4), _at(where, 4)),
            "id_qualifier": (self._el(seg, 8), _at(where, 8)),
            "id": (self._el(seg, 9), _at(where, 9)),
        }
        level = self.level
        owner = {
            "billing": ("85", "billing"),
            "subscriber": ("IL", "subscriber"),
            "patient": ("QC", "patient"),
        }
        self.entity = None
        if self.zone in owner and level is not None and code == owner[self.zone][0]:
            entity: Entity | None = getattr(level, owner[self.zone][1])
            if entity is not None:
                entity.values.update(values)
                self.entity = entity
        elif self.zone == "claim" and code == "77":
            self.facility = Entity(code, dict(values))
            self.entity = self.facility
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
        level, qualifier = self.level, self._el(seg, 1)
        if level is not None and self.entity is level.billing and qualifier in ("EI", "SY"):
            level.billing.values["tin"] = (self._el(seg, 2), _at(where, 2))
        elif self.claim is not None and self.zone == "claim" and self.entity is None and qualifier == "F8":
            # 2300 REF*F8: the payer's claim control number of the claim a replacement or void changes.
            self.claim.put("payer_claim_control_number", self._el(seg, 2), _at(where, 2))

    def _seg_DMG(self, seg: pyx12.segment.Segment, where: Location) -> None:
        level = self.level
        if self.entity is not None and level is not None and self.entity in (level.subscriber, level.patient):
            self.entity.values["birth_date"] = (self._el(seg, 2), _at(where, 2))

    def _seg_CLM(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        claim_id = self._el(seg, 1).strip()
        claim = ParsedClaim(self.transaction, where, self.claim_type, claim_id or None)
        self.claim = claim
        self.zone = "claim"
        self.entity = None
        self.facility = None
        self.line = None
        self.stay = {}
        self.line_dates = {}
        self.separator_uses = []
        level = self.level
        if level is None or level.code not in ("22", "23"):
            claim.problem(
                None,
                where,
                "a claim (CLM) belongs under a subscriber (HL 22) or patient (HL 23) level",
                "hierarchy",
            )
            claim.placed = False
        elif level.problems:
            claim.problems.extend(level.problems)
            claim.placed = False
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
        if self.zone == "claim" and self.claim is not None and self._el(seg, 3):
            self.claim.put("discharge_status", self._el(seg, 3), _at(where, 3))

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
            if qualifier == "DR":  # 837I 2300 HI: the diagnosis related group the hospital billed
                if "drg" in claim.data:
                    claim.problem(
                        "drg", Location("HI", where.position, f"HI{i:02d}-1"), "a claim has one MS-DRG", "drg"
                    )
                else:
                    claim.put("drg", code, Location("HI", where.position, f"HI{i:02d}-2"))
                continue
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
        self._unit_of_measure(claim, i, seg, 3, where)
        self._amount(claim, f"lines[{i}].units", seg, 4, where)
        if self._el(seg, 5):
            claim.put(f"lines[{i}].place_of_service", self._el(seg, 5), _at(where, 5))
        pointers = [p for p in self._composite(claim, f"lines[{i}].diagnosis_pointers", seg, 7, where) if p]
        if pointers and all(p.isdigit() for p in pointers):
            claim.put(f"lines[{i}].diagnosis_pointers", [int(p) for p in pointers], _at(where, 7))
        elif pointers:  # e.g. "1.00": not a pointer, and not worth a refused claim
            claim.warn(
                f"lines[{i}].diagnosis_pointers",
                _at(where, 7),
                "diagnosis pointers are whole numbers 1-12; this line's pointers were left out: Parley does "
                "not need them to price or negotiate the bill",
                "diagnosis_pointer",
            )

    def _seg_SV2(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim, i = self.claim, self.line
        if claim is None or i is None or self.zone != "line":
            return
        claim.put(f"lines[{i}].revenue_code", self._el(seg, 1), _at(where, 1))
        if self._el(seg, 2):
            self._procedure(claim, i, seg, 2, where)
        self._amount(claim, f"lines[{i}].charge", seg, 3, where)
        self._unit_of_measure(claim, i, seg, 4, where)
        self._amount(claim, f"lines[{i}].units", seg, 5, where)

    def _seg_LIN(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None and self.line is not None and self._el(seg, 2) == "N4":
            self.claim.put(f"lines[{self.line}].ndc", self._el(seg, 3), _at(where, 3))

    def _close_claim(self) -> None:
        claim = self.claim
        assert claim is not None
        self.claim = None
        self.line = None
        if self.separator_uses:
            first = self.separator_uses[0]
            claim.warn(
                None,
                first,
                f"{len(self.separator_uses)} composite(s) of this claim, from {first.element} on, are "
                f"written with '{self.partner_separator}' while ISA16 declares '{self.sep}'; they were read "
                f"with '{self.partner_separator}' as this partner's setting says",
                "component_separator_setting",
            )
        close_claim(claim, self.level, self.facility, self.stay, self.line_dates, self.line_of_business)
        self.claims.append(claim)
        self.tx_claims.append(claim)

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
                if (alt in self.reserved and alt != self.repetition) or alt not in parts[0]:
                    continue
                pieces = parts[0].split(alt)
                if len(pieces) > 1 and re.fullmatch(r"[A-Z0-9]{1,3}", pieces[0]):
                    if alt == self.partner_separator and alt != self.repetition:
                        self.separator_uses.append(_at(where, i))
                        return pieces
                    declared = (
                        " (and '{alt}' is its repetition separator, ISA11)" if alt == self.repetition else ""
                    )
                    claim.problem(
                        path,
                        _at(where, i),
                        f"this composite is written with '{alt}' but the interchange declares '{self.sep}' "
                        f"(ISA16) as its component separator{declared.format(alt=alt)}; Parley will not "
                        "guess which one is meant",
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

    def _unit_of_measure(
        self, claim: ParsedClaim, i: int, seg: pyx12.segment.Segment, element: int, where: Location
    ) -> None:
        code, path, segment = self._el(seg, element), f"lines[{i}].unit_of_measure", seg.get_seg_id()
        known = UNITS_OF_MEASURE[segment]
        if code in known:
            if known[code] is not UnitOfMeasure.units:  # units is the default: most lines need no entry
                claim.put(path, known[code].value, _at(where, element))
        elif not code:  # required by the guide; the units are counted as units, as before it was read
            claim.warn(
                path,
                _at(where, element),
                "the unit of measure is missing; the line's units were read as units (UN), not minutes",
                "unit_of_measure_missing",
            )
        else:
            claim.problem(
                path,
                _at(where, element),
                "the unit of measure is "
                + ("UN (units) or MJ (minutes)" if segment == "SV1" else "UN (units) or DA (days)"),
                "unit_of_measure",
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
        parsed = parse_date(value)
        if parsed is None:
            claim.problem(path, _at(where, 3), "a date is CCYYMMDD", "date")
        return parsed


def _at(where: Location, i: int) -> Location:
    return Location(where.segment, where.position, f"{where.segment}{i:02d}")

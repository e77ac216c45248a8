"""The 837 loops of one transaction set: each segment read into the claim it belongs to.

The interchange (:mod:`services.intake.x12`) hands every segment between ST and SE, other than the
envelope's own, to the transaction set it is in. What a segment means depends on the loop it is read in
(``zone``): the billing provider, subscriber or patient HL (2000A/B/C) and their NM1 loops, the claim
(2300), a service line (2400), or loops Parley does not read (other payers, 2320/2330; line-level
providers, 2420). A claim ends at the next CLM or HL, or at the SE; its provider, facility, patient and
stay are then filled in from its HL level (:func:`services.intake.x12_fields.close_claim`).
"""

from __future__ import annotations

from datetime import date

import pyx12.segment

from services.intake.x12_claims import ParsedClaim
from services.intake.x12_elements import Elements, at
from services.intake.x12_fields import close_claim
from services.intake.x12_hierarchy import Entity, Hierarchy, Level
from services.intake.x12_syntax import Location, X12Problem
from shared.contracts import ClaimType, LineOfBusiness

FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
PRINCIPAL = {"ABK": "icd10", "BK": "icd9"}
OTHER = {"ABF": "icd10", "BF": "icd9"}


class TransactionSet:
    """One 837 transaction set (ST to SE) as it is read: its HL tree, the claim and line being read.

    ``problems`` are the set's own (from the envelope): every claim of the set gets them when it ends.
    Each claim is added to ``interchange_claims`` (the file's, in file order) as it closes.
    """

    def __init__(
        self,
        control: str,
        claim_type: ClaimType,
        *,
        client_id: str,
        line_of_business: LineOfBusiness | None,
        elements: Elements,
        interchange_claims: list[ParsedClaim],
    ) -> None:
        self.control = control  # ST02
        self.claim_type = claim_type
        self.client_id = client_id
        self.line_of_business = line_of_business
        self.elements = elements
        self.interchange_claims = interchange_claims
        self.claims: list[ParsedClaim] = []
        self.problems: list[X12Problem] = []
        self.hierarchy = Hierarchy()
        self.level: Level | None = None
        self.entity: Entity | None = None
        self.claim: ParsedClaim | None = None
        self.facility: Entity | None = None
        self.line: int | None = None
        self.zone = "header"
        self.stay: dict[str, tuple[date, Location]] = {}
        self.line_dates: dict[int, bool] = {}

    def segment(self, seg: pyx12.segment.Segment, where: Location) -> None:
        """Read one segment of the set's loops; segments Parley does not need are passed over."""
        handler = getattr(self, f"_seg_{where.segment}", None)
        if handler is not None:
            handler(seg, where)

    def end(self) -> None:
        """The SE (or what stands for a missing one): close the claim and give the set's findings to its
        claims."""
        if self.claim is not None:
            self._close_claim()
        for claim in self.claims:
            claim.problems.extend(self.problems)
            claim.warnings.extend(self.hierarchy.warnings)
        self.claims = []
        self.zone = "header"

    def _close_claim(self) -> None:
        """The claim being read ends: fill in its fields from its loops and keep it."""
        claim = self.claim
        assert claim is not None
        self.claim = None
        self.line = None
        self.elements.warn_separator_uses(claim)
        close_claim(claim, self.level, self.facility, self.stay, self.line_dates, self.line_of_business)
        self.interchange_claims.append(claim)
        self.claims.append(claim)

    def _seg_HL(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        self.level = self.hierarchy.add(
            self.elements.text(seg, 1), self.elements.text(seg, 2), self.elements.text(seg, 3), where.position
        )
        self.zone = {"20": "billing", "22": "subscriber", "23": "patient"}.get(self.level.code, "unknown")
        self.entity = None

    def _seg_PRV(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "billing" and self.level is not None and self.elements.text(seg, 1) == "BI":
            self.level.billing.values["taxonomy"] = (self.elements.text(seg, 3), at(where, 3))

    def _seg_SBR(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "subscriber" and self.level is not None and self.level.subscriber is not None:
            self.level.subscriber.values["sbr09"] = (self.elements.text(seg, 9), at(where, 9))
        elif self.claim is not None:
            self.zone = "other_payer"  # 2320/2330: other payers' data, not this claim's

    def _seg_NM1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        code = self.elements.text(seg, 1)
        values = {
            "kind": (self.elements.text(seg, 2), at(where, 2)),
            "last": (self.elements.text(seg, 3), at(where, 3)),
            "first": (self.elements.text(seg, 4), at(where, 4)),
            "id_qualifier": (self.elements.text(seg, 8), at(where, 8)),
            "id": (self.elements.text(seg, 9), at(where, 9)),
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
            self.entity.values["line1"] = (self.elements.text(seg, 1), at(where, 1))
            if self.elements.text(seg, 2):
                self.entity.values["line2"] = (self.elements.text(seg, 2), at(where, 2))

    def _seg_N4(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.entity is not None:
            for name, i in (("city", 1), ("state", 2), ("zip", 3)):
                self.entity.values[name] = (self.elements.text(seg, i), at(where, i))

    def _seg_REF(self, seg: pyx12.segment.Segment, where: Location) -> None:
        level, qualifier = self.level, self.elements.text(seg, 1)
        if level is not None and self.entity is level.billing and qualifier in ("EI", "SY"):
            level.billing.values["tin"] = (self.elements.text(seg, 2), at(where, 2))
        elif self.claim is not None and self.zone == "claim" and self.entity is None and qualifier == "F8":
            # 2300 REF*F8: the payer's claim control number of the claim a replacement or void changes.
            self.claim.put("payer_claim_control_number", self.elements.text(seg, 2), at(where, 2))

    def _seg_DMG(self, seg: pyx12.segment.Segment, where: Location) -> None:
        level = self.level
        if self.entity is not None and level is not None and self.entity in (level.subscriber, level.patient):
            self.entity.values["birth_date"] = (self.elements.text(seg, 2), at(where, 2))

    def _seg_CLM(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None:
            self._close_claim()
        claim_id = self.elements.text(seg, 1).strip()
        claim = ParsedClaim(self.control, where, self.claim_type, claim_id or None)
        self.claim = claim
        self.zone = "claim"
        self.entity = None
        self.facility = None
        self.line = None
        self.stay = {}
        self.line_dates = {}
        self.elements.separator_uses = []
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
        claim.put("partner_claim_id", self.elements.text(seg, 1), at(where, 1))
        claim.put("client_id", self.client_id, where)
        claim.put("claim_type", self.claim_type.value, where)
        claim.put("lines", [], where)
        self.elements.amount(claim, "total_charge", seg, 2, where)
        composite = "type_of_bill" if self.claim_type is ClaimType.institutional else "place_of_service"
        parts = self.elements.composite(claim, composite, seg, 5, where)
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
        qualifier = self.elements.text(seg, 1)
        if self.zone == "line" and qualifier == "472" and self.line is not None:
            start = self.elements.dtp_date(claim, f"lines[{self.line}].service_date", seg, where)
            if start is not None:
                claim.put(f"lines[{self.line}].service_date", start.isoformat(), at(where, 3))
            self.line_dates[self.line] = True
        elif self.zone == "claim" and qualifier in ("435", "434"):
            name = "admission_date" if qualifier == "435" else "statement"
            start = self.elements.dtp_date(claim, name, seg, where)
            if start is not None:
                self.stay[name] = (start, at(where, 3))
                end = self.elements.dtp_date(claim, name, seg, where, end=True)
                if name == "statement" and end is not None:
                    self.stay["statement_to"] = (end, at(where, 3))

    def _seg_CL1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.zone == "claim" and self.claim is not None and self.elements.text(seg, 3):
            self.claim.put("discharge_status", self.elements.text(seg, 3), at(where, 3))

    def _seg_HI(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim = self.claim
        if claim is None or self.zone != "claim":
            return
        codes: list[str] = claim.data.setdefault("diagnoses", [])
        for i in range(1, len(seg.elements) + 1):
            parts = self.elements.composite(claim, "diagnoses", seg, i, where)
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
        number = self.elements.text(seg, 1)
        if number.isdigit():
            claim.put(f"lines[{index}].line_number", int(number), at(where, 1))

    def _seg_SV1(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim, i = self.claim, self.line
        if claim is None or i is None or self.zone != "line":
            return
        self.elements.procedure(claim, i, seg, 1, where)
        self.elements.amount(claim, f"lines[{i}].charge", seg, 2, where)
        self.elements.unit_of_measure(claim, i, seg, 3, where)
        self.elements.amount(claim, f"lines[{i}].units", seg, 4, where)
        if self.elements.text(seg, 5):
            claim.put(f"lines[{i}].place_of_service", self.elements.text(seg, 5), at(where, 5))
        pointers = [
            p for p in self.elements.composite(claim, f"lines[{i}].diagnosis_pointers", seg, 7, where) if p
        ]
        if pointers and all(p.isdigit() for p in pointers):
            claim.put(f"lines[{i}].diagnosis_pointers", [int(p) for p in pointers], at(where, 7))
        elif pointers:  # e.g. "1.00": not a pointer, and not worth a refused claim
            claim.warn(
                f"lines[{i}].diagnosis_pointers",
                at(where, 7),
                "diagnosis pointers are whole numbers 1-12; this line's pointers were left out: Parley does "
                "not need them to price or negotiate the bill",
                "diagnosis_pointer",
            )

    def _seg_SV2(self, seg: pyx12.segment.Segment, where: Location) -> None:
        claim, i = self.claim, self.line
        if claim is None or i is None or self.zone != "line":
            return
        claim.put(f"lines[{i}].revenue_code", self.elements.text(seg, 1), at(where, 1))
        if self.elements.text(seg, 2):
            self.elements.procedure(claim, i, seg, 2, where)
        self.elements.amount(claim, f"lines[{i}].charge", seg, 3, where)
        self.elements.unit_of_measure(claim, i, seg, 4, where)
        self.elements.amount(claim, f"lines[{i}].units", seg, 5, where)

    def _seg_LIN(self, seg: pyx12.segment.Segment, where: Location) -> None:
        if self.claim is not None and self.line is not None and self.elements.text(seg, 2) == "N4":
            self.claim.put(f"lines[{self.line}].ndc", self.elements.text(seg, 3), at(where, 3))

"""The elements of an 837 segment as Parley reads them: text, composites, codes, amounts, units and dates.

Every value read is put on the claim with the segment and element it came from
(:meth:`~services.intake.x12_claims.ParsedClaim.put`); a value of the wrong form is a problem named by
its element, and is never copied into the message (it may be patient data). Composites are split by
the separator ISA16 declares, or by the partner's recorded one (the rule is in :mod:`services.intake.x12`).
"""

from __future__ import annotations

import re
from datetime import date

import pyx12.segment

from services.intake.x12_claims import ParsedClaim
from services.intake.x12_fields import parse_date
from services.intake.x12_syntax import Location
from shared.contracts import UnitOfMeasure

# SV103 (837P) and SV204 (837I): unit or basis for measurement. DA (days, an accommodation line) counts
# units: a day is that line's unit.
UNITS_OF_MEASURE = {
    "SV1": {"UN": UnitOfMeasure.units, "MJ": UnitOfMeasure.minutes},
    "SV2": {"UN": UnitOfMeasure.units, "DA": UnitOfMeasure.units, "MJ": UnitOfMeasure.minutes},
}
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_SEPARATOR_CANDIDATES = ":>^|\\<!~*"


def at(where: Location, i: int) -> Location:
    """Element ``i`` (1-based) of the segment at ``where``, e.g. SV102."""
    return Location(where.segment, where.position, f"{where.segment}{i:02d}")


class Elements:
    """Reads elements with the interchange's delimiters and the partner's recorded composite separator.

    ``separator_uses`` lists where the claim being read used the partner's separator, for its warning.
    """

    def __init__(self, partner_separator: str | None) -> None:
        self.partner_separator = partner_separator
        self.sep = ":"  # ISA16, once the reader has it
        self.reserved = ""  # every delimiter of the interchange
        self.repetition = ""  # ISA11
        self.separator_uses: list[Location] = []

    def text(self, seg: pyx12.segment.Segment, i: int) -> str:
        """Element ``i`` (1-based) as written, composites included; '' when absent."""
        if i > len(seg.elements):
            return ""
        return seg.elements[i - 1].format(self.sep)

    def composite(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, i: int, where: Location
    ) -> list[str]:
        """The components of element ``i``; [] when absent or written with an unrecorded separator."""
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
                        self.separator_uses.append(at(where, i))
                        return pieces
                    declared = (
                        " (and '{alt}' is its repetition separator, ISA11)" if alt == self.repetition else ""
                    )
                    claim.problem(
                        path,
                        at(where, i),
                        f"this composite is written with '{alt}' but the interchange declares '{self.sep}' "
                        f"(ISA16) as its component separator{declared.format(alt=alt)}; Parley will not "
                        "guess which one is meant",
                        "component_separator",
                    )
                    return []
        return parts

    def warn_separator_uses(self, claim: ParsedClaim) -> None:
        """Say on the claim that its composites were read with the partner's separator, if any were."""
        if not self.separator_uses:
            return
        first = self.separator_uses[0]
        claim.warn(
            None,
            first,
            f"{len(self.separator_uses)} composite(s) of this claim, from {first.element} on, are "
            f"written with '{self.partner_separator}' while ISA16 declares '{self.sep}'; they were read "
            f"with '{self.partner_separator}' as this partner's setting says",
            "component_separator_setting",
        )

    def procedure(
        self, claim: ParsedClaim, i: int, seg: pyx12.segment.Segment, element: int, where: Location
    ) -> None:
        """Line ``i``'s procedure code and modifiers from an HC composite (SV101 or SV202)."""
        parts = self.composite(claim, f"lines[{i}].procedure_code", seg, element, where)
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

    def unit_of_measure(
        self, claim: ParsedClaim, i: int, seg: pyx12.segment.Segment, element: int, where: Location
    ) -> None:
        """Line ``i``'s unit of measure (SV103 or SV204); units, the default, is not written."""
        code, path, segment = self.text(seg, element), f"lines[{i}].unit_of_measure", seg.get_seg_id()
        known = UNITS_OF_MEASURE[segment]
        if code in known:
            if known[code] is not UnitOfMeasure.units:  # units is the default: most lines need no entry
                claim.put(path, known[code].value, at(where, element))
        elif not code:  # required by the guide; the units are counted as units, as before it was read
            claim.warn(
                path,
                at(where, element),
                "the unit of measure is missing; the line's units were read as units (UN), not minutes",
                "unit_of_measure_missing",
            )
        else:
            claim.problem(
                path,
                at(where, element),
                "the unit of measure is "
                + ("UN (units) or MJ (minutes)" if segment == "SV1" else "UN (units) or DA (days)"),
                "unit_of_measure",
            )

    def amount(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, i: int, where: Location
    ) -> None:
        """A decimal number (X12 type R), kept as written for the bill model to read."""
        value = self.text(seg, i)
        if not _NUMBER.fullmatch(value):
            claim.problem(path, at(where, i), "a decimal number is expected (X12 type R)", "number")
            return
        claim.put(path, value, at(where, i))

    def dtp_date(
        self, claim: ParsedClaim, path: str, seg: pyx12.segment.Segment, where: Location, *, end: bool = False
    ) -> date | None:
        """A DTP date (D8, the start or ``end`` of an RD8 range, or a DT's day); None with a problem."""
        form, value = self.text(seg, 2), self.text(seg, 3)
        if form == "RD8" and value.count("-") == 1:
            value = value.split("-")[1 if end else 0]
        elif form == "DT":
            value = value[:8]
        elif form != "D8":
            claim.problem(path, at(where, 2), "a date is given as D8, RD8 or DT", "date_format")
            return None
        parsed = parse_date(value)
        if parsed is None:
            claim.problem(path, at(where, 3), "a date is CCYYMMDD", "date")
        return parsed

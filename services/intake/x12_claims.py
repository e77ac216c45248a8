"""From an 837 claim as read to a bill: every problem placed on its segment, and what is only a warning.

An 837 is the provider's claim as billed, relayed by a partner who cannot correct it. So a defect in an
element Parley does not need to price or negotiate the bill does not refuse the claim: the element is
left out and the claim's `warnings` name its segment and element. Those elements are listed in
:data:`NOT_NEEDED` (service-facility NPI, name and street address; diagnosis pointers; NDC; discharge
status). Defects in charges, codes, units, dates, the billing provider, the facility's state and ZIP
(the pricing jurisdiction and locality) and the patient's identity (how a negotiator names the claim
to the provider) stay errors. A JSON bill, which the partner's own system assembles, is held to every
rule instead.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.intake.claims import problems as claim_problems
from services.intake.schemas import BillIn
from services.intake.submissions import Submission
from services.intake.x12_syntax import Location, X12Problem
from shared.codes import NPI_CHECK_DIGIT, NPI_CHECK_DIGIT_MESSAGE, npi_check_digit_ok
from shared.contracts import ClaimType
from shared.http import validation_errors

# A field path whose defect is a warning, and the part of it that is left out.
NOT_NEEDED = (
    re.compile(r"^(facility\.npi)$"),  # NM1*77 NM109: pricing falls back to the billing NPI
    re.compile(r"^(facility\.name)$"),
    re.compile(r"^(facility\.address)(\..+)?$"),  # its state and ZIP are read into facility.state/zip
    re.compile(r"^(lines\[\d+\]\.diagnosis_pointers)(\[\d+\])?$"),  # SV107
    re.compile(r"^(lines\[\d+\]\.ndc)$"),  # LIN03: lines are priced by HCPCS, never by NDC
    re.compile(r"^(discharge_status)$"),  # CL103: a note on transfers, not a price
)
LEFT_OUT = "left out: Parley does not need it to price or negotiate the bill"


@dataclass
class ParsedClaim:
    transaction: str
    location: Location  # the CLM segment
    claim_type: ClaimType
    claim_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Location] = field(default_factory=dict)
    problems: list[X12Problem] = field(default_factory=list)
    warnings: list[X12Problem] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)  # fields whose problem is already in ``problems``
    # False when the HL tree does not say whose claim it is: its provider and patient are then unknown,
    # and only the hierarchy (and what was wrong in the claim's own segments) is reported.
    placed: bool = True

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

    def warn(self, path: str | None, where: Location, message: str, kind: str) -> None:
        self.warnings.append(X12Problem(where, message, kind, path))

    def locate(self, path: str) -> Location:
        """Where a field came from; for a field the file did not carry, the nearest thing that did."""
        while path:
            if path in self.fields:
                return self.fields[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.location


@functools.lru_cache(maxsize=4096)
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[^.\[\]]+|\[\d+\]", path))


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


def _not_needed(path: str | None) -> str | None:
    """The part of ``path`` to leave out when its defect is only a warning; None if it is needed."""
    for pattern in NOT_NEEDED:
        match = pattern.match(path or "")
        if match:
            return match.group(1)
    return None


def _leave_out(data: dict[str, Any], path: str) -> None:
    *parents, last = _path_parts(path)
    target: Any = data
    for part in parents:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    target.pop(last, None)


def _where(problem: X12Problem) -> tuple[str, int, str | None]:
    return (problem.location.segment, problem.location.position, problem.location.element)


def submission_of(index: int, claim: ParsedClaim) -> Submission:
    """The claim as a bill to receive, or every problem found in it, each placed on its segment.

    An NPI whose check digit is wrong does not stop an 837 claim: the file is the provider's claim as
    billed, and refusing it would drop the bill out of cost containment. The claim is kept and the NPI
    named in its warnings, by segment. A defect in an element Parley does not need (:data:`NOT_NEEDED`)
    leaves that element out, with a warning. Rules across fields that concern only such elements
    (a diagnosis pointer past the diagnoses) are applied here; the others when the claim is received.
    """
    errors = [p.as_dict() for p in claim.problems]
    warnings = list(claim.warnings)
    if not claim.placed:
        return Submission(index, None, errors, claim.claim_id, [w.as_dict() for w in warnings])
    data = claim.data  # copied before the first element is left out (the claim as read stays whole)
    bill: BillIn | None = None
    for _ in range(4):  # each round leaves out every optional element found; two rounds are the most seen
        try:
            bill = BillIn.model_validate(data, context={NPI_CHECK_DIGIT: "warn"})
            rules = located(claim, [p.as_dict() for p in claim_problems(bill)])
            found = [p for p in rules if _not_needed(p.field)]  # the others: when the claim is received
        except ValidationError as exc:
            bill = None
            found = located(claim, validation_errors(exc.errors()))
        optional = [p for p in found if _not_needed(p.field)]
        if not optional:
            errors += [p.as_dict() for p in found] if bill is None else []
            break
        if data is claim.data:
            data = copy.deepcopy(claim.data)
        for p in optional:
            _leave_out(data, _not_needed(p.field) or "")
        warnings += [X12Problem(p.location, f"{p.message}; {LEFT_OUT}", p.type, p.field) for p in optional]
    if bill is None or errors:
        refused = {(e["segment"], e["position"], e["element"]) for e in errors}
        # A value that feeds a needed field and an optional one (an 837I's billing NPI is also its
        # facility's) is named once, as the error.
        said = [w.as_dict() for w in warnings if _where(w) not in refused]
        return Submission(index, None, errors, claim.claim_id, said)
    unchecked = [
        {"field": path, "message": f"{NPI_CHECK_DIGIT_MESSAGE}: kept as sent", "type": NPI_CHECK_DIGIT}
        for path, npi in (("provider.npi", bill.provider.npi), ("facility.npi", bill.facility.npi))
        if npi is not None and not npi_check_digit_ok(npi)
    ]
    warnings += located(claim, unchecked)
    return Submission(index, bill, [], claim.claim_id, [w.as_dict() for w in warnings])

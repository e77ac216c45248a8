"""Bill audit: findings a negotiator can put in front of the provider before talking about value.

Each finding names the line, the rule and the amount at stake (billed dollars that would come off the
bill if the finding holds; 0.00 for coding problems that change no payment by themselves):

- ``duplicate_line``: the same code, modifiers, units, charge and date as an earlier line;
  ``near_duplicate_line``: the same code and date as an earlier line without a modifier that explains a
  repeat (76, 77, 91, 59/X{EPSU}, a different side);
- ``ncci_ptp``: an NCCI procedure-to-procedure edit bundles the column 2 line into the column 1 line on
  that date (modifier indicator 0, or 1 without a modifier that may bypass it);
- ``mue``: more units than the medically unlikely edit allows, per line (adjudication indicator 1) or
  per date of service (2 policy, 3 clinical); the excess units at the line's unit charge are at stake
  (an anesthesia line billed in minutes counts as one service);
- ``modifier_59``: 59 or X{EPSU} on a line whose edit has modifier indicator 0, where no modifier may
  bypass it;
- ``modifier_25``: 25 on a service that is not an E/M, 25 on an E/M with no other procedure that day, or
  an E/M-25 the same day as a minor procedure (0 or 10 global days), which needs documentation;
- ``modifier_pctc``: 26 or TC against the fee schedule's PC/TC indicator, or a global service billed
  with its own component on the same date;
- ``charge_above_uc``: a charge more than the configured factor times the line's U&C median.

The coding-edit rules live in ``audit_edits``, the modifier rules in ``audit_modifiers``, what they share
in ``audit_findings``; this module runs them all (:func:`audit`) and holds the two rules about the bill's
own lines (duplicates, charges far above U&C). Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from services.pricing.audit_edits import in_effect, mue, ncci
from services.pricing.audit_findings import REPEAT_MODIFIERS, SIDE_MODIFIERS, finding, line_key
from services.pricing.audit_modifiers import modifier_25, modifier_pctc
from services.pricing.models import MueLimit, PtpEdit, RelativeValue
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, FindingV2

__all__ = [
    "audit",
    "charges_above_uc",
    "duplicates",
    "in_effect",
    "modifier_25",
    "modifier_pctc",
    "mue",
    "ncci",
]


def duplicates(lines: Sequence[BillLineV1]) -> list[FindingV2]:
    findings = []
    for i, later in enumerate(lines):
        for earlier in lines[:i]:
            if (
                line_key(later) is None
                or line_key(later) != line_key(earlier)
                or later.service_date != earlier.service_date
            ):
                continue
            exact = (sorted(later.modifiers), later.units, later.charge) == (
                sorted(earlier.modifiers),
                earlier.units,
                earlier.charge,
            )
            if exact:
                findings.append(
                    finding(
                        "duplicate_line",
                        later,
                        later.charge,
                        f"line {later.line_number} repeats line {earlier.line_number} exactly "
                        f"({line_key(later)}, {later.service_date}, {later.units} unit(s), {later.charge})",
                        earlier,
                    )
                )
                break
            explained = (set(later.modifiers) | set(earlier.modifiers)) & REPEAT_MODIFIERS or (
                set(later.modifiers) & SIDE_MODIFIERS
            ) != (set(earlier.modifiers) & SIDE_MODIFIERS)
            if not explained:
                findings.append(
                    finding(
                        "near_duplicate_line",
                        later,
                        min(later.charge, earlier.charge),
                        f"line {later.line_number} bills {line_key(later)} again on "
                        f"{later.service_date} (as line {earlier.line_number}) without a repeat "
                        "or side modifier",
                        earlier,
                    )
                )
                break
    return findings


def charges_above_uc(
    lines: Sequence[BillLineV1], uc_amounts: Mapping[int, Decimal], factor: Decimal
) -> list[FindingV2]:
    findings = []
    for line in lines:
        amount = uc_amounts.get(line.line_number)
        if amount is not None and amount > 0 and line.charge > amount * factor:
            findings.append(
                finding(
                    "charge_above_uc",
                    line,
                    line.charge - amount,
                    f"billed {line.charge} is {cents(line.charge / amount)}× the U&C median {amount} "
                    f"(flagged above {factor}×)",
                )
            )
    return findings


def audit(
    lines: Sequence[BillLineV1],
    *,
    edits: Sequence[PtpEdit],
    limits: Mapping[str, MueLimit],
    rvus: Mapping[tuple[str, str], RelativeValue],
    uc_amounts: Mapping[int, Decimal],
    far_above_factor: Decimal,
) -> list[FindingV2]:
    findings = [
        *duplicates(lines),
        *ncci(lines, edits),
        *mue(lines, limits),
        *modifier_25(lines, rvus),
        *modifier_pctc(lines, rvus),
        *charges_above_uc(lines, uc_amounts, far_above_factor),
    ]
    return sorted(findings, key=lambda f: (f.line_number or 0, f.rule))

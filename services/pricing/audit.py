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

Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from services.pricing.models import MueLimit, PtpEdit, RelativeValue
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, FindingV2, UnitOfMeasure

ZERO = Decimal("0.00")
# A repeat with one of these is explained (76/77 repeat procedures, 91 repeat lab, 59/X distinct service);
# 26/TC components are judged by the PC/TC rule instead.
REPEAT_MODIFIERS = frozenset({"76", "77", "91", "59", "XE", "XP", "XS", "XU", "26", "TC"})
SIDE_MODIFIERS = frozenset(
    {
        "LT",
        "RT",
        "50",
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "LC",
        "LD",
        "RC",
        "LM",
        "RI",
    }
)
DISTINCT_SERVICE = frozenset({"59", "XE", "XP", "XS", "XU"})
# Modifiers NCCI accepts to bypass an edit with modifier indicator 1 (25 only on an E/M).
NCCI_BYPASS = DISTINCT_SERVICE | SIDE_MODIFIERS | {"91", "24", "57", "27"}
MINOR_GLOBAL = frozenset({"000", "010"})
MUE_KIND = {"1": "per line", "2": "per date of service (policy)", "3": "per date of service (clinical)"}
PCTC_INVALID = {  # indicator → modifiers that are invalid on the code, and why
    "0": ({"26", "TC"}, "a physician service: the PC/TC split does not apply"),
    "2": ({"TC"}, "a professional-component-only code: it has no technical component"),
    "3": ({"26"}, "a technical-component-only code: it has no professional component"),
    "4": ({"26", "TC"}, "a global-test-only code: its components have their own codes"),
    "5": ({"26", "TC"}, "an incident-to code: the PC/TC split does not apply"),
    "6": ({"TC"}, "a laboratory physician-interpretation code: it has no technical component"),
    "7": ({"26", "TC"}, "a physical-therapy service: the PC/TC split does not apply"),
    "8": ({"TC"}, "a physician-interpretation code: it has no technical component"),
    "9": ({"26", "TC"}, "the PC/TC concept does not apply to this code"),
}
PCTC_REDUNDANT = {"2": "26", "3": "TC"}


def is_em(code: str | None) -> bool:
    return code is not None and code.isdigit() and 99202 <= int(code) <= 99499


def _key(line: BillLineV1) -> str | None:
    return line.procedure_code or line.revenue_code


def _finding(
    rule: str, line: BillLineV1, amount: Decimal, detail: str, related: BillLineV1 | None = None
) -> FindingV2:
    return FindingV2(
        rule=rule,
        line_number=line.line_number,
        related_line=related.line_number if related else None,
        amount_at_stake=cents(amount),
        detail=detail,
    )


def duplicates(lines: Sequence[BillLineV1]) -> list[FindingV2]:
    findings = []
    for i, later in enumerate(lines):
        for earlier in lines[:i]:
            if (
                _key(later) is None
                or _key(later) != _key(earlier)
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
                    _finding(
                        "duplicate_line",
                        later,
                        later.charge,
                        f"line {later.line_number} repeats line {earlier.line_number} exactly "
                        f"({_key(later)}, {later.service_date}, {later.units} unit(s), {later.charge})",
                        earlier,
                    )
                )
                break
            explained = (set(later.modifiers) | set(earlier.modifiers)) & REPEAT_MODIFIERS or (
                set(later.modifiers) & SIDE_MODIFIERS
            ) != (set(earlier.modifiers) & SIDE_MODIFIERS)
            if not explained:
                findings.append(
                    _finding(
                        "near_duplicate_line",
                        later,
                        min(later.charge, earlier.charge),
                        f"line {later.line_number} bills {_key(later)} again on "
                        f"{later.service_date} (as line {earlier.line_number}) without a repeat "
                        "or side modifier",
                        earlier,
                    )
                )
                break
    return findings


def in_effect(edit: PtpEdit, on: date) -> bool:
    """NCCI: an edit applies to services on or after its effective date and before its deletion date.

    A pair deleted and later added again has one row per period; a deletion date equal to the effective
    date means the edit never applied.
    """
    return edit.effective_from <= on and (edit.deleted_on is None or on < edit.deleted_on)


def _bypasses(line: BillLineV1) -> set[str]:
    allowed = set(line.modifiers) & NCCI_BYPASS
    if "25" in line.modifiers and is_em(line.procedure_code):
        allowed.add("25")
    return allowed


def ncci(lines: Sequence[BillLineV1], edits: Sequence[PtpEdit]) -> list[FindingV2]:
    by_pair: dict[tuple[str, str], list[PtpEdit]] = {}
    for e in edits:
        by_pair.setdefault((e.column1, e.column2), []).append(e)
    findings = []
    for col2 in lines:
        for col1 in lines:
            if col1 is col2 or col1.service_date != col2.service_date:
                continue
            periods = by_pair.get((col1.procedure_code or "", col2.procedure_code or ""), [])
            edit = next((e for e in periods if in_effect(e, col2.service_date)), None)
            if edit is None or edit.modifier_indicator == "9":
                continue
            pair = (
                f"NCCI PTP edit {edit.column1}/{edit.column2} (effective {edit.effective_from}, "
                f"modifier indicator {edit.modifier_indicator})"
            )
            distinct = set(col2.modifiers) & DISTINCT_SERVICE
            if edit.modifier_indicator == "0":
                if distinct:
                    findings.append(
                        _finding(
                            "modifier_59",
                            col2,
                            col2.charge,
                            f"line {col2.line_number} uses "
                            f"{', '.join(sorted(distinct))} to bypass {pair}, which no "
                            f"modifier may bypass: {col2.procedure_code} "
                            f"is bundled into line {col1.line_number}",
                            col1,
                        )
                    )
                else:
                    findings.append(
                        _finding(
                            "ncci_ptp",
                            col2,
                            col2.charge,
                            f"{pair}: {col2.procedure_code} is bundled into {col1.procedure_code} (line "
                            f"{col1.line_number}) on {col2.service_date}; no modifier allows both",
                            col1,
                        )
                    )
                break
            if not (_bypasses(col2) | _bypasses(col1)):
                findings.append(
                    _finding(
                        "ncci_ptp",
                        col2,
                        col2.charge,
                        f"{pair}: {col2.procedure_code} is bundled into "
                        f"{col1.procedure_code} (line {col1.line_number}) "
                        f"on {col2.service_date} unless a modifier shows a separate service; none was billed",
                        col1,
                    )
                )
                break
    return findings


def mue(lines: Sequence[BillLineV1], limits: Mapping[str, MueLimit]) -> list[FindingV2]:
    # A line billed in minutes (anesthesia time) is one service: its minutes are not units of service.
    lines = [
        line.model_copy(update={"units": Decimal(1)})
        if line.unit_of_measure is UnitOfMeasure.minutes
        else line
        for line in lines
    ]
    findings = []
    per_date: dict[tuple[str, object], list[BillLineV1]] = {}
    for line in lines:
        limit = limits.get(line.procedure_code or "")
        if limit is None:
            continue
        if limit.adjudication_indicator == "1":
            if line.units > limit.mue_value:
                excess = line.units - limit.mue_value
                findings.append(
                    _finding(
                        "mue",
                        line,
                        line.charge / line.units * excess,
                        f"{line.units} units of {line.procedure_code} "
                        f"on one line; the MUE is {limit.mue_value} "
                        f"{MUE_KIND['1']}: {excess} unit(s) over",
                    )
                )
        else:
            per_date.setdefault((limit.hcpcs, line.service_date), []).append(line)
    for (code, day), same in per_date.items():
        limit = limits[code]
        units = sum((x.units for x in same), Decimal(0))
        if units > limit.mue_value:
            last = same[-1]
            excess = units - limit.mue_value
            findings.append(
                _finding(
                    "mue",
                    last,
                    last.charge / last.units * min(excess, last.units),
                    f"{units} units of {code} on {day} (lines "
                    f"{', '.join(str(x.line_number) for x in same)}); the "
                    f"MUE is {limit.mue_value} "
                    f"{MUE_KIND[limit.adjudication_indicator]}: {excess} unit(s) over",
                )
            )
    return findings


def modifier_25(
    lines: Sequence[BillLineV1], rvus: Mapping[tuple[str, str], RelativeValue]
) -> list[FindingV2]:
    findings = []
    for line in lines:
        if "25" not in line.modifiers:
            continue
        if not is_em(line.procedure_code):
            findings.append(
                _finding(
                    "modifier_25",
                    line,
                    ZERO,
                    f"modifier 25 on {line.procedure_code or line.revenue_code}: 25 marks a "
                    "separately identifiable E/M service and applies only to E/M codes",
                )
            )
            continue
        procedures = [
            x
            for x in lines
            if x is not line
            and x.service_date == line.service_date
            and x.procedure_code
            and not is_em(x.procedure_code)
        ]
        if not procedures:
            findings.append(
                _finding(
                    "modifier_25",
                    line,
                    ZERO,
                    f"modifier 25 on E/M {line.procedure_code} with no other procedure on "
                    f"{line.service_date}: there is nothing for it to be separate from",
                )
            )
            continue
        minor = [
            x
            for x in procedures
            if (r := rvus.get((x.procedure_code or "", ""))) and r.global_days in MINOR_GLOBAL
        ]
        if minor:
            proc = minor[0]
            days = rvus[(proc.procedure_code or "", "")].global_days
            findings.append(
                _finding(
                    "modifier_25",
                    line,
                    line.charge,
                    f"E/M {line.procedure_code}-25 on the day of minor procedure {proc.procedure_code} (line "
                    f"{proc.line_number}, {days} global days), whose "
                    "payment includes the usual pre-procedure "
                    "evaluation: payable only if the record shows a significant, separate E/M",
                    proc,
                )
            )
    return findings


def modifier_pctc(
    lines: Sequence[BillLineV1], rvus: Mapping[tuple[str, str], RelativeValue]
) -> list[FindingV2]:
    findings = []
    for line in lines:
        code = line.procedure_code or ""
        rvu = rvus.get((code, ""))
        components = set(line.modifiers) & {"26", "TC"}
        if rvu is None:
            continue
        if components:
            invalid, why = PCTC_INVALID.get(rvu.pctc_indicator, (set(), ""))
            bad = components & invalid
            if bad:
                findings.append(
                    _finding(
                        "modifier_pctc",
                        line,
                        line.charge,
                        f"modifier {', '.join(sorted(bad))} on {code}, PC/TC indicator "
                        f"{rvu.pctc_indicator}: {why}",
                    )
                )
            elif PCTC_REDUNDANT.get(rvu.pctc_indicator) in components:
                findings.append(
                    _finding(
                        "modifier_pctc",
                        line,
                        ZERO,
                        f"modifier {PCTC_REDUNDANT[rvu.pctc_indicator]} on {code} is redundant: "
                        f"PC/TC indicator {rvu.pctc_indicator} already makes it that component",
                    )
                )
        elif rvu.pctc_indicator == "1":
            for other in lines:
                if (
                    other is not line
                    and other.procedure_code == code
                    and other.service_date == line.service_date
                    and set(other.modifiers) & {"26", "TC"}
                ):
                    findings.append(
                        _finding(
                            "modifier_pctc",
                            other,
                            other.charge,
                            f"{code} billed globally (line {line.line_number}) and as its "
                            f"{'/'.join(sorted(set(other.modifiers) & {'26', 'TC'}))} component (line "
                            f"{other.line_number}) on {line.service_date}: "
                            "the global service already includes it",
                            line,
                        )
                    )
    return findings


def charges_above_uc(
    lines: Sequence[BillLineV1], uc_amounts: Mapping[int, Decimal], factor: Decimal
) -> list[FindingV2]:
    findings = []
    for line in lines:
        amount = uc_amounts.get(line.line_number)
        if amount is not None and amount > 0 and line.charge > amount * factor:
            findings.append(
                _finding(
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

"""Bill audit of modifiers against the physician fee schedule: 25 on E/M services, 26 and TC components.

- ``modifier_25``: 25 on a service that is not an E/M, 25 on an E/M with no other procedure that day, or
  an E/M-25 the same day as a minor procedure (0 or 10 global days), which needs documentation;
- ``modifier_pctc``: 26 or TC against the fee schedule's PC/TC indicator, or a global service billed
  with its own component on the same date.

Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.pricing.audit_findings import ZERO, finding, is_em
from services.pricing.models import RelativeValue
from shared.contracts import BillLineV1, FindingV2

MINOR_GLOBAL = frozenset({"000", "010"})
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


def modifier_25(
    lines: Sequence[BillLineV1], rvus: Mapping[tuple[str, str], RelativeValue]
) -> list[FindingV2]:
    findings = []
    for line in lines:
        if "25" not in line.modifiers:
            continue
        if not is_em(line.procedure_code):
            findings.append(
                finding(
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
                finding(
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
                finding(
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
                    finding(
                        "modifier_pctc",
                        line,
                        line.charge,
                        f"modifier {', '.join(sorted(bad))} on {code}, PC/TC indicator "
                        f"{rvu.pctc_indicator}: {why}",
                    )
                )
            elif PCTC_REDUNDANT.get(rvu.pctc_indicator) in components:
                findings.append(
                    finding(
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
                        finding(
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

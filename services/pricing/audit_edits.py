"""Bill audit against CMS coding edits: NCCI procedure-to-procedure pairs and MUE unit limits.

- ``ncci_ptp``: an NCCI procedure-to-procedure edit bundles the column 2 line into the column 1 line on
  that date (modifier indicator 0, or 1 without a modifier that may bypass it);
- ``modifier_59``: 59 or X{EPSU} on a line whose edit has modifier indicator 0, where no modifier may
  bypass it;
- ``mue``: more units than the medically unlikely edit allows, per line (adjudication indicator 1) or
  per date of service (2 policy, 3 clinical); the excess units at the line's unit charge are at stake
  (an anesthesia line billed in minutes counts as one service).

Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from services.pricing.audit_findings import DISTINCT_SERVICE, SIDE_MODIFIERS, finding, is_em
from services.pricing.models import MueLimit, PtpEdit
from shared.contracts import BillLineV1, FindingV2, UnitOfMeasure

# Modifiers NCCI accepts to bypass an edit with modifier indicator 1 (25 only on an E/M).
NCCI_BYPASS = DISTINCT_SERVICE | SIDE_MODIFIERS | {"91", "24", "57", "27"}
MUE_KIND = {"1": "per line", "2": "per date of service (policy)", "3": "per date of service (clinical)"}


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
                        finding(
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
                        finding(
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
                    finding(
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
                    finding(
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
                finding(
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

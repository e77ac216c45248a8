"""The three usual-and-customary (U&C) reviews of a bill, and the median that becomes the target.

For each line, each review looks for comparable observations (same service code and setting, the
client's basis: billed charges or allowed amounts) in a scope, widening while there are fewer than the
minimum:

- services performed: every facility, nationally;
- geographic location: the facility's ZIP3, then its state, then national;
- facility credentials: peers with the same type, bed-size band, teaching status and trauma level, then
  dropping trauma level, then teaching status, then bed size (the type is always kept).

The review's allowance for a line is the client's percentile (nearest rank) of the per-unit amounts in
the scope used, × the line's units, never more than the line's billed charge. A line without enough data
in any scope says so. The line's target is the median of the amounts of the reviews that could price it
(the mean of two when only two could), never more than billed; the bill's U&C target is the sum of the
line targets.

Pure functions: the caller fetches the figures of the :func:`chains` (``scope_figures``: only the scopes
a review reaches) and passes them to :func:`review`, which reads each chain up to the first scope with
enough observations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.scope_figures import ScopeFigure
from services.pricing.service_codes import cents
from shared.contracts import (
    ReviewKind,
    ReviewLineV2,
    ReviewV2,
    UsualAndCustomaryV2,
    WideningStepV2,
)


@dataclass(frozen=True)
class ReviewedLine:
    line_number: int
    code: str | None  # the service code (service_codes.service_code); None: nothing to compare
    setting: str
    units: Decimal
    billed: Decimal


@dataclass(frozen=True)
class Peers:
    facility_type: str
    bed_band: str
    teaching: str
    trauma_level: str


@dataclass(frozen=True)
class Place:
    state: str | None
    zip3: str | None
    peers: Peers | None
    peers_note: str  # why there is no peer group, when there is none


@dataclass(frozen=True)
class LineTarget:
    line_number: int
    allowance: Decimal | None  # lesser of billed and ``amount``; None: too little data
    amount: Decimal | None  # median of the reviews' amounts (percentile × units)
    reviews_used: int
    note: str


@dataclass(frozen=True)
class UcResult:
    summary: UsualAndCustomaryV2
    targets: dict[int, LineTarget]


def scopes(kind: ReviewKind, place: Place) -> list[tuple[str, str]]:
    """(scope key, label) in widening order for one review."""
    if kind is ReviewKind.services:
        return [("US", "national, every facility")]
    if kind is ReviewKind.geography:
        steps = []
        if place.zip3:
            steps.append((f"Z3:{place.zip3}", f"ZIP3 {place.zip3}"))
        if place.state:
            steps.append((f"ST:{place.state}", f"state {place.state}"))
        return [*steps, ("US", "national")]
    p = place.peers
    if p is None:
        return []
    return [
        (
            f"P4:{p.facility_type}|{p.bed_band}|{p.teaching}|{p.trauma_level}",
            f"peers: {p.facility_type}, {p.bed_band} beds, teaching {p.teaching}, trauma {p.trauma_level}",
        ),
        (
            f"P3:{p.facility_type}|{p.bed_band}|{p.teaching}",
            f"peers: {p.facility_type}, {p.bed_band} beds, teaching {p.teaching}, any trauma level",
        ),
        (f"P2:{p.facility_type}|{p.bed_band}", f"peers: {p.facility_type}, {p.bed_band} beds"),
        (f"P1:{p.facility_type}", f"peers: {p.facility_type}, any size"),
    ]


def chains(lines: Iterable[ReviewedLine], place: Place) -> list[list[tuple[str, str, str]]]:
    """Per review of each comparable line, the (setting, code, scope) it may read, in widening order."""
    out = []
    for line in lines:
        if line.code is None:
            continue
        for kind in ReviewKind:
            chain = [(line.setting, line.code, scope) for scope, _ in scopes(kind, place)]
            if chain:
                out.append(chain)
    return out


def wanted(lines: Iterable[ReviewedLine], place: Place) -> set[tuple[str, str, str]]:
    """Every (setting, code, scope) the reviews of these lines may need."""
    return {key for chain in chains(lines, place) for key in chain}


def median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return cents((ordered[middle - 1] + ordered[middle]) / 2)


def _review_line(
    kind: ReviewKind,
    line: ReviewedLine,
    place: Place,
    figures: Mapping[tuple[str, str, str], ScopeFigure],
    min_observations: int,
) -> ReviewLineV2:
    if line.code is None:
        return ReviewLineV2(
            line_number=line.line_number,
            allowance=None,
            per_unit=None,
            observations=0,
            scope=None,
            steps=[],
            note="no CPT/HCPCS or revenue code to compare",
        )
    steps: list[WideningStepV2] = []
    for scope, label in scopes(kind, place):
        figure = figures.get((line.setting, line.code, scope), ScopeFigure(0, None))
        enough = figure.observations >= min_observations and figure.value is not None
        steps.append(WideningStepV2(scope=label, observations=figure.observations, used=enough))
        if enough:
            assert figure.value is not None
            amount = cents(figure.value * line.units)
            return ReviewLineV2(
                line_number=line.line_number,
                allowance=min(line.billed, amount),
                per_unit=figure.value,
                observations=figure.observations,
                scope=label,
                steps=steps,
                note=None
                if amount <= line.billed
                else f"percentile amount {amount} is above billed: billed allowed",
            )
    if not steps:
        note = place.peers_note
    else:
        note = (
            f"too little data: fewer than {min_observations} observations of {line.code} ({line.setting}) "
            f"in every scope tried"
        )
    return ReviewLineV2(
        line_number=line.line_number,
        allowance=None,
        per_unit=None,
        observations=0,
        scope=None,
        steps=steps,
        note=note,
    )


def review(
    lines: Sequence[ReviewedLine],
    place: Place,
    figures: Mapping[tuple[str, str, str], ScopeFigure],
    *,
    percentile: int,
    basis: str,
    min_observations: int,
) -> UcResult:
    reviews = []
    for kind in ReviewKind:
        reviewed = [_review_line(kind, line, place, figures, min_observations) for line in lines]
        total = sum((r.allowance for r in reviewed if r.allowance is not None), Decimal(0))
        reviews.append(ReviewV2(kind=kind, percentile=percentile, basis=basis, total=total, lines=reviewed))
    targets: dict[int, LineTarget] = {}
    for i, line in enumerate(lines):
        found = [r.lines[i] for r in reviews if r.lines[i].allowance is not None]
        if not found:
            targets[line.line_number] = LineTarget(
                line.line_number,
                None,
                None,
                0,
                f"too little data for a U&C review of line {line.line_number}: fewer than {min_observations} "
                "comparable observations in every scope",
            )
            continue
        amount = median([cents(r.per_unit * line.units) for r in found if r.per_unit is not None])
        names = ", ".join(rv.kind.value for rv in reviews if rv.lines[i].allowance is not None)
        targets[line.line_number] = LineTarget(
            line.line_number,
            min(line.billed, amount),
            amount,
            len(found),
            f"median of {len(found)} review(s) ({names})",
        )
    median_total = sum((t.allowance for t in targets.values() if t.allowance is not None), Decimal(0))
    summary = UsualAndCustomaryV2(
        percentile=percentile,
        basis=basis,
        min_observations=min_observations,
        reviews=reviews,
        median_total=median_total,
    )
    return UcResult(summary, targets)

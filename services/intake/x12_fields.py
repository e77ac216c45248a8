"""The loops read for one 837 claim become its bill fields, each remembering its segment and element.

When a claim ends (the next CLM, HL or SE), its billing provider, subscriber and patient come from the HL
level it belongs to, its facility from the service-facility loop (2310C/2310E NM1*77) or else the
billing provider, and its stay dates from the claim's DTP segments.
"""

from __future__ import annotations

from datetime import date

from services.intake.x12_claims import ParsedClaim
from services.intake.x12_hierarchy import Entity, Level
from services.intake.x12_syntax import Location
from shared.contracts import ClaimType, LineOfBusiness

# SBR09 claim filing indicator → line of business; other payers (Medicare, Medicaid…) name none.
LINES_OF_BUSINESS = {
    "WC": LineOfBusiness.workers_compensation,
    "AM": LineOfBusiness.auto,
    **dict.fromkeys(("CI", "BL", "HM", "12", "13", "14", "15"), LineOfBusiness.group_health),
}
STILL_A_PATIENT = "30"  # CL103: the statement period's end is not a discharge


def close_claim(
    claim: ParsedClaim,
    level: Level | None,
    facility: Entity | None,
    stay: dict[str, tuple[date, Location]],
    line_dates: dict[int, bool],
    line_of_business: LineOfBusiness | None,
) -> None:
    """Fill in the claim's provider, facility, patient, stay and line of business."""
    billing = level.billing if level is not None else Entity("85")
    subscriber = level.subscriber if level is not None and level.subscriber is not None else Entity("IL")
    patient = level.patient if level is not None else None
    _provider(claim, billing, claim.placed)
    _facility(claim, facility, billing)
    _patient(claim, patient, subscriber)
    _stay(claim, stay, line_dates)
    sbr09 = subscriber.get("sbr09")
    if line_of_business is not None:
        claim.put("line_of_business", line_of_business.value, claim.location)
    elif sbr09 is not None and sbr09[0] in LINES_OF_BUSINESS:
        claim.put("line_of_business", LINES_OF_BUSINESS[sbr09[0]].value, sbr09[1])
    if not claim.data["lines"]:
        claim.problem("lines", claim.location, "the claim has no service line (LX)", "no_lines")


def _provider(claim: ParsedClaim, billing: Entity, placed: bool) -> None:
    values = billing.values
    for path, name in (("provider.npi", "id"), ("provider.tin", "tin"), ("provider.taxonomy", "taxonomy")):
        if name in values and values[name][0]:
            claim.put(path, *values[name])
    if "id" not in values and placed:
        claim.problem("provider", claim.location, "no billing provider (2010AA NM1*85)", "missing")
    provider_name = _name(billing)
    if provider_name:
        claim.put("provider.name", provider_name, values["last"][1])
    _address(claim, "provider.address", billing)


def _facility(claim: ParsedClaim, facility: Entity | None, billing: Entity) -> None:
    source = facility if facility is not None and "state" in facility.values else None
    entity = source or billing
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
    _address(claim, "facility.address", entity)


def _address(claim: ParsedClaim, path: str, entity: Entity) -> None:
    if all(k in entity.values for k in ("line1", "city", "state", "zip")):
        for part in ("line1", "line2", "city", "state", "zip"):
            if part in entity.values:
                claim.put(f"{path}.{part}", *entity.values[part])


def _patient(claim: ParsedClaim, patient: Entity | None, subscriber: Entity) -> None:
    person = patient if patient is not None and "last" in patient.values else subscriber
    if "last" not in person.values:
        return
    for path, name in (("last_name", "last"), ("first_name", "first")):
        if person.values[name][0]:
            claim.put(f"patient.{path}", *person.values[name])
    member = subscriber.get("id")
    if member and member[0]:
        claim.put("patient.member_id", *member)
    born = person.get("birth_date")
    if born:
        parsed = parse_date(born[0])
        if parsed is None:
            claim.problem("patient.birth_date", born[1], "a date is CCYYMMDD", "date")
        else:
            claim.put("patient.birth_date", parsed.isoformat(), born[1])


def _stay(claim: ParsedClaim, stay: dict[str, tuple[date, Location]], line_dates: dict[int, bool]) -> None:
    statement = stay.get("statement")
    if "admission_date" in stay:
        admitted, where = stay["admission_date"]
        claim.put("admission_date", admitted.isoformat(), where)
        if "statement_to" in stay and claim.data.get("discharge_status") != STILL_A_PATIENT:
            claim.put("discharge_date", stay["statement_to"][0].isoformat(), stay["statement_to"][1])
    for i in range(len(claim.data["lines"])):
        if line_dates.get(i):
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


def _name(entity: Entity) -> str | None:
    last = entity.values.get("last", ("", None))[0]
    first = entity.values.get("first", ("", None))[0]
    if not last:
        return None
    return f"{last}, {first}" if first and entity.values.get("kind", ("", None))[0] == "1" else last


def parse_date(value: str) -> date | None:
    """A CCYYMMDD date, or None when it is not one."""
    if len(value) != 8 or not value.isdigit() or not value.isascii():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None

"""Transparency in Coverage files: payers' in-network rates and out-of-network allowed amounts.

Both are JSON, tens of gigabytes in real life, so they are read an item at a time (ijson, its C parser)
and written in batches: memory is bounded by the largest single item (one billing code with its rates),
never by the file (``bench/reference_files.py`` measures it). Which one a file is, is read from its
top-level array: ``in_network`` or ``out_of_network``. Observations are dated by the file's
``last_updated_on`` when it precedes that array (as the schema orders it).

**Allowed amounts** (``out_of_network``): per code and provider, the billed charge (a ``charge``
observation) and the amount allowed (``allowed``).

**In-network rates** (``in_network``): what a payer contracted with each provider for a code, as
evidence of what payers allow. Per ``negotiated_type``:

- ``negotiated``: a dollar rate → an ``allowed`` observation for the code, setting and provider;
- ``percentage``: a share of billed charges → ``percent_of_billed`` (65.00 means 65%), never dollars;
- ``per diem``: a daily amount → ``per_diem``, never compared with line dollars;
- ``derived`` (an internal accounting price, not a payment) and ``fee schedule`` (the plan's basis for
  the member's cost sharing when it differs from the negotiated rate) are kept out, counted in the notes;
- a rate whose ``expiration_date`` is before the file's own ``last_updated_on`` (the day of the load when
  the file gives none) is kept out, counted in the notes: the file itself says it was no longer what the
  payer allowed (a rate is in force through its expiration date; ``9999-12-31`` means none). Rates in
  force on the file's date are evidence of what the payer allowed then, dated by it, however old the file
  is: U&C observations are history (a 2024 file says what was allowed in 2024). The same file loaded
  later keeps its first load (same content is not reloaded).

Only fee-for-service items (``negotiation_arrangement`` ``ffs``) are a price for one service; bundles and
capitation are counted in the notes. ``billing_class`` sets the setting (``professional``,
``institutional`` → facility, ``both`` → one of each). Providers come inline (``provider_groups``) or
by reference to the top-level ``provider_references`` (read in a first pass into a temporary table and
joined in the database, so their number does not matter). One observation stands for one contract: a
provider group entry (its TIN and NPIs), at the place of its first registered NPI. ``"npi": [0]`` is a
contract with the TIN as a whole: no NPI is recorded, never a provider with NPI 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ijson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import (
    LoadSummary,
    Progress,
    ReferenceFileError,
    optional_decimal,
    parse_date,
)
from services.pricing.importers.observed import (
    LARGEST,
    ObservationWriter,
    Registry,
    provider_place,
    start_observations,
)
from services.pricing.importers.tables import open_json
from services.pricing.observations import STAGED, ObservationIn, copy_rows
from services.pricing.service_codes import cents, coded

RATE_KINDS = {"negotiated": "allowed", "percentage": "percent_of_billed", "per diem": "per_diem"}
KEPT_OUT_TYPES = {
    "derived": "in-network rates kept out of U&C: derived (an internal accounting price, not a payment)",
    "fee schedule": "in-network rates kept out of U&C: fee schedule (the member's cost-sharing basis)",
}
SETTINGS = {
    "professional": ("professional",),
    "institutional": ("facility",),
    "both": ("professional", "facility"),
}
REF_BATCH = 5000


@dataclass(frozen=True)
class ProviderGroup:
    """One contract: a TIN and its NPIs (none when the contract is with the TIN as a whole)."""

    npis: tuple[str, ...]
    tin: str | None


@dataclass(frozen=True)
class InNetworkPrice:
    """One negotiated price of one in-network item, for one setting, with its providers."""

    item: int  # position of the item in ``in_network`` (1-based): the "row" of a rejection
    kind: str  # allowed | percent_of_billed | per_diem
    setting: str  # professional | facility
    code: str
    amount: Decimal  # dollars, or a percentage for percent_of_billed
    references: tuple[int, ...]  # provider_group_id values to resolve
    groups: tuple[ProviderGroup, ...]  # inline provider groups


def provider_group(raw: dict[str, Any]) -> ProviderGroup:
    """A provider group entry; NPI 0 (a TIN-level contract) and blanks are not NPIs."""
    npis = tuple(s for n in raw.get("npi") or [] if (s := str(n).strip()) and s.strip("0"))
    tin = (raw.get("tin") or {}).get("value")
    return ProviderGroup(npis, str(tin).strip() if tin else None)


def _references(raw: Any) -> tuple[int, ...]:
    out = []
    for value in raw or []:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            out.append(int(value))
    return tuple(out)


def _price(
    number: int, code: str, price: dict[str, Any], as_of: date, summary: LoadSummary
) -> tuple[str, Decimal] | None:
    """The kind and amount of one negotiated price, or None (kept out and counted, or rejected)."""
    negotiated_type = str(price.get("negotiated_type") or "").strip().lower()
    if negotiated_type in KEPT_OUT_TYPES:
        summary.keep_out(KEPT_OUT_TYPES[negotiated_type])
        return None
    kind = RATE_KINDS.get(negotiated_type)
    if kind is None:
        summary.reject(
            number,
            f"negotiated_type {negotiated_type!r}: not negotiated, derived, fee schedule, "
            "percentage or per diem",
        )
        return None
    try:
        expires = parse_date(price.get("expiration_date"), "expiration_date")
        amount = optional_decimal(price.get("negotiated_rate"), "negotiated_rate")
    except ValueError as exc:
        summary.reject(number, f"{code}: {exc}")
        return None
    if expires is not None and expires < as_of:
        summary.keep_out(
            f"in-network rates kept out of U&C: expired before the file's date {as_of.isoformat()}"
        )
        return None
    if amount is None or amount <= 0 or amount > LARGEST:
        summary.reject(number, f"{code}: negotiated_rate is not a positive amount")
        return None
    return kind, cents(amount)


def in_network_prices(
    items: Iterable[dict[str, Any]], as_of: date, summary: LoadSummary
) -> Iterator[InNetworkPrice]:
    """Every price of the ``in_network`` items that is evidence of what the payer allows (module doc)."""
    for number, item in enumerate(items, start=1):
        arrangement = str(item.get("negotiation_arrangement") or "ffs").strip().lower()
        if arrangement != "ffs":
            summary.keep_out(
                f"in-network items kept out: {arrangement} "
                "(a price for a bundle or per member, not for one service)"
            )
            continue
        pairs = [(str(item.get("billing_code") or ""), str(item.get("billing_code_type") or ""))]
        service, why = coded(pairs)
        if service is None:
            summary.reject(number, why)
            continue
        for rate in item.get("negotiated_rates") or []:
            references = _references(rate.get("provider_references"))
            groups = tuple(provider_group(g) for g in rate.get("provider_groups") or [])
            for price in rate.get("negotiated_prices") or []:
                found = _price(number, service, price, as_of, summary)
                if found is None:
                    continue
                code = coded(pairs, [str(m) for m in price.get("billing_code_modifier") or []])[0] or service
                billing_class = str(price.get("billing_class") or "").strip().lower()
                settings = SETTINGS.get(billing_class)
                if settings is None:
                    summary.reject(
                        number,
                        f"{code}: billing_class {billing_class!r}: not professional, institutional or both",
                    )
                    continue
                for setting in settings:
                    yield InNetworkPrice(number, found[0], setting, code, found[1], references, groups)


def _top_level(path: Path, summary: LoadSummary) -> tuple[str | None, date | None]:
    """Which array the file holds (in_network or out_of_network) and its last_updated_on, if before it.

    Events are read one by one in Python, so this stops at the first top-level array it knows: only
    in-network files have ``provider_references``, which may run to gigabytes before ``in_network``.
    """
    updated: date | None = None
    with open_json(path, summary) as fh:
        try:
            for prefix, event, value in ijson.parse(fh):
                if prefix == "" and event == "map_key" and value in ("in_network", "out_of_network"):
                    return str(value), updated
                if prefix == "" and event == "map_key" and value == "provider_references":
                    return "in_network", updated
                if prefix == "last_updated_on" and event == "string":
                    try:
                        updated = parse_date(value, "last_updated_on")
                    except ValueError:
                        updated = None
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    return None, updated


async def _stage_references(
    session: AsyncSession, path: Path, known: Registry, on: date | None, summary: LoadSummary
) -> None:
    """First pass: every provider reference's groups, with their place, into ``tic_groups``."""
    # IF NOT EXISTS and TRUNCATE: a manifest may load several files in one transaction.
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS tic_groups "
            "(ref bigint, tin text, facility_npi text, state text, zip3 text) ON COMMIT DROP"
        )
    )
    await session.execute(text("TRUNCATE tic_groups"))
    pending: list[tuple[Any, ...]] = []
    with open_json(path, summary) as fh:
        try:
            for reference in ijson.items(fh, "provider_references.item"):
                ref = reference.get("provider_group_id")
                if not isinstance(ref, int):
                    summary.keep_out("provider references kept out: no whole-number provider_group_id")
                    continue
                if "provider_groups" not in reference and reference.get("location"):
                    summary.keep_out("provider references kept out: in another file (location), not fetched")
                    continue
                for raw in reference.get("provider_groups") or []:
                    group = provider_group(raw)
                    place = provider_place(list(group.npis), known, on)
                    pending.append((ref, group.tin, place.facility_npi, place.state, place.zip3))
                if len(pending) >= REF_BATCH:
                    await copy_rows(session, "tic_groups", pending)
                    pending = []
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    await copy_rows(session, "tic_groups", pending)
    await session.execute(text("CREATE INDEX IF NOT EXISTS tic_groups_ref ON tic_groups (ref)"))


def _inline(price: InNetworkPrice, known: Registry, on: date | None) -> list[ObservationIn]:
    """One observation per distinct contract (TIN and place) of an inline price."""
    seen: set[tuple[str | None, str | None]] = set()
    out = []
    for group in price.groups:
        place = provider_place(list(group.npis), known, on)
        if (group.tin, place.facility_npi) in seen:
            continue
        seen.add((group.tin, place.facility_npi))
        out.append(
            ObservationIn(
                price.kind,
                price.setting,
                price.code,
                price.amount,
                1,
                place.state,
                place.zip3,
                place.facility_npi,
                on,
            )
        )
    return out


_RESOLVE = f"""
    INSERT INTO obs_staging ({", ".join(STAGED)})
    SELECT kind, setting, code, amount, count(*), state, zip3, facility_npi, CAST(:on AS date)
    FROM (
        SELECT DISTINCT p.id, p.kind, p.setting, p.code, p.amount, g.tin, g.facility_npi, g.state, g.zip3
        FROM tic_prices p JOIN tic_groups g ON g.ref = p.ref
    ) AS contracts
    GROUP BY kind, setting, code, amount, state, zip3, facility_npi
"""


async def load_in_network(
    session: AsyncSession,
    path: Path,
    as_of: date,
    summary: LoadSummary,
    progress: Progress | None,
    updated: date | None,
) -> None:
    known, writer = await start_observations(session, "tic", summary)
    await _stage_references(session, path, known, updated, summary)
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS tic_prices (id bigint, ref bigint, kind text, setting text, "
            "code text, amount numeric(12, 2)) ON COMMIT DROP"
        )
    )
    await session.execute(text("TRUNCATE tic_prices"))
    by_reference: list[tuple[Any, ...]] = []
    priced_inline = 0
    next_id = 0
    with open_json(path, summary, progress) as fh:
        try:
            for price in in_network_prices(ijson.items(fh, "in_network.item"), as_of, summary):
                if price.groups:
                    found = _inline(price, known, updated)
                    priced_inline += 1
                    await writer.add(found)
                if price.references:
                    next_id += 1
                    by_reference.extend(
                        (next_id, ref, price.kind, price.setting, price.code, price.amount)
                        for ref in price.references
                    )
                    if len(by_reference) >= REF_BATCH:
                        await copy_rows(session, "tic_prices", by_reference)
                        by_reference = []
                elif not price.groups:
                    summary.reject(price.item, f"{price.code}: a negotiated rate with no provider")
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    await copy_rows(session, "tic_prices", by_reference)
    await writer.flush()
    await session.execute(text(_RESOLVE), {"on": updated})
    resolved, unresolved = (
        await session.execute(
            text(
                "SELECT count(DISTINCT id) FILTER (WHERE found), count(*) FILTER (WHERE NOT found) FROM ("
                "SELECT p.id, EXISTS (SELECT 1 FROM tic_groups g WHERE g.ref = p.ref) AS found "
                "FROM tic_prices p) AS r"
            )
        )
    ).one()
    summary.keep_out("provider references a rate names that the file does not define", int(unresolved))
    summary.rows_loaded += priced_inline + int(resolved)
    await writer.finish()


async def load_out_of_network(
    session: AsyncSession, path: Path, summary: LoadSummary, progress: Progress | None
) -> None:
    """Allowed-amount file: each provider's billed charge and the amount allowed."""
    known, writer = await start_observations(session, "tic", summary)
    with open_json(path, summary, progress) as fh:
        try:
            for number, item in enumerate(ijson.items(fh, "out_of_network.item"), start=1):
                await _allowed_item(number, item, known, writer, summary)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not valid JSON ({exc})") from exc
    await writer.finish()


async def _allowed_item(
    number: int, item: dict[str, Any], known: Registry, writer: ObservationWriter, summary: LoadSummary
) -> None:
    for allowed in item.get("allowed_amounts", []):
        setting = "facility" if allowed.get("billing_class") == "institutional" else "professional"
        for payment in allowed.get("payments", []):
            code, why = coded(
                [(item.get("billing_code", ""), item.get("billing_code_type", ""))],
                payment.get("billing_code_modifier", []),
            )
            if code is None:
                summary.reject(number, why)
                continue
            try:
                amount = optional_decimal(payment.get("allowed_amount"), "allowed_amount")
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            for provider in payment.get("providers", []):
                place = provider_place(list(provider_group(provider).npis), known, None)
                base = ObservationIn(
                    "charge", setting, code, Decimal(0), 1, place.state, place.zip3, place.facility_npi
                )
                try:
                    billed = optional_decimal(provider.get("billed_charge"), "billed_charge")
                except ValueError as exc:
                    summary.reject(number, str(exc))
                    continue
                found = [
                    base._replace(kind=k, amount=cents(v))
                    for k, v in (("charge", billed), ("allowed", amount))
                    if v is not None and 0 < v <= LARGEST
                ]
                if not found:
                    summary.reject(number, "no billed charge or allowed amount")
                    continue
                summary.rows_loaded += 1
                await writer.add(found)


async def load_tic(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    """A Transparency in Coverage file of either kind (see the module docstring)."""
    layout, updated = _top_level(path, summary)
    if layout == "in_network":
        as_of = updated or datetime.now(UTC).date()
        await load_in_network(session, path, as_of, summary, progress, updated)
    elif layout == "out_of_network":
        await load_out_of_network(session, path, summary, progress)
    else:
        raise ReferenceFileError(
            f"{path.name}: no in_network or out_of_network array (Transparency in Coverage in-network "
            "rates or allowed amounts)"
        )

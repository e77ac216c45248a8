"""Loading a Transparency in Coverage file: which kind it is, and the in-network rates' load.

What the files hold and what becomes an observation is in :mod:`services.pricing.importers.tic` (the
rates) and :mod:`services.pricing.importers.tic_allowed` (allowed amounts). In-network provider
references are read in a first pass into a temporary table and joined in the database, so their number
does not matter; prices by reference are staged by COPY and resolved into observations by one
statement at the end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ijson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, ReferenceFileError, parse_date
from services.pricing.importers.observed import Registry, provider_place, start_observations
from services.pricing.importers.tables import open_json
from services.pricing.importers.tic import InNetworkPrice, in_network_prices, provider_group
from services.pricing.importers.tic_allowed import load_out_of_network
from services.pricing.observations import STAGED, ObservationIn
from services.pricing.staging import copy_rows

REF_BATCH = 5000


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

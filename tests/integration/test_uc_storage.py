"""The folded U&C storage (place cells, wide-scope cells, scope totals) always equals what the folded
observations add up to, scope by scope, through a file load (kept in chunks while it is parsed), the
in-house fold loop, a facility's change of credentials and withdrawals; and the reviews' figures equal
plain ``percentile_disc`` over the rows. A file load fails as a whole, with its own error.

Everything runs in one transaction that is rolled back, on codes no other test uses, so the running
pricing service's tables are left as they were."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import services.pricing.importers.observed as observed
import services.pricing.staging as staging
from services.pricing.config import PricingSettings
from services.pricing.importers import ReferenceFileError, run_load
from services.pricing.importers.base import LoadSummary
from services.pricing.importers.observed import start_observations
from services.pricing.observations import (
    STAGED,
    ObservationIn,
    deposit,
    fold_pending,
    refold_facilities,
    withdraw,
)
from services.pricing.scope_figures import scope_figures
from services.pricing.staging import create_staging, fold_staged, stage_csv, staging_csv
from shared.catalog import service
from shared.stack.devstack import DevStack
from tests.helpers import rolled_back_session

D = Decimal

# Every scope of every folded observation, recomputed from the rows and the registry as they are now.
EXPECTED = """
    SELECT o.kind, o.setting, o.code, s.scope, o.amount, sum(o.weight)::bigint AS n
    FROM pricing.observations o LEFT JOIN pricing.facilities f ON f.npi = o.facility_npi
    CROSS JOIN LATERAL unnest(ARRAY[
        'US', 'ST:' || nullif(o.state, ''), 'Z3:' || nullif(o.zip3, ''),
        'P1:' || f.facility_type,
        'P2:' || f.facility_type || '|' || f.bed_band,
        'P3:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching,
        'P4:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching || '|' || f.trauma_level
    ]) AS s(scope)
    WHERE o.folded AND o.code = ANY(:codes) AND s.scope IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
"""
# The cells' service and place ids, read back as the text they stand for.
SERVICE = "JOIN pricing.uc_services v ON v.id = service_id WHERE v.code = ANY(:codes)"
PLACE_CELL = (
    "JOIN pricing.uc_services v ON v.id = service_id JOIN pricing.uc_places k ON k.id = place_id "
    "WHERE v.code = :code"
)


@pytest.fixture
async def session(stack: DevStack) -> AsyncIterator[AsyncSession]:
    url = stack.database_url(service("pricing"))
    async with rolled_back_session(PricingSettings(service="test", database_url=url, db_pool_size=1)) as s:
        yield s


async def _rows(session: AsyncSession, sql: str, codes: list[str]) -> set[tuple[object, ...]]:
    return {tuple(r) for r in await session.execute(text(sql), {"codes": codes})}


async def _assert_consistent(session: AsyncSession, codes: list[str]) -> None:
    expected = await _rows(session, EXPECTED, codes)
    cells = await _rows(
        session,
        "SELECT kind, setting, code, scope, amount, n FROM pricing.uc_cells WHERE code = ANY(:codes)",
        codes,
    )
    assert cells == expected
    wide = await _rows(
        session,
        f"SELECT kind, setting, code, scope, amount, n FROM pricing.uc_scope_cells {SERVICE}",
        codes,
    )
    assert wide == {r for r in expected if r[3] == "US" or r[3].startswith("ST:")}
    totals: dict[tuple[object, ...], int] = {}
    for kind, setting, code, scope, _, n in expected:
        totals[(kind, setting, code, scope)] = totals.get((kind, setting, code, scope), 0) + n
    stored = await _rows(
        session, f"SELECT kind, setting, code, scope, n FROM pricing.uc_totals {SERVICE}", codes
    )
    assert stored == {(*k, n) for k, n in totals.items()}
    # No count left at 0 (withdrawals delete what they empty).
    for table in ("uc_place_cells", "uc_scope_cells", "uc_totals"):
        zero = f"SELECT count(*) FROM pricing.{table} {SERVICE} AND n <= 0"
        assert (await session.execute(text(zero), {"codes": codes})).scalar_one() == 0


async def _fold_all(session: AsyncSession) -> None:
    """Fold the pending observations; the running service's loop may hold the fold lock a moment."""
    for _ in range(200):
        await fold_pending(session)
        left = await session.execute(text("SELECT count(*) FROM pricing.observations WHERE NOT folded"))
        if left.scalar_one() == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the fold lock was never free")


async def test_storage_follows_loads_folds_registry_changes_and_withdrawals(session: AsyncSession) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    codes = [f"T{tag}1", f"T{tag}2"]
    npis = [f"9{tag}{i:03d}"[:10] for i in range(3)]
    for i, npi in enumerate(npis[:2]):  # the third NPI is not registered: no peer scopes
        await session.execute(
            text(
                "INSERT INTO pricing.facilities (npi, name, facility_type, bed_band, teaching, trauma_level, "
                "state, zip) VALUES (:npi, 'T', 'acute care hospital', :band, 'none', 'II', 'ID', '83701')"
            ),
            {"npi": npi, "band": ["100-199", "200-299"][i]},
        )
    a, b = codes
    hospital = ("ID", "837", npis[0])
    file_rows = [
        ObservationIn("charge", "professional", a, D("100.00"), 1, *hospital),
        ObservationIn("charge", "professional", a, D("100.00"), 3, *hospital),
        ObservationIn("charge", "professional", a, D("250.00"), 1, *hospital),
        ObservationIn("charge", "professional", a, D("180.00"), 2, "ID", "832", npis[1]),
        ObservationIn("charge", "professional", a, D("90.00"), 1, "MT", "590", npis[2]),
        ObservationIn("charge", "professional", a, D("95.00"), 1, None, None, None),
        ObservationIn("allowed", "facility", b, D("1200.50"), 5, "ID", None, None),
    ]
    await create_staging(session)
    await stage_csv(session, staging_csv(file_rows))
    await fold_staged(session, "file", f"test-{tag}")
    await _assert_consistent(session, codes)

    bill = uuid.uuid4()
    in_house = [
        ObservationIn("charge", "professional", a, D("100.00"), 1, *hospital),
        ObservationIn("charge", "professional", a, D("300.00"), 1, "ID", "837", npis[1]),
        ObservationIn("charge", "professional", b, D("40.00"), 1, "WY", "820", None),
        ObservationIn("charge", "professional", b, D("40.00"), 2, "WY", "820", f"8{tag}0000"[:10]),
        # An empty state is no state: one place, one cell, with the row that has none.
        ObservationIn("charge", "professional", b, D("45.00"), 1, "", "821", None),
        ObservationIn("charge", "professional", b, D("45.00"), 1, None, "821", None),
    ]
    await deposit(session, "bill", bill, in_house)
    await _fold_all(session)
    await _assert_consistent(session, codes)
    # Two unregistered providers at one state and ZIP3 share a place: one cell of their common amount.
    shared = f"SELECT n FROM pricing.uc_place_cells {PLACE_CELL} AND place = 'WY|820|'"
    assert (await session.execute(text(shared), {"code": b})).scalar_one() == 3

    # A facility's credentials change: its peer scopes follow.
    await refold_facilities(session, [npis[0]], add=False)
    await session.execute(
        text("UPDATE pricing.facilities SET teaching = 'major', trauma_level = 'I' WHERE npi = :npi"),
        {"npi": npis[0]},
    )
    await refold_facilities(session, [npis[0]], add=True)
    await _assert_consistent(session, codes)

    # A provider is registered (it gets a place and peers of its own), another one leaves the registry.
    await refold_facilities(session, [npis[2]], add=False)
    await session.execute(
        text(
            "INSERT INTO pricing.facilities (npi, name, facility_type, bed_band, teaching, trauma_level, "
            "state, zip) VALUES (:npi, 'T', 'physician group', '1-99', 'none', 'none', 'MT', '59001')"
        ),
        {"npi": npis[2]},
    )
    await refold_facilities(session, [npis[2]], add=True)
    await _assert_consistent(session, codes)
    await refold_facilities(session, [npis[1]], add=False)
    await session.execute(text("DELETE FROM pricing.facilities WHERE npi = :npi"), {"npi": npis[1]})
    await refold_facilities(session, [npis[1]], add=True)
    await _assert_consistent(session, codes)

    # The reviews' figures: the nearest-rank percentile of each scope, as plain SQL computes it.
    chains = [[("professional", a, "Z3:837"), ("professional", a, "ST:ID"), ("professional", a, "US")]]
    for percentile in (20, 50, 80):
        figures = await scope_figures(session, "charge", percentile, 3, chains)
        for (setting, code, scope), figure in figures.items():
            plain = (
                await session.execute(
                    text(
                        "SELECT percentile_disc(CAST(:p AS float) / 100) WITHIN GROUP (ORDER BY e.amount) "
                        "FROM (SELECT amount, generate_series(1, n) FROM (" + EXPECTED + ") x "
                        "WHERE setting = :setting AND code = :code AND scope = :scope AND kind = 'charge') e"
                    ),
                    {"p": percentile, "codes": codes, "setting": setting, "code": code, "scope": scope},
                )
            ).scalar_one()
            assert figure.value == (plain if figure.observations >= 3 else None), (percentile, scope)

    # The bill is priced: its own observations go, exactly; then the file is unloaded.
    assert await withdraw(session, "bill", str(bill)) == len(in_house)
    await _assert_consistent(session, codes)
    place_cells = f"SELECT count(*) FROM pricing.uc_place_cells {PLACE_CELL} AND place = 'WY|820|'"
    assert (await session.execute(text(place_cells), {"code": b})).scalar_one() == 0  # withdrawn
    assert await withdraw(session, "file", f"test-{tag}") == len(file_rows)
    await _assert_consistent(session, codes)
    for table in ("uc_place_cells", "uc_scope_cells", "uc_totals"):
        left = f"SELECT count(*) FROM pricing.{table} {SERVICE}"
        assert (await session.execute(text(left), {"codes": codes})).scalar_one() == 0


async def _still_running(_: AsyncSession) -> bool:
    return True


@pytest.mark.parametrize("server", ["as it is", "always busy"])
async def test_a_load_kept_in_chunks_while_parsing_folds_every_observation_once(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    """Chunks kept and summed on the server while the next rows are parsed, batches waiting meanwhile,
    the same cells in several chunks: the rows are kept as they came and the cells are exactly theirs."""
    monkeypatch.setattr(observed, "BATCH", 2)
    monkeypatch.setattr(observed, "CHUNK", 3)
    if server == "always busy":  # every batch waits until a chunk's worth is parsed
        monkeypatch.setattr(observed, "chunk_running", _still_running)
    tag = uuid.uuid4().hex[:6].upper()
    codes = [f"C{tag}1", f"C{tag}2"]
    rows = [
        ObservationIn("charge", "professional", codes[i % 2], D(100 + i % 3), 1 + i % 2, "ID", "837", None)
        for i in range(17)
    ]
    # A source's name is the user's text: quotes and backslashes are kept as they are, never run as SQL.
    source = f"test-{tag} St. Mary's \\ O''Neil"
    summary = LoadSummary("observations", "chunks.csv", source)
    _, writer = await start_observations(session, "file", summary)
    for row in rows:
        await writer.add([row])
    await writer.finish()
    kept = await session.execute(
        text(
            f"SELECT {', '.join(STAGED)} FROM pricing.observations WHERE origin = 'file' AND origin_ref = :r"
        ),
        {"r": source},
    )
    assert sorted(tuple(r) for r in kept) == sorted(rows)
    await _assert_consistent(session, codes)


def _slow_or_failing(extra: str) -> Callable[[], list[str]]:
    chunk_script = staging._chunk_script
    return lambda: [*chunk_script(), extra]


async def test_a_chunk_that_fails_on_the_server_fails_the_load(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(observed, "BATCH", 1)
    monkeypatch.setattr(observed, "CHUNK", 1)
    monkeypatch.setattr(staging, "_chunk_script", _slow_or_failing("SELECT 1 / 0"))
    summary = LoadSummary("observations", "failing.csv", f"test-{uuid.uuid4().hex[:6]}")
    _, writer = await start_observations(session, "file", summary)

    async def load() -> None:
        for _ in range(3):
            await writer.add([ObservationIn("charge", "professional", "99213", D("10.00"))])
        await writer.finish()

    with pytest.raises(asyncpg.DivisionByZeroError):
        await load()


async def test_a_file_that_fails_while_a_chunk_runs_fails_with_its_own_error(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The parser's error is the load's, once the chunk on the server is over: the connection is then free
    for the caller's rollback (here: for another statement)."""
    monkeypatch.setattr(observed, "BATCH", 1)
    monkeypatch.setattr(observed, "CHUNK", 1)
    monkeypatch.setattr(staging, "_chunk_script", _slow_or_failing("SELECT pg_sleep(0.3)"))
    items = [
        {
            "description": f"item {i}",
            "code_information": [{"code": "99213", "type": "CPT"}],
            "standard_charges": [{"setting": "outpatient", "gross_charge": 100 + i}],
        }
        for i in range(3)
    ]
    document = {
        "hospital_name": "Test General",
        "last_updated_on": "2026-01-01",
        "version": "3.0.0",
        "hospital_address": ["1 Main St, Boise, ID 83701"],
        "type_2_npi": ["1000000004"],
        "standard_charge_information": items,
    }
    path = tmp_path / f"broken-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(document)[:-2] + ', {"description": ')  # cut off after three items
    with pytest.raises(ReferenceFileError, match="not valid JSON"):
        await run_load(session, "hpt", path)
    assert (await session.execute(text("SELECT 1"))).scalar_one() == 1

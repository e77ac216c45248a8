"""Reference data kept in memory by each pricing process, dropped as soon as a load or unload changes it.

Reference tables (RVUs, GPCIs, localities, OPPS, CLFS, DMEPOS, anesthesia, IPPS, wage indexes, fee
schedules, contracts, networks, clients, the facility registry, NCCI and MUE edits) change only through a
reference load or unload (``importers.run_load`` and ``importers.unload``, under the load lock). Both call
:func:`bump` in their own transaction, which replaces the token of the one row of
``pricing.reference_version``. Every decision starts with :meth:`ReferenceCache.view`: one read of that
row (a primary-key lookup, about 0.1 ms), or with :meth:`ReferenceCache.at` when the token was read in
another statement of the decision's transaction (a received bill's: see ``repository``); a token other
than the one the cache was filled under empties the cache. So a decision started after a load committed
never uses what it replaced, whichever process loaded it; a load rolled back leaves the old token, and the
cache filled meanwhile is dropped again.

What may be cached: rows read from those tables, keyed by what was asked (``("rvu", 2025, "99213")``),
including "nothing there". Never the U&C cells: they change with every folded bill.

A value is stored only under the token read before it was fetched (:meth:`CacheView.put`), so a decision
that raced a load cannot leave old rows under the new token. The cache holds at most ``max_entries``
keys; past that it starts again empty (the reference data a pricing process uses is a few thousand codes,
far below; the bound only keeps a pathological stream of distinct keys from growing memory).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "pricing"
MISSING: Any = object()  # what ``CacheView.get`` answers for a key not cached
# The reference version's token; usable as a scalar subquery of another statement (one round trip less).
TOKEN_QUERY = f"SELECT token FROM {SCHEMA}.reference_version WHERE id = 1"


async def bump(session: AsyncSession) -> None:
    """Mark every pricing process's cached reference data stale, in the caller's (load's) transaction."""
    await session.execute(
        text(f"UPDATE {SCHEMA}.reference_version SET token = gen_random_uuid(), changed_at = now()")
    )


class ReferenceCache:
    """One per process (:data:`CACHE`); shared by concurrent decisions of the process's event loop."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.token: uuid.UUID | None = None
        self.max_entries = max_entries
        self.entries: dict[Hashable, Any] = {}

    async def view(self, session: AsyncSession) -> CacheView:
        """The cache as of the reference version the session sees now (emptied if that changed)."""
        token = (await session.execute(text(TOKEN_QUERY))).scalar_one()
        return self.at(token)

    def at(self, token: uuid.UUID) -> CacheView:
        """The cache as of ``token``, read by the caller from the session that will use the view
        (:data:`TOKEN_QUERY`, e.g. as part of another statement); emptied if the version changed."""
        if token != self.token:
            self.entries = {}
            self.token = token
        return CacheView(self, token)


class CacheView:
    """Reads and writes of one decision, under the token it read first."""

    def __init__(self, cache: ReferenceCache, token: uuid.UUID) -> None:
        self.cache, self.token = cache, token

    def get(self, key: Hashable) -> Any:
        return self.cache.entries.get(key, MISSING) if self.cache.token == self.token else MISSING

    def put(self, key: Hashable, value: Any) -> None:
        cache = self.cache
        if cache.token != self.token:  # a newer version was seen while this value was fetched
            return
        if len(cache.entries) >= cache.max_entries:
            cache.entries = {}
        cache.entries[key] = value


CACHE = ReferenceCache()

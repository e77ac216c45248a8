"""Make a Postgres server and a broker ready for Parley: database, roles, schemas, migrations, topics.

Every step is idempotent, so the dev stack runs all of them on every start and the tests run them once
per session. The roles and schemas come from ``deploy/postgres/init.sql``, the same file docker-compose
hands to the Postgres image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from shared.bus.kafka import ensure_topics
from shared.catalog import SERVICES, ServiceInfo
from shared.db import asyncpg_dsn
from shared.migrations import upgrade
from shared.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INIT_SQL = PROJECT_ROOT / "deploy" / "postgres" / "init.sql"
DATABASE = "parley"


async def create_database(superuser_url: str, database: str = DATABASE) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(superuser_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def create_roles_and_schemas(database_superuser_url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_superuser_url))
    try:
        await conn.execute(INIT_SQL.read_text())
    finally:
        await conn.close()


async def migrate_all(
    url_for: Callable[[ServiceInfo], str], services: tuple[ServiceInfo, ...] = SERVICES
) -> None:
    """Upgrade every service's schema to head, each as its own role."""
    for info in services:
        # Alembic's env runs its own event loop; give it a thread.
        await asyncio.to_thread(upgrade, info.name, url_for(info))


async def prepare(
    *,
    superuser_url: Callable[[str], str],
    url_for: Callable[[ServiceInfo], str],
    kafka: Settings,
    after_roles: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Database, roles, schemas, migrations and topics; ``superuser_url(db)`` names the admin connection."""
    await create_database(superuser_url("postgres"))
    await create_roles_and_schemas(superuser_url(DATABASE))
    if after_roles is not None:
        await after_roles()
    await migrate_all(url_for)
    await ensure_topics(kafka)

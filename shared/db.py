"""Database helpers: one async engine per service role, metadata bound to the service's own schema.

Sessions never commit inside repositories or domain code; they ``flush()``. The boundary that opened the
transaction (a request dependency or the consumer runner) commits, which is what lets a business change
and its outbox row land together.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Annotated

import asyncpg
import structlog
from sqlalchemy import MetaData, Numeric, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import mapped_column

from shared.settings import Settings

log = structlog.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Cents-exact money column; never a float.
Money = Annotated[Decimal, mapped_column(Numeric(12, 2))]


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_timeout=settings.db_pool_timeout,
        # Error messages and logs must not carry a statement's parameters: they may be patient data.
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": f"parley-{settings.service}"}},
    )


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, in its transaction: for COPY and for hot statements
    that skip SQLAlchemy's compile, execution and result layers."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same URL in the form asyncpg itself accepts (for LISTEN connections)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen(database_url: str, channel: str, wake: asyncio.Event) -> None:
    """Hold a LISTEN connection open until cancelled, reconnecting if it drops; each NOTIFY sets ``wake``.

    For loops that drain a table (the outbox relay, intake's webhook deliveries): they poll anyway, so a
    notification lost while reconnecting only costs one poll interval.
    """
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(asyncpg_dsn(database_url))
            await conn.add_listener(channel, lambda *_: wake.set())
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _conn, ev=closed: ev.set())
            await closed.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("db.listen_failed", channel=channel, error=repr(exc))
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()
        await asyncio.sleep(1.0)

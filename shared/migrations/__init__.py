"""Alembic, one environment per service, each with its version table inside the service's own schema.

A service's ``migrations/env.py`` is one call to :func:`run_env`. Migrations run as the service's own
role, so the tables they create are owned by that role and invisible to the others. An advisory lock
keeps two replicas from migrating the same schema at once.
"""

from __future__ import annotations

import asyncio
import importlib
import zlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.catalog import service

TEMPLATE_DIR = Path(__file__).parent


def alembic_config(service_name: str, database_url: str) -> Config:
    package = importlib.import_module(service(service_name).package)
    assert package.__file__ is not None
    config = Config()
    config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["schema"] = service(service_name).schema
    return config


def upgrade(service_name: str, database_url: str, revision: str = "head") -> None:
    """Blocking; call through ``asyncio.to_thread`` from async code (Alembic runs its own event loop)."""
    command.upgrade(alembic_config(service_name, database_url), revision)


def revision(service_name: str, database_url: str, message: str, *, autogenerate: bool = True) -> None:
    command.revision(alembic_config(service_name, database_url), message=message, autogenerate=autogenerate)


def _include_name(schema: str) -> Any:
    # Reflection stays inside the service's schema: the role may not even look at the others.
    def include(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return True

    return include


def _include_object(schema: str) -> Any:
    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return bool(obj.schema == schema)
        return True

    return include


def _configure(metadata: MetaData, schema: str, **kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=_include_name(schema),
        include_object=_include_object(schema),
        compare_type=True,
        **kwargs,
    )


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``env.py``."""
    schema = metadata.schema
    assert schema is not None, "service metadata must be bound to the service schema"
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by shared.migrations.alembic_config"

    if context.is_offline_mode():
        _configure(metadata, schema, url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        # Serialise concurrent migrators of this schema (several replicas starting together).
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(schema.encode())})
        _configure(metadata, schema, connection=connection)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())

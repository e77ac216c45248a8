"""The declarative base of pricing's tables: every table lives in the ``pricing`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import service_metadata
from shared.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    metadata = service_metadata("pricing")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)

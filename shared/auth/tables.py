"""The access tables every service declares on its own MetaData (so its Alembic owns them).

- ``<schema>.access_tokens``: this service's replica of every personal/service token's hash, with the
  user's name, roles and clients, kept from ``identity.events`` (:mod:`shared.auth.replica`). A token is
  checked by a lookup here: no service asks another at request time.
- ``<schema>.audit_log``: append-only record of reads of protected health information and of every change
  made by a person (:mod:`shared.auth.audit`). The service's migration revokes UPDATE, DELETE and TRUNCATE
  on it from the service's own role and adds a trigger that refuses them.

A service declares both with one call beside its bus tables::

    bus = add_bus_tables(Base.metadata)
    access = add_access_tables(Base.metadata)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class AccessTables:
    tokens: Table
    audit_log: Table

    @property
    def schema(self) -> str:
        assert self.audit_log.schema is not None
        return self.audit_log.schema


def add_identity_tables(metadata: MetaData) -> Table:
    return Table(
        "access_tokens",
        metadata,
        Column("token_id", Text, primary_key=True),
        Column("secret_sha256", Text, nullable=False),
        Column("user_id", Text, nullable=False, index=True),
        Column("name", Text, nullable=False),
        Column("roles", ARRAY(Text), nullable=False),
        Column("clients", ARRAY(Text), nullable=False),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True)),
        Column("revoked_at", DateTime(timezone=True)),
        Column("disabled_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def add_audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        # The database's clock, not the caller's: entries from several instances order by one clock.
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor_kind", Text, nullable=False),  # user, partner, operator, provider_link
        Column("actor", Text, nullable=False),  # user id or partner id
        Column("roles", ARRAY(Text), nullable=False),
        Column("via", Text, nullable=False),  # token, oidc, session, partner_key, command
        Column("token_id", Text),
        Column("action", Text, nullable=False),  # e.g. read:bill, respond:case, load:reference
        Column("object_type", Text, nullable=False),
        Column("object_id", Text),
        Column("client_id", Text),
        Column("request_id", Text),
        Column("source_ip", Text),
        Column("user_agent", Text),
        Column("detail", JSONB),  # identifiers and amounts only: never patient data
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_client_id_at", "client_id", "at"),
    )


def add_access_tables(metadata: MetaData) -> AccessTables:
    return AccessTables(tokens=add_identity_tables(metadata), audit_log=add_audit_table(metadata))

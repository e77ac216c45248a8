"""U&C cells keyed by integers: a service (kind, setting, code) and a place get an id each

Issue 13's profile of an import: the cell writes were most of it, and a cell's five-column key (kind,
setting, code, place or scope, amount), four of them text, made each upsert about 2.4 times dearer than
the same upsert keyed by (service id, place id, amount). Now:

- ``uc_services`` (id, kind, setting, code) and ``uc_places`` (id, place): the dictionaries;
- ``uc_place_cells`` (service_id, place_id, amount, n), ``uc_scope_cells`` (service_id, scope, amount,
  n), ``uc_place_scopes`` (place_id, scope), ``uc_totals`` (service_id, scope, n): the same figures;
- ``uc_cells`` stays a view with its text columns, for inspection.

The ``(kind, setting, code)`` index on ``observations`` goes: nothing reads observations by service
(the reviews read cells), and it was half of the cost of keeping a loaded observation.

Revision ID: 3a7c5e9b1d24
Revises: 9d2f6b1e4c83
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a7c5e9b1d24"
down_revision: str | None = "9d2f6b1e4c83"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pricing"
OLD_VIEW = f"""
CREATE VIEW {SCHEMA}.uc_cells AS
SELECT c.kind, c.setting, c.code, s.scope, c.amount, sum(c.n)::bigint AS n
FROM {SCHEMA}.uc_place_cells c JOIN {SCHEMA}.uc_place_scopes s ON s.place = c.place
GROUP BY 1, 2, 3, 4, 5
HAVING sum(c.n) > 0
"""
NEW_VIEW = f"""
CREATE VIEW {SCHEMA}.uc_cells AS
SELECT v.kind, v.setting, v.code, s.scope, c.amount, sum(c.n)::bigint AS n
FROM {SCHEMA}.uc_place_cells c
JOIN {SCHEMA}.uc_place_scopes s ON s.place_id = c.place_id
JOIN {SCHEMA}.uc_services v ON v.id = c.service_id
GROUP BY 1, 2, 3, 4, 5
HAVING sum(c.n) > 0
"""


def _rename_old() -> None:
    op.execute(f"DROP VIEW {SCHEMA}.uc_cells")
    for table in ("uc_place_cells", "uc_scope_cells", "uc_place_scopes", "uc_totals"):
        op.execute(f"ALTER TABLE {SCHEMA}.{table} RENAME TO old_{table}")
        op.execute(f"ALTER TABLE {SCHEMA}.old_{table} RENAME CONSTRAINT pk_{table} TO pk_old_{table}")
    op.execute(f"ALTER INDEX {SCHEMA}.ix_uc_place_scopes_scope RENAME TO ix_old_uc_place_scopes_scope")


def _drop_old() -> None:
    for table in ("uc_place_cells", "uc_scope_cells", "uc_place_scopes", "uc_totals"):
        op.execute(f"DROP TABLE {SCHEMA}.old_{table}")


def upgrade() -> None:
    _rename_old()
    op.create_table(
        "uc_services",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("setting", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uc_services")),
        sa.UniqueConstraint("kind", "setting", "code", name="uq_uc_services_kind"),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_places",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uc_places")),
        sa.UniqueConstraint("place", name=op.f("uq_uc_places_place")),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_place_cells",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "place_id", "amount", name=op.f("pk_uc_place_cells")),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_scope_cells",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "scope", "amount", name=op.f("pk_uc_scope_cells")),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_place_scopes",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("place_id", "scope", name=op.f("pk_uc_place_scopes")),
        schema=SCHEMA,
    )
    op.create_index("ix_uc_place_scopes_scope", "uc_place_scopes", ["scope", "place_id"], schema=SCHEMA)
    op.create_table(
        "uc_totals",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "scope", name=op.f("pk_uc_totals")),
        schema=SCHEMA,
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_services (kind, setting, code) "
        f"SELECT kind, setting, code FROM {SCHEMA}.old_uc_totals UNION "
        f"SELECT kind, setting, code FROM {SCHEMA}.old_uc_place_cells ORDER BY 1, 2, 3"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_places (place) "
        f"SELECT DISTINCT place FROM {SCHEMA}.old_uc_place_scopes ORDER BY 1"
    )
    service = f"JOIN {SCHEMA}.uc_services v ON (v.kind, v.setting, v.code) = (o.kind, o.setting, o.code)"
    place = f"JOIN {SCHEMA}.uc_places k ON k.place = o.place"
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_place_scopes (place_id, scope) "
        f"SELECT k.id, o.scope FROM {SCHEMA}.old_uc_place_scopes o {place}"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_place_cells (service_id, place_id, amount, n) "
        f"SELECT v.id, k.id, o.amount, o.n FROM {SCHEMA}.old_uc_place_cells o {service} {place}"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_scope_cells (service_id, scope, amount, n) "
        f"SELECT v.id, o.scope, o.amount, o.n FROM {SCHEMA}.old_uc_scope_cells o {service}"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_totals (service_id, scope, n) "
        f"SELECT v.id, o.scope, o.n FROM {SCHEMA}.old_uc_totals o {service}"
    )
    _drop_old()
    op.execute(NEW_VIEW)
    op.drop_index("ix_observations_service", table_name="observations", schema=SCHEMA)


def downgrade() -> None:
    op.create_index("ix_observations_service", "observations", ["kind", "setting", "code"], schema=SCHEMA)
    _rename_old()
    op.execute(
        f"CREATE TABLE {SCHEMA}.uc_place_cells AS SELECT v.kind, v.setting, v.code, k.place, c.amount, c.n "
        f"FROM {SCHEMA}.old_uc_place_cells c JOIN {SCHEMA}.uc_services v ON v.id = c.service_id "
        f"JOIN {SCHEMA}.uc_places k ON k.id = c.place_id"
    )
    op.execute(
        f"CREATE TABLE {SCHEMA}.uc_scope_cells AS SELECT v.kind, v.setting, v.code, c.scope, c.amount, c.n "
        f"FROM {SCHEMA}.old_uc_scope_cells c JOIN {SCHEMA}.uc_services v ON v.id = c.service_id"
    )
    op.execute(
        f"CREATE TABLE {SCHEMA}.uc_place_scopes AS SELECT k.place, s.scope "
        f"FROM {SCHEMA}.old_uc_place_scopes s JOIN {SCHEMA}.uc_places k ON k.id = s.place_id"
    )
    op.execute(
        f"CREATE TABLE {SCHEMA}.uc_totals AS SELECT v.kind, v.setting, v.code, t.scope, t.n "
        f"FROM {SCHEMA}.old_uc_totals t JOIN {SCHEMA}.uc_services v ON v.id = t.service_id"
    )
    keys = {
        "uc_place_cells": "kind, setting, code, place, amount",
        "uc_scope_cells": "kind, setting, code, scope, amount",
        "uc_place_scopes": "place, scope",
        "uc_totals": "kind, setting, code, scope",
    }
    for table, key in keys.items():
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    op.create_index("ix_uc_place_scopes_scope", "uc_place_scopes", ["scope", "place"], schema=SCHEMA)
    _drop_old()
    op.drop_table("uc_places", schema=SCHEMA)
    op.drop_table("uc_services", schema=SCHEMA)
    op.execute(OLD_VIEW)

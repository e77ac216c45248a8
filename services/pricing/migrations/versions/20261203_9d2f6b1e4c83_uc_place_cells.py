"""U&C cells per place: each observation counted once where it was seen, scopes answered by the read

``uc_cells`` counted every folded observation under each of its seven scopes (national, state, ZIP3,
four peer levels): seven upserts per distinct amount, the bound of every reference import (issue 13).
Now:

- ``uc_place_cells`` (kind, setting, code, place, amount, n): the summed weight of the observations of
  one place (its state, ZIP3 and, when the registry holds it, facility NPI) at one per-unit amount. A hospital's
  price file is one place: each distinct amount of the file is one cell;
- ``uc_scope_cells`` (kind, setting, code, scope, amount, n): the per-amount weights of the wide scopes
  only (national, a state): too many places to read place by place;
- ``uc_place_scopes`` (place, scope): the scopes a place's observations count under (always ``US``; its
  state, its ZIP3 and, for a registered facility, its four peer levels);
- ``uc_totals`` (kind, setting, code, scope, n): each scope's summed weight, so a review counts a scope
  with one probe instead of reading its cells;
- ``uc_cells`` becomes a view: the per-scope cells, derived, for inspection.

The new tables are filled from the folded observations.

Revision ID: 9d2f6b1e4c83
Revises: c4e8a1f0d2b7
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d2f6b1e4c83"
down_revision: str | None = "c4e8a1f0d2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pricing"
# The same expressions as services.pricing.observations (a migration keeps its own copy: code moves on).
PLACE = "concat_ws('|', coalesce(o.state, ''), coalesce(o.zip3, ''), coalesce(pf.npi, ''))"
REGISTERED = f"LEFT JOIN {SCHEMA}.facilities pf ON pf.npi = o.facility_npi"
SCOPES = """unnest(ARRAY['US', 'ST:' || nullif(split_part(p.place, '|', 1), ''),
    'Z3:' || nullif(split_part(p.place, '|', 2), ''),
    'P1:' || f.facility_type,
    'P2:' || f.facility_type || '|' || f.bed_band,
    'P3:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching,
    'P4:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching || '|' || f.trauma_level])"""
CELLS_VIEW = f"""
CREATE VIEW {SCHEMA}.uc_cells AS
SELECT c.kind, c.setting, c.code, s.scope, c.amount, sum(c.n)::bigint AS n
FROM {SCHEMA}.uc_place_cells c JOIN {SCHEMA}.uc_place_scopes s ON s.place = c.place
GROUP BY 1, 2, 3, 4, 5
HAVING sum(c.n) > 0
"""


def upgrade() -> None:
    op.drop_table("uc_cells", schema=SCHEMA)
    op.create_table(
        "uc_place_cells",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("setting", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "setting", "code", "place", "amount", name=op.f("pk_uc_place_cells")),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_scope_cells",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("setting", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "setting", "code", "scope", "amount", name=op.f("pk_uc_scope_cells")),
        schema=SCHEMA,
    )
    op.create_table(
        "uc_place_scopes",
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("place", "scope", name=op.f("pk_uc_place_scopes")),
        schema=SCHEMA,
    )
    op.create_index("ix_uc_place_scopes_scope", "uc_place_scopes", ["scope", "place"], schema=SCHEMA)
    op.create_table(
        "uc_totals",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("setting", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "setting", "code", "scope", name=op.f("pk_uc_totals")),
        schema=SCHEMA,
    )
    folded = f"(SELECT * FROM {SCHEMA}.observations WHERE folded)"
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_place_scopes (place, scope) "
        f"SELECT p.place, s.scope FROM (SELECT DISTINCT {PLACE} AS place FROM {folded} o {REGISTERED}) p "
        f"LEFT JOIN {SCHEMA}.facilities f ON f.npi = nullif(split_part(p.place, '|', 3), '') "
        f"CROSS JOIN LATERAL {SCOPES} AS s(scope) WHERE s.scope IS NOT NULL"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_place_cells (kind, setting, code, place, amount, n) "
        f"SELECT o.kind, o.setting, o.code, {PLACE}, o.amount, sum(o.weight) FROM {folded} o {REGISTERED} "
        "GROUP BY 1, 2, 3, 4, 5"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_scope_cells (kind, setting, code, scope, amount, n) "
        f"SELECT c.kind, c.setting, c.code, s.scope, c.amount, sum(c.n) FROM {SCHEMA}.uc_place_cells c "
        f"JOIN {SCHEMA}.uc_place_scopes s ON s.place = c.place AND (s.scope = 'US' OR left(s.scope, 3) = 'ST:') "
        "GROUP BY 1, 2, 3, 4, 5"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.uc_totals (kind, setting, code, scope, n) "
        f"SELECT c.kind, c.setting, c.code, s.scope, sum(c.n) FROM {SCHEMA}.uc_place_cells c "
        f"JOIN {SCHEMA}.uc_place_scopes s ON s.place = c.place GROUP BY 1, 2, 3, 4"
    )
    op.execute(CELLS_VIEW)


def downgrade() -> None:
    op.execute(f"CREATE TABLE {SCHEMA}.uc_cells_table AS SELECT * FROM {SCHEMA}.uc_cells")
    op.execute(f"DROP VIEW {SCHEMA}.uc_cells")
    op.drop_table("uc_totals", schema=SCHEMA)
    op.drop_table("uc_scope_cells", schema=SCHEMA)
    op.drop_table("uc_place_scopes", schema=SCHEMA)
    op.drop_table("uc_place_cells", schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.uc_cells_table RENAME TO uc_cells")
    op.execute(
        f"ALTER TABLE {SCHEMA}.uc_cells ALTER COLUMN kind SET NOT NULL, ALTER COLUMN setting SET NOT NULL, "
        "ALTER COLUMN code SET NOT NULL, ALTER COLUMN scope SET NOT NULL, ALTER COLUMN amount SET NOT NULL, "
        "ALTER COLUMN n SET NOT NULL, "
        "ADD CONSTRAINT pk_uc_cells PRIMARY KEY (kind, setting, code, scope, amount)"
    )

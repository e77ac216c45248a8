"""token replica and append-only audit log

Revision ID: 402f478c383f
Revises: 143887346666
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "402f478c383f"
down_revision: str | None = "143887346666"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pricing"


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("token_id", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("clients", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_access_tokens")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_access_tokens_user_id"), "access_tokens", ["user_id"], unique=False, schema=SCHEMA
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_kind", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("token_id", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("source_ip", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema=SCHEMA,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False, schema=SCHEMA)
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"], unique=False, schema=SCHEMA)
    op.create_index(
        "ix_audit_log_object", "audit_log", ["object_type", "object_id"], unique=False, schema=SCHEMA
    )
    op.create_index(
        "ix_audit_log_client_id_at", "audit_log", ["client_id", "at"], unique=False, schema=SCHEMA
    )
    # Append-only for the service's own role (which runs this migration and owns the table): no
    # UPDATE, DELETE or TRUNCATE, and a trigger refusing them should the rights ever be granted back.
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {SCHEMA}.audit_log FROM CURRENT_USER")
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_log_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {SCHEMA}.audit_log "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.audit_log")
    op.execute(f"DROP FUNCTION {SCHEMA}.audit_log_append_only()")
    op.drop_index(op.f("ix_access_tokens_user_id"), table_name="access_tokens", schema=SCHEMA)
    op.drop_table("access_tokens", schema=SCHEMA)

"""internal users, token replica and append-only audit log

Revision ID: b65e0de31573
Revises: c457d4d595ef
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b65e0de31573"
down_revision: str | None = "c457d4d595ef"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "intake"


def upgrade() -> None:
    # The partner-read audit table of the first release moves onto the shared audit log (below).
    op.execute("ALTER TABLE intake.audit_log RENAME TO audit_log_v1")
    op.execute("ALTER TABLE intake.audit_log_v1 RENAME CONSTRAINT pk_audit_log TO pk_audit_log_v1")
    op.execute("ALTER INDEX intake.ix_audit_log_bill_id RENAME TO ix_audit_log_v1_bill_id")
    op.execute("ALTER SEQUENCE intake.audit_log_id_seq RENAME TO audit_log_v1_id_seq")
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
    op.execute(
        """
        INSERT INTO intake.audit_log
            (at, actor_kind, actor, roles, via, token_id, action, object_type, object_id, client_id, request_id)
        SELECT a.at, 'partner', a.partner_id, '{}', 'partner_key', a.key_id, 'read:bill', 'bill',
               a.bill_id::text, b.client_id, a.request_id
        FROM intake.audit_log_v1 a LEFT JOIN intake.bills b ON b.id = a.bill_id
        ORDER BY a.id
        """
    )
    op.execute("DROP TABLE intake.audit_log_v1")
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("clients", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        schema=SCHEMA,
    )
    op.create_table(
        "user_tokens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["intake.users.id"], name=op.f("fk_user_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_user_tokens_user_id"), "user_tokens", ["user_id"], unique=False, schema=SCHEMA)
    _encrypt_webhook_secrets()

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


def _encrypt_webhook_secrets() -> None:
    """Webhook secrets were stored in plain text (``whsec_…``): encrypt them under PARLEY_SECRETS_KEYS."""
    from services.intake.config import IntakeSettings

    box = IntakeSettings().secret_box
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, webhook_secret FROM intake.partners WHERE webhook_secret LIKE 'whsec!_%' ESCAPE '!'"
        )
    ).all()
    for row in rows:
        connection.execute(
            sa.text("UPDATE intake.partners SET webhook_secret = :sealed WHERE id = :id"),
            {"sealed": box.seal(row.webhook_secret), "id": row.id},
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_user_tokens_user_id"), table_name="user_tokens", schema=SCHEMA)
    op.drop_table("user_tokens", schema=SCHEMA)
    op.drop_table("users", schema=SCHEMA)
    # Back to the first release's partner-read table (other entries have no place there) and plain-text
    # webhook secrets.
    op.create_table(
        "audit_log_v1",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("partner_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("bill_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log_v1"),
        schema=SCHEMA,
    )
    op.execute(
        """
        INSERT INTO intake.audit_log_v1 (at, partner_id, key_id, action, bill_id, request_id)
        SELECT at, actor, token_id, 'bill.read', object_id::uuid, request_id FROM intake.audit_log
        WHERE actor_kind = 'partner' AND action = 'read:bill' ORDER BY id
        """
    )
    from services.intake.config import IntakeSettings

    box = IntakeSettings().secret_box
    connection = op.get_bind()
    for row in connection.execute(
        sa.text("SELECT id, webhook_secret FROM intake.partners WHERE webhook_secret IS NOT NULL")
    ).all():
        connection.execute(
            sa.text("UPDATE intake.partners SET webhook_secret = :plain WHERE id = :id"),
            {"plain": box.open(row.webhook_secret), "id": row.id},
        )
    op.execute(f"DROP TABLE {SCHEMA}.audit_log")
    op.execute(f"DROP FUNCTION {SCHEMA}.audit_log_append_only()")
    op.drop_index(op.f("ix_access_tokens_user_id"), table_name="access_tokens", schema=SCHEMA)
    op.drop_table("access_tokens", schema=SCHEMA)
    op.execute("ALTER TABLE intake.audit_log_v1 RENAME TO audit_log")
    op.execute("ALTER TABLE intake.audit_log RENAME CONSTRAINT pk_audit_log_v1 TO pk_audit_log")
    op.create_index(op.f("ix_audit_log_bill_id"), "audit_log", ["bill_id"], unique=False, schema=SCHEMA)

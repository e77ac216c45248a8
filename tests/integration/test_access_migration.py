"""The access migration on a database with data from the previous release: intake's partner-read audit
entries move onto the shared audit log, and plain-text webhook secrets are encrypted."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet

from services.intake.secrets import development_key
from shared.db import asyncpg_dsn
from shared.migrations import alembic_config, upgrade
from shared.stack.bootstrap import create_roles_and_schemas
from shared.stack.devstack import DevStack

ACCESS_REVISION = "b65e0de31573"  # intake: internal users, token replica and audit log


async def test_partner_reads_move_to_the_audit_log_and_webhook_secrets_get_encrypted(stack: DevStack) -> None:
    database = f"migration_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(stack.superuser_url("postgres")))
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        await create_roles_and_schemas(stack.superuser_url(database))
        url = stack.infra.role_url("parley_intake", database)
        script = ScriptDirectory.from_config(alembic_config("intake", url))
        before = script.get_revision(ACCESS_REVISION).down_revision
        assert isinstance(before, str)
        await asyncio.to_thread(upgrade, "intake", url, before)
        bill_id = uuid.uuid4()
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(
                "INSERT INTO intake.partners (id, name, webhook_url, webhook_secret) "
                "VALUES ('old-partner', 'Old', 'https://partner.example/hook', 'whsec_plain_text_secret')"
            )
            await conn.execute(
                "INSERT INTO intake.bills (id, partner_id, client_id, partner_claim_id, claim_type,"
                " provider_npi, provider_tin, facility_state, facility_zip, total_charge, status)"
                " VALUES ($1, 'old-partner', 'acme', 'CLM-1', 'professional', '1912301953', '587654321',"
                " 'FL', '33111', 100.00, 'received')",
                bill_id,
            )
            await conn.execute(
                "INSERT INTO intake.audit_log (partner_id, key_id, action, bill_id, request_id)"
                " VALUES ('old-partner', 'abcdef012345', 'bill.read', $1, 'req-1')",
                bill_id,
            )
        finally:
            await conn.close()

        await asyncio.to_thread(upgrade, "intake", url)

        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            (entry,) = await conn.fetch("SELECT * FROM intake.audit_log")
            assert (
                entry["actor_kind"],
                entry["actor"],
                entry["token_id"],
                entry["via"],
                entry["action"],
                entry["object_type"],
                entry["object_id"],
                entry["client_id"],
                entry["request_id"],
            ) == ("partner", "old-partner", "abcdef012345", "partner_key", "read:bill", "bill", str(bill_id),
                  "acme", "req-1")  # fmt: skip
            tables = {
                r["tablename"]
                for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'intake'")
            }
            assert "audit_log_v1" not in tables
            assert {"users", "user_tokens", "access_tokens", "audit_log"} <= tables
            sealed = await conn.fetchval(
                "SELECT webhook_secret FROM intake.partners WHERE id = 'old-partner'"
            )
            assert "plain_text" not in sealed
            assert Fernet(development_key()).decrypt(sealed.encode()).decode() == "whsec_plain_text_secret"
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()

"""``parley intake audit``: who read a bill's patient data, from intake's audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.cli.base import Embedded, Root, print_table, run
from services.intake.models import access
from shared.stack.devstack import DEFAULT_ROOT


def audit(
    bill: Annotated[uuid.UUID, typer.Option(help="The bill whose reads to list.")],
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Who read a bill's patient data (partners and staff), and when. `parley audit` reads every service."""
    log = access.audit_log

    async def read(session: AsyncSession) -> list[Any]:
        stmt = (
            select(log)
            .where(log.c.object_type == "bill", log.c.object_id == str(bill), log.c.action == "read:bill")
            .order_by(log.c.id)
        )
        return list((await session.execute(stmt)).all())

    entries = run(embedded, root, read)
    print_table(
        f"{len(entries)} read(s) of bill {bill}",
        ("at", "actor", "kind", "token or key id", "action", "request id"),
        (
            (
                e.at.isoformat(timespec="seconds"),
                e.actor,
                e.actor_kind,
                e.token_id or "",
                e.action,
                e.request_id or "",
            )
            for e in entries
        ),
    )

"""``parley intake webhooks …``: partners' webhook secrets, encrypted at rest."""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.cli.base import Embedded, Root, console, run
from services.intake.config import IntakeSettings
from services.intake.models import Partner
from shared.stack.devstack import DEFAULT_ROOT

app = typer.Typer(help="Partners' webhook secrets (encrypted at rest).", no_args_is_help=True)


@app.command("reencrypt")
def webhooks_reencrypt(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Rewrite every stored webhook secret under the first key of PARLEY_SECRETS_KEYS (key rotation)."""
    box = IntakeSettings().secret_box

    async def rewrite(session: AsyncSession) -> int:
        partners = (
            (
                await session.execute(
                    select(Partner).where(Partner.webhook_secret.is_not(None)).with_for_update()
                )
            )
            .scalars()
            .all()
        )
        for partner in partners:
            assert partner.webhook_secret is not None
            partner.webhook_secret = box.rotate(partner.webhook_secret)
        await session.flush()
        return len(partners)

    console.print(f"re-encrypted {run(embedded, root, rewrite)} webhook secret(s) under the first key")

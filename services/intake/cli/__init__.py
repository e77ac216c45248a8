"""``parley intake …`` and ``parley users …``: operator commands for partner keys and partner settings,
internal users and their tokens, webhook secrets, and the patient-data audit log.

They connect as the intake role with ``PARLEY_DATABASE_URL``, or to the embedded dev stack's database
with ``--embedded`` (starting its Postgres for the command if it is not running). User changes go out on
``identity.events`` through intake's outbox: the running intake service publishes them.

Each group of commands is a module of this package; ``app`` and ``commands`` are what ``parley`` adds
(see shared/cli.py).
"""

from __future__ import annotations

import typer

from services.intake.cli import audit, keys, partners, users, webhooks

app = typer.Typer(
    help="Intake: partner API keys, partner settings, webhook secrets and the audit log.",
    no_args_is_help=True,
)
app.add_typer(keys.app, name="keys")
app.add_typer(partners.app, name="partners")
app.add_typer(webhooks.app, name="webhooks")
app.command("audit")(audit.audit)
# Top-level commands this service adds to `parley` (see shared/cli.py).
commands = {"users": users.app}

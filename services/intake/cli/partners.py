"""``parley intake partners …``: partners and their intake settings (the X12 composite separator)."""

from __future__ import annotations

from typing import Annotated

import typer

from services.intake.cli.base import Embedded, Root, console, fail, print_table, run
from services.intake.partners import check_separator, list_partners, set_composite_separator
from shared.stack.devstack import DEFAULT_ROOT

app = typer.Typer(help="Partners and their intake settings.", no_args_is_help=True)


@app.command("set")
def partners_set(
    partner: Annotated[str, typer.Argument(help="Partner id, e.g. acme-tpa.")],
    composite_separator: Annotated[
        str,
        typer.Option(
            help="The character this partner writes between components although its ISA16 declares "
            "another, e.g. '>'; 'none' clears it (composites must then use ISA16's separator)."
        ),
    ],
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Record a partner's X12 setting. Claims read with it carry a warning saying so."""
    try:
        separator = check_separator(composite_separator)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--composite-separator") from exc
    if not run(embedded, root, lambda s: set_composite_separator(s, partner, separator)):
        fail(f"no partner {partner}", "(partners are created with their first key)")
    said = f"'{separator}'" if separator else "none (ISA16's separator only)"
    console.print(f"partner {partner}: composite separator {said}")


@app.command("list")
def partners_list(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Every partner with its settings."""
    partners = run(embedded, root, list_partners)
    print_table(
        f"{len(partners)} partner(s)",
        ("partner", "name", "composite separator", "webhook", "active keys"),
        (
            (p.id, p.name, p.composite_separator or "", "yes" if p.webhook else "", str(p.active_keys))
            for p in partners
        ),
    )

"""``parley agreements …``: the sealing certificate.

Production seals executed agreements with a certificate from a CA the parties' lawyers will accept
(a document-signing or AATL certificate), delivered as a PKCS#12 file. ``create-certificate`` makes a
self-signed one for a trial deployment (docker compose) that has none yet; ``show-certificate`` prints
what a PKCS#12 holds, to check a file before configuring it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.agreements.sealing import Sealer, generate_self_signed_p12

app = typer.Typer(help="Agreements: the certificate that seals executed agreements.", no_args_is_help=True)
console = Console()

PASSPHRASE_ENV = "PARLEY_AGREEMENTS_SEAL_P12_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)


def _passphrase() -> bytes:
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise typer.BadParameter(f"set {PASSPHRASE_ENV} (the PKCS#12 passphrase)")
    return value.encode()


@app.command("create-certificate")
def create_certificate(
    out: Annotated[Path, typer.Option(help="Where to write the PKCS#12 file.")],
    name: Annotated[
        str, typer.Option(help="The certificate's common name.")
    ] = "Parley agreements (self-signed)",
    keep: Annotated[bool, typer.Option(help="Do nothing if the file exists (for a start-up step).")] = False,
) -> None:
    """Write a self-signed P-256 signing certificate and key as PKCS#12 (passphrase from the environment)."""
    if out.exists() and keep:
        console.print(f"kept {out}")
        return
    generate_self_signed_p12(out, _passphrase(), common_name=name)
    sealer = Sealer(out, _passphrase())
    console.print(f"wrote {out}: {sealer.subject}, SHA-256 {sealer.certificate_sha256}")


@app.command("show-certificate")
def show_certificate(path: Path) -> None:
    """Print the subject and SHA-256 of the certificate in a PKCS#12 (passphrase from the environment)."""
    sealer = Sealer(path, _passphrase())
    console.print(f"{sealer.subject}\nSHA-256 {sealer.certificate_sha256}")
    console.print(sealer.certificate_pem().decode())

"""Agreements' own settings, under the same ``PARLEY_`` prefix as the rest (``PARLEY_AGREEMENTS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from shared.settings import Environment, Settings


class AgreementsSettings(Settings):
    agreements_public_url: str = Field(
        default="http://127.0.0.1:8004",
        description="Base URL of this service as signers reach it; signing links are <this>/sign/<token>.",
    )
    agreements_signing_business_days: int = Field(
        default=10,
        ge=1,
        le=120,
        description="Signing links expire this many US business days after the agreement is sent (at the "
        "end of that day, UTC): the deadline by which the provider must sign for the agreed payment to "
        "stand. A supervisor can move one agreement's deadline.",
    )
    agreements_default_pay_within_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Payment terms when the agreed terms carry none (case.agreed v1): pay within this many "
        "calendar days of execution.",
    )
    agreements_seal_p12_path: Path | None = Field(
        default=None,
        description="PKCS#12 file with the private key and certificate (and chain) that certify executed "
        "agreements. Unset: development and test make a self-signed one once under PARLEY_DATA_DIR; "
        "production refuses to start.",
    )
    agreements_seal_p12_passphrase: SecretStr | None = Field(
        default=None, description="Passphrase of the PKCS#12 file."
    )
    agreements_max_document_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=64 * 1024,
        le=50 * 1024 * 1024,
        description="Largest PDF stored (sent, executed or certificate) and largest template upload; a "
        "template whose sample document is larger is refused at upload.",
    )
    agreements_smtp_host: str | None = Field(
        default=None,
        description="SMTP server for signing invitations. Unset: invitations are written as .eml files to "
        "the mailbox folder (development, test).",
    )
    agreements_smtp_port: int = Field(default=587, ge=1, le=65535)
    agreements_smtp_username: str | None = None
    agreements_smtp_password: SecretStr | None = None
    agreements_smtp_starttls: bool = True
    agreements_mail_from: str = Field(default="agreements@parley.invalid")
    agreements_mailbox_dir: Path | None = Field(
        default=None,
        description="Where invitations go without SMTP (one .eml file each). Default: "
        "PARLEY_DATA_DIR/mailbox.",
    )
    data_dir: Path = Field(
        default=Path(".parley"),
        description="Folder for files the embedded stack keeps (the development signing certificate, the "
        "mailbox). The dev stack sets it to its own folder.",
    )

    @model_validator(mode="after")
    def _production_needs_a_real_certificate(self) -> Self:
        # A self-signed development certificate proves nothing to a court or a provider's lawyer.
        if self.environment is Environment.production:
            if self.agreements_seal_p12_path is None:
                raise ValueError("PARLEY_AGREEMENTS_SEAL_P12_PATH must be set in production")
            if self.agreements_smtp_host is None:
                raise ValueError("PARLEY_AGREEMENTS_SMTP_HOST must be set in production")
        return self

    @property
    def mailbox_dir(self) -> Path:
        return self.agreements_mailbox_dir or self.data_dir / "mailbox"

"""Signing invitations by e-mail: SMTP in production, a mailbox folder of .eml files otherwise.

The provider's signer is invited when the agreement is sent; the countersigner when the provider has
signed (a scheduled job issues a fresh link and mails it), so nobody gets a link before it can be used.

A link token exists in clear only in the invitation (the database keeps its SHA-256), so the invitation
is written inside the transaction that issues the link: if writing it fails, the link is not issued
either (the event or request is retried); if the commit fails after it went out, that link never worked
and the retry sends one that does. A recipient without an e-mail address gets no invitation: staff
issue a link for them (``POST /v1/agreements/{id}/recipients/{role}/link``) and hand it over.
"""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from services.agreements.config import AgreementsSettings


def invitation(
    settings: AgreementsSettings,
    *,
    to: str,
    name: str,
    url: str,
    provider_name: str,
    claim: str,
    sign_by: str,
    waits_for_provider: bool,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.agreements_mail_from
    message["To"] = to
    message["Subject"] = f"Settlement agreement to sign: {provider_name}, claim {claim}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="parley.invalid")
    order = (
        "You countersign for the payer after the provider has signed; the link works from then on.\n\n"
        if waits_for_provider
        else ""
    )
    # No patient information in mail: the page behind the link shows it to the holder of the link.
    message.set_content(
        f"Hello {name},\n\n"
        f"A settlement agreement for claim {claim} is ready for your electronic signature.\n\n"
        f"{order}Open it here (the link is personal; do not forward it):\n{url}\n\n"
        f"The link expires at the end of {sign_by}. You can also decline to sign on the same page.\n"
    )
    return message


class Mailer:
    """Sends (or files) invitations; one per service instance."""

    def __init__(self, settings: AgreementsSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> None:
        s = self._settings
        if s.agreements_smtp_host is None:
            folder = s.mailbox_dir
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{uuid.uuid4().hex}.eml"
            path.write_bytes(bytes(message))
            path.chmod(0o600)  # it holds a live link
            return
        with smtplib.SMTP(s.agreements_smtp_host, s.agreements_smtp_port, timeout=30) as smtp:
            if s.agreements_smtp_starttls:
                smtp.starttls()
            if s.agreements_smtp_username and s.agreements_smtp_password:
                smtp.login(s.agreements_smtp_username, s.agreements_smtp_password.get_secret_value())
            smtp.send_message(message)

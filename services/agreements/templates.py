"""Document templates: Parley's shipped Settlement & Release Agreement and each client's own form.

Every version is a row (``agreement_templates``); an agreement records the template id and version it
was made from. ``parley`` is the shipped template: at start-up its source (``typst/settlement_release.typ``)
is registered as the next version whenever it changed. ``client:<client id>`` is a client's form,
uploaded by an admin; the newest version of a client's form is used for that client's agreements, else
the newest ``parley`` version.

An upload is compiled at once with sample data — fully filled in, with every optional value missing,
unsigned and executed — and refused with the reason (line and column) if any of them fails, or if the
document does not show the agreed amount, the claim number and each signer's name once signed. So a
template never fails when an agreement is due.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.agreements.models import AgreementTemplate
from services.agreements.terms import AgreementTerms, document_data, signature_block
from shared.contracts import Address, PatientRef, PaymentTerms, ProviderRef, QuickPayTerms, RecipientRole
from shared.documents import Template, TemplateError, render_pdf
from shared.errors import Unprocessable

SHIPPED_PATH = Path(__file__).parent / "typst" / "settlement_release.typ"
CERTIFICATE_PATH = Path(__file__).parent / "typst" / "certificate.typ"
PARLEY = "parley"


def client_template_id(client_id: str) -> str:
    return f"client:{client_id}"


def template_of(row: AgreementTemplate) -> Template:
    # Uploaded templates get no root folder: they cannot read files from the server's disk.
    root = SHIPPED_PATH.parent if row.template_id == PARLEY else None
    return Template(row.source, root)


async def register_shipped(session: AsyncSession, uploaded_by: str = "parley") -> AgreementTemplate:
    """Make the shipped template's current source the newest ``parley`` version (idempotent; safe when
    several instances start at once)."""
    source = SHIPPED_PATH.read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    latest = await latest_version(session, PARLEY)
    if latest is not None and latest.sha256 == digest:
        return latest
    version = (latest.version if latest else 0) + 1
    await session.execute(
        pg_insert(AgreementTemplate)
        .values(
            template_id=PARLEY,
            client_id=None,
            version=version,
            source=source,
            sha256=digest,
            note="shipped with Parley",
            uploaded_by=uploaded_by,
        )
        .on_conflict_do_nothing()
    )
    found = await latest_version(session, PARLEY)
    assert found is not None
    return found


async def latest_version(session: AsyncSession, template_id: str) -> AgreementTemplate | None:
    stmt = (
        select(AgreementTemplate)
        .where(AgreementTemplate.template_id == template_id)
        .order_by(AgreementTemplate.version.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def template_for(session: AsyncSession, client_id: str) -> AgreementTemplate:
    """The template a new agreement for ``client_id`` is made from."""
    found = await latest_version(session, client_template_id(client_id))
    if found is None:
        found = await latest_version(session, PARLEY)
    if found is None:  # start-up registers it; a database restored without it gets it back here
        found = await register_shipped(session)
    return found


async def get_version(session: AsyncSession, template_id: str, version: int) -> AgreementTemplate | None:
    stmt = select(AgreementTemplate).where(
        AgreementTemplate.template_id == template_id, AgreementTemplate.version == version
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_templates(
    session: AsyncSession, client_id: str | None, *, clients: Iterable[str] | None = None
) -> Sequence[AgreementTemplate]:
    """Every version, Parley's and the clients' (only ``clients``' when given, plus Parley's)."""
    stmt = select(AgreementTemplate).order_by(AgreementTemplate.template_id, AgreementTemplate.version)
    if client_id is not None:
        stmt = stmt.where(AgreementTemplate.client_id == client_id)
    if clients is not None:
        stmt = stmt.where(
            AgreementTemplate.client_id.is_(None) | AgreementTemplate.client_id.in_(list(clients))
        )
    return (await session.execute(stmt)).scalars().all()


async def upload(
    session: AsyncSession,
    *,
    client_id: str,
    source: bytes,
    note: str | None,
    uploaded_by: str,
    max_bytes: int,
) -> AgreementTemplate:
    """Add the next version of ``client_id``'s template, after :func:`check_template` passes."""
    check_template(source, max_bytes)
    template_id = client_template_id(client_id)
    # One upload at a time per template: the version number is max + 1.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(template_id))))
    latest = await latest_version(session, template_id)
    row = AgreementTemplate(
        template_id=template_id,
        client_id=client_id,
        version=(latest.version if latest else 0) + 1,
        source=source,
        sha256=hashlib.sha256(source).hexdigest(),
        note=note,
        uploaded_by=uploaded_by,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


# --- checking an upload -------------------------------------------------------------------------------

SAMPLE_CLAIM = "SAMPLE-CLM-0001"
SAMPLE_SIGNERS = ("Sample Provider Signer", "Sample Payer Signer")


def _sample_terms(*, complete: bool) -> AgreementTerms:
    provider = ProviderRef(
        npi="1912301953",
        tin="587654321",
        name="Sample Medical Group" if complete else None,
        address=Address(line1="1 Sample Way", city="Miami", state="FL", zip="33111") if complete else None,
    )
    return AgreementTerms(
        case_id=uuid.UUID(int=1),
        bill_id=uuid.UUID(int=2),
        client_id="sample-client",
        partner_claim_id=SAMPLE_CLAIM,
        provider=provider,
        patient=PatientRef(first_name="Pat", last_name="Sample", birth_date=date(1970, 1, 2))
        if complete
        else None,
        service_from=date(2025, 10, 1) if complete else None,
        service_to=date(2025, 10, 3) if complete else None,
        jurisdiction="FL" if complete else None,
        billed=Decimal("12345.67"),
        agreed_amount=Decimal("8765.43"),
        payment=PaymentTerms(
            pay_within_days=30,
            quick_pay=QuickPayTerms(
                discount_percent=Decimal("5"), pay_within_days=10, amount=Decimal("8327.16")
            )
            if complete
            else None,
        ),
        statement_sha256="0" * 64 if complete else None,
        agreed_at=datetime(2025, 11, 1, tzinfo=UTC),
        contract_version=2,
    )


def sample_data(*, complete: bool, executed: bool) -> dict[str, Any]:
    """Data like a real agreement's, for checking templates (and for admins to try theirs with)."""
    at = datetime(2025, 11, 3, 15, 4, 5, tzinfo=UTC) if executed else None
    signatures = [
        signature_block(
            role=role,
            party=party,
            requested=requested,
            signed_name=requested if executed else None,
            signed_title="Authorized signer" if executed else None,
            signed_at=at,
            ip="192.0.2.10" if executed else None,
        )
        for role, party, requested in (
            (RecipientRole.provider, "Sample Medical Group", SAMPLE_SIGNERS[0]),
            (RecipientRole.countersigner, "sample-client", SAMPLE_SIGNERS[1]),
        )
    ]
    return document_data(
        agreement_id=uuid.UUID(int=3),
        terms=_sample_terms(complete=complete),
        template_id="sample",
        template_version=1,
        sent_on=date(2025, 11, 1),
        expires_at=datetime(2025, 11, 14, 23, 59, 59, tzinfo=UTC),
        signatures=signatures,
        original_sha256="f" * 64 if executed else "",
    )


def _refuse(message: str, *, line: int | None = None, column: int | None = None, case: str) -> Unprocessable:
    where = f"line {line}, column {column}: " if line is not None else ""
    return Unprocessable(
        f"the template was refused: {where}{message}",
        errors=[{"field": "body", "message": f"{case}: {where}{message}", "type": "template_invalid"}],
    )


def check_template(source: bytes, max_bytes: int) -> None:
    """Compile ``source`` with the sample data in every shape an agreement takes; raise
    :class:`Unprocessable` naming the first problem (line and column for a compile error)."""
    if len(source) > max_bytes:
        raise _refuse(f"the template is {len(source)} bytes; the limit is {max_bytes}", case="size")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(f"not UTF-8 text (byte {exc.start})", case="encoding") from None
    template = Template(source)
    for complete in (True, False):
        for executed in (False, True):
            case = f"{'complete' if complete else 'minimal'} sample, {'executed' if executed else 'as sent'}"
            data = sample_data(complete=complete, executed=executed)
            try:
                pdf = render_pdf(template, data)
            except TemplateError as exc:
                raise _refuse(exc.reason, line=exc.line, column=exc.column, case=case) from None
            if len(pdf) > max_bytes:
                raise _refuse(f"the document is {len(pdf)} bytes; the limit is {max_bytes}", case=case)
            text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
            flat = " ".join(text.split())
            required = [("the agreed amount", data["agreed"]["figures"]), ("the claim number", SAMPLE_CLAIM)]
            if executed:
                required += [(f"the signer's name ({name})", name) for name in SAMPLE_SIGNERS]
            for what, value in required:
                if value not in flat:
                    raise _refuse(f"the document does not show {what}", case=case)

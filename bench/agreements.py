"""Agreements benchmark, run by hand: ``python -m bench.agreements [--agreements 300]``.

Per agreement, in one process and one run, on the shipped template with full v2 terms:

- baseline: rendering the document as sent (typst → PDF/A), what every agreement costs anyway;
- execution: what the countersignature adds in the service — the document rendered again with the
  signatures stamped in, the PAdES certification seal (pyHanko, P-256 development certificate made in a
  temporary folder), and the certificate of completion;
- verify: checking a sealed copy (``POST /v1/agreements/verify`` without the HTTP and database parts).

Prints p50 and p95 of each and the ratio of execution to rendering alone. The aim is execution p95 under
200 ms on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.agreements.config import AgreementsSettings
from services.agreements.lifecycle import AgreementStatus, RecipientStatus
from services.agreements.models import Agreement, AgreementStep, AgreementTemplate, Recipient
from services.agreements.rendering import (
    agreement_data,
    render_certificate_sync,
    render_executed_sync,
    sha256,
)
from services.agreements.sealing import Sealer
from services.agreements.templates import PARLEY, SHIPPED_PATH, template_of
from services.agreements.terms import AgreementTerms
from shared.contracts import Address, PatientRef, PaymentTerms, ProviderRef, QuickPayTerms
from shared.documents import render_pdf


def _agreement(n: int) -> Agreement:
    now = datetime.now(UTC)
    agreed = Decimal(1000 + 37 * n) + Decimal(n % 100) / 100
    terms = AgreementTerms(
        case_id=uuid.uuid4(),
        bill_id=uuid.uuid4(),
        client_id="acme-employers",
        partner_claim_id=f"CLM-{n:06d}",
        provider=ProviderRef(
            npi="1912301953",
            tin="587654321",
            name="Ben Kildare Service",
            address=Address(line1="234 Seaway St", city="Miami", state="FL", zip="33111"),
        ),
        patient=PatientRef(first_name="Ted", last_name="Smith", birth_date=date(1973, 5, 1)),
        service_from=date(2025, 10, 3),
        service_to=date(2025, 10, 4),
        jurisdiction="FL",
        billed=agreed * Decimal("1.4"),
        agreed_amount=agreed,
        payment=PaymentTerms(
            pay_within_days=30,
            quick_pay=QuickPayTerms(
                discount_percent=Decimal("5"), pay_within_days=10, amount=agreed * Decimal("0.95")
            ),
        ),
        statement_sha256="ab" * 32,
        agreed_at=now,
        contract_version=2,
    )
    agreement = Agreement(
        id=uuid.uuid4(),
        case_id=terms.case_id,
        bill_id=terms.bill_id,
        client_id=terms.client_id,
        partner_claim_id=terms.partner_claim_id,
        provider_npi="1912301953",
        provider_tin="587654321",
        provider_name="Ben Kildare Service",
        billed=terms.billed,
        agreed_amount=agreed,
        status=AgreementStatus.executed.value,
        terms=terms.model_dump(mode="json"),
        template_id=PARLEY,
        template_version=1,
        created_at=now,
        sent_at=now - timedelta(days=2),
        expires_at=now + timedelta(days=12),
        executed_at=now,
        document_sha256="cd" * 32,
        recipients=[],
        steps=[],
    )
    for order, (role, name, title) in enumerate(
        (("provider", "Dana Smith", "CFO"), ("countersigner", "Sam Ortiz", "Claims supervisor")), start=1
    ):
        agreement.recipients.append(
            Recipient(
                order=order,
                role=role,
                name=name,
                title=title,
                status=RecipientStatus.signed.value,
                signed_name=name,
                signed_title=title,
                signed_at=now,
                ip="192.0.2.10",
                user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            )
        )
    for step in ("drafted", "sent", "viewed", "signed", "viewed", "countersigned", "executed"):
        agreement.steps.append(
            AgreementStep(step=step, actor="Dana Smith", at=now, role="provider", ip="192.0.2.10")
        )
    return agreement


def _time(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _row(name: str, samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"{name:<58} p50 {statistics.median(samples):7.1f} ms   p95 {cuts[94]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agreements", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sealer = Sealer.from_settings(AgreementsSettings(data_dir=Path(folder)))
        source = SHIPPED_PATH.read_bytes()
        template = AgreementTemplate(template_id=PARLEY, version=1, source=source, sha256=sha256(source))
        limit = 5 * 1024 * 1024
        agreements = [_agreement(n) for n in range(args.agreements)]
        # Warm up typst's fonts and pyHanko's imports outside the figures.
        render_executed_sync(agreements[0], template, sealer, limit)
        rendering, sealing, execution, verifying = [], [], [], []
        for agreement in agreements:  # interleaved, so both see the same machine
            rendering.append(
                _time(
                    lambda a=agreement: render_pdf(template_of(template), agreement_data(a, executed=False))
                )
            )
            sealed: list[bytes] = []
            seal_ms = _time(
                lambda a=agreement, out=sealed: out.append(render_executed_sync(a, template, sealer, limit))
            )
            digest = sha256(sealed[0])
            certificate_ms = _time(lambda a=agreement, d=digest: render_certificate_sync(a, sealer, d))
            sealing.append(seal_ms)
            execution.append(seal_ms + certificate_ms)
            verifying.append(_time(lambda s=sealed[0]: sealer.verify(s)))
    print(f"{args.agreements} agreements, shipped template, one page, full v2 terms")
    print(_row("baseline: render as sent (typst → PDF/A)", rendering))
    print(_row("render with signatures stamped + seal (pyHanko)", sealing))
    print(_row("execution: the above + certificate of completion", execution))
    print(_row("verify a sealed copy", verifying))
    for name, samples in (("render + seal", sealing), ("execution", execution)):
        ratio = statistics.median(samples) / statistics.median(rendering)
        print(f"{name} / rendering alone (p50): {ratio:.1f}×")


if __name__ == "__main__":
    main()

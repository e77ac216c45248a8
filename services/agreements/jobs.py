"""Agreements' scheduled jobs: the signing deadline (rows in ``agreements.scheduled_jobs``, so an
expiry due while the service was down runs when it is back)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.agreements.config import AgreementsSettings
from services.agreements.lifecycle import EXPIRE_JOB, expire
from services.agreements.models import jobs
from services.agreements.repository import AgreementRepository
from shared.bus.outbox import Tx
from shared.jobs import Job, JobHandlers


def build_jobs(_: AgreementsSettings) -> JobHandlers:
    handlers = JobHandlers(jobs)

    @handlers.on(EXPIRE_JOB)
    async def expire_agreement(tx: Tx, job: Job) -> None:
        agreement = await AgreementRepository(tx.session).get(uuid.UUID(job.key), for_update=True)
        if agreement is not None:
            await expire(tx, agreement, datetime.now(UTC))

    return handlers

"""Agreements' scheduled jobs (rows in ``agreements.scheduled_jobs``: one due while the service was down
runs when it is back): the signing deadline, and inviting the next recipient when it is their turn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.agreements.config import AgreementsSettings
from services.agreements.lifecycle import EXPIRE_JOB, YOUR_TURN_JOB, desk_for, expire, invite_next
from services.agreements.models import jobs
from services.agreements.repository import AgreementRepository
from shared.bus.outbox import Tx
from shared.jobs import Job, JobHandlers


def build_jobs(settings: AgreementsSettings) -> JobHandlers:
    handlers = JobHandlers(jobs)

    @handlers.on(EXPIRE_JOB)
    async def expire_agreement(tx: Tx, job: Job) -> None:
        agreement = await AgreementRepository(tx.session).get(uuid.UUID(job.key), for_update=True)
        if agreement is not None:
            await expire(tx, agreement, datetime.now(UTC))

    @handlers.on(YOUR_TURN_JOB)
    async def invite_next_recipient(tx: Tx, job: Job) -> None:
        agreement_id = uuid.UUID(job.key.split(":", 1)[0])
        agreement = await AgreementRepository(tx.session).get(agreement_id, for_update=True)
        if agreement is not None:
            await invite_next(tx, desk_for(settings), agreement, int(job.payload["order"]), datetime.now(UTC))

    return handlers

"""The baseline intake is measured against: a bare FastAPI app doing the same two inserts with asyncpg.

No validation, no authentication, no idempotency, no outbox, no history: a bill row and its line rows in
one transaction, over the same Unix socket to the same Postgres. ``POST /bills`` takes the JSON bill;
``POST /x12`` splits an 837 on its delimiters just far enough to find each claim's charges and codes.
Run as its own uvicorn process, like intake (``bench.intake`` does it):
``PARLEY_BENCH_DSN=… uvicorn --factory bench.baseline_app:create_app``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from fastapi import FastAPI, Request

SCHEMA = "bench_baseline"
BILL = f"INSERT INTO {SCHEMA}.bills VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())"
LINE = f"INSERT INTO {SCHEMA}.lines VALUES ($1, $2, $3, $4, $5, $6, $7)"
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.bills (
    id uuid PRIMARY KEY, client_id text, partner_claim_id text, provider_npi text, provider_tin text,
    facility_state text, facility_zip text, total_charge numeric(12,2), received_at timestamptz);
CREATE TABLE IF NOT EXISTS {SCHEMA}.lines (
    bill_id uuid REFERENCES {SCHEMA}.bills(id), line_number int, procedure_code text, modifiers text[],
    units numeric(8,3), charge numeric(12,2), service_date date, PRIMARY KEY (bill_id, line_number));
"""


def create_app() -> FastAPI:
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(os.environ["PARLEY_BENCH_DSN"], min_size=5, max_size=10)
        async with pool.acquire() as conn:
            await conn.execute(DDL)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    async def store(conn: asyncpg.Connection, bill: dict, lines: list[tuple]) -> uuid.UUID:
        bill_id = uuid.uuid4()
        await conn.execute(
            BILL,
            bill_id,
            bill["client_id"],
            bill["partner_claim_id"],
            bill["npi"],
            bill["tin"],
            bill["state"],
            bill["zip"],
            Decimal(bill["total_charge"]),
        )
        await conn.executemany(LINE, [(bill_id, *line) for line in lines])
        return bill_id

    @app.post("/bills", status_code=201)
    async def post_bill(request: Request) -> dict[str, str]:
        body = await request.json()
        bill = {
            **body,
            "npi": body["provider"]["npi"],
            "tin": body["provider"]["tin"],
            "state": body["facility"]["state"],
            "zip": body["facility"]["zip"],
        }
        lines = [
            (
                n,
                x["procedure_code"],
                x.get("modifiers", []),
                Decimal(str(x["units"])),
                Decimal(x["charge"]),
                date.fromisoformat(x["service_date"]),
            )
            for n, x in enumerate(body["lines"], start=1)
        ]
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction():
            return {"id": str(await store(conn, bill, lines))}

    @app.post("/x12")
    async def post_x12(request: Request) -> dict[str, int]:
        text = (await request.body()).decode()
        terminator, element, component = text[105], text[3], text[104]
        claims: list[tuple[dict, list[list[Any]]]] = []
        provider: dict[str, str] = {}
        for segment in text.split(terminator):
            fields = segment.strip().split(element)
            tag = fields[0]
            if tag == "NM1" and fields[1] == "85":
                provider["npi"] = fields[9]
            elif tag == "N4" and "npi" in provider and "state" not in provider:
                provider.update(state=fields[2], zip=fields[3])
            elif tag == "REF" and fields[1] == "EI":
                provider["tin"] = fields[2]
            elif tag == "CLM":
                claim = {
                    **provider,
                    "client_id": "baseline",
                    "partner_claim_id": fields[1],
                    "total_charge": fields[2],
                }
                claims.append((claim, []))
            elif tag == "SV1":
                code = fields[1].split(component)
                claims[-1][1].append(
                    [len(claims[-1][1]) + 1, code[1], code[2:], Decimal(fields[4]), Decimal(fields[2])]
                )
            elif tag == "DTP" and fields[1] == "472":
                claims[-1][1][-1].append(date(int(fields[3][:4]), int(fields[3][4:6]), int(fields[3][6:8])))
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction():
            for claim, lines in claims:
                await store(conn, claim, [tuple(x) for x in lines])
        return {"claims": len(claims)}

    return app

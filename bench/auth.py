"""What the token check costs per request: the same GET handler with and without ``requires(...)``.

Run by hand: ``python -m bench.auth [--requests 3000]``. It starts a throwaway embedded Postgres with
the reporting schema migrated (so the token replica is the real ``reporting.access_tokens``), puts one
token in it as ``user.token_issued`` would, and builds one small app with two routes sharing a handler:
``/open`` and ``/protected`` (``requires(Role.viewer)``). Requests go through the whole ASGI stack
in-process (httpx's ASGI transport: no sockets, so the difference is the check itself). Measured, in
alternating rounds, as mean microseconds per request:

- ``/open``: the baseline;
- personal token, verified token cached (``PARLEY_AUTH_CACHE_SECONDS`` = 5, the default): what nearly
  every request pays;
- personal token, no cache (0): a replica lookup in Postgres on every request (what a first request or an
  idle token pays);
- OIDC JWT (RS256), cached and not cached (signature verification on every request), against a JWKS
  served on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import FastAPI
from sqlalchemy import insert

from services.reporting.models import access
from shared.auth import Identity, Role, requires
from shared.auth.authenticator import Authenticator
from shared.auth.tokens import new_token
from shared.db import create_engine
from shared.migrations import upgrade
from shared.observability import configure_logging
from shared.settings import Settings
from shared.stack.bootstrap import DATABASE, PROJECT_ROOT, create_database, create_roles_and_schemas
from shared.stack.postgres import EmbeddedPostgres
from tests.idp import LoopbackIdp


def build_app(authenticator: Authenticator) -> FastAPI:
    app = FastAPI()
    app.state.authenticator = authenticator

    async def handler() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/open")
    async def open_() -> dict[str, str]:
        return await handler()

    @app.get("/protected")
    async def protected(_: Annotated[Identity, requires(Role.viewer)]) -> dict[str, str]:
        return await handler()

    return app


async def mean_us(client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int) -> float:
    for _ in range(50):  # warm up (and fill the cache where there is one)
        assert (await client.get(path, headers=headers)).status_code == 200
    started = time.perf_counter()
    for _ in range(n):
        response = await client.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed / n * 1e6


async def run(requests: int, rounds: int) -> None:
    configure_logging(Settings(log_json=False, log_level="WARNING", service="bench"))
    root = PROJECT_ROOT / ".parley" / "bench-auth"
    shutil.rmtree(root, ignore_errors=True)
    postgres = EmbeddedPostgres(Path(root) / "pg", durable=False)
    idp = LoopbackIdp().start()
    postgres.start()
    try:
        await create_database(postgres.url(database="postgres"))
        await create_roles_and_schemas(postgres.url(database=DATABASE))
        url = postgres.url("parley_reporting", DATABASE)
        await asyncio.to_thread(upgrade, "reporting", url)
        token = new_token()
        oidc = {
            "oidc_issuer": idp.issuer,
            "oidc_audience": "parley",
            "oidc_roles_claim": "realm_access.roles",
            "oidc_role_map": {"cc-negotiators": "viewer"},
        }
        base = Settings(environment="test", service="bench", database_url=url, **oidc)
        engine = create_engine(base)
        async with engine.begin() as conn:
            await conn.execute(
                insert(access.tokens).values(
                    token_id=token.token_id,
                    secret_sha256=token.secret_sha256,
                    user_id="bench@parley.example",
                    name="Bench",
                    roles=["viewer"],
                    clients=["*"],
                    issued_at=datetime.now(UTC),
                )
            )
        jwt = idp.token(lifetime=3600)
        results: dict[str, list[float]] = {}
        for cache in (5.0, 0.0):
            settings = base.model_copy(update={"auth_cache_seconds": cache})
            app = build_app(Authenticator(settings, engine, access.tokens))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(rounds):
                    results.setdefault("open (baseline)", []).append(
                        await mean_us(client, "/open", {}, requests)
                    )
                    label = "cached" if cache else "no cache"
                    for what, credential in (("personal token", token.token), ("OIDC JWT", jwt)):
                        results.setdefault(f"{what}, {label}", []).append(
                            await mean_us(
                                client, "/protected", {"Authorization": f"Bearer {credential}"}, requests
                            )
                        )
        await engine.dispose()
    finally:
        idp.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    baseline = statistics.median(results["open (baseline)"])
    print(f"{requests} sequential GETs per round, {rounds} rounds per setting, median of rounds:")
    print(f"{'':34} {'µs/request':>11} {'added µs':>9} {'ratio':>6}")
    for what, values in results.items():
        value = statistics.median(values)
        print(f"{what:34} {value:11.1f} {value - baseline:9.1f} {value / baseline:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds))


if __name__ == "__main__":
    main()

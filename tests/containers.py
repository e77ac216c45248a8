"""Opt-in infrastructure for the tests: Postgres and Apache Kafka containers (needs a Docker engine).

Selected with ``PARLEY_TEST_INFRA=containers``; install with ``pip install -e '.[dev,docker]'``.
"""

from __future__ import annotations

import secrets

import asyncpg
from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]
from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

from shared.catalog import SERVICES
from shared.db import asyncpg_dsn

POSTGRES_IMAGE = "postgres:17"
KAFKA_IMAGE = "apache/kafka:3.9.0"


class ContainerInfrastructure:
    def __init__(self) -> None:
        self.postgres = PostgresContainer(
            POSTGRES_IMAGE, username="postgres", password="postgres", dbname="postgres"
        )
        self.kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
        self.role_password = secrets.token_urlsafe(16)

    @property
    def bootstrap(self) -> str:
        return str(self.kafka.get_bootstrap_server())

    def start(self) -> None:
        self.postgres.start()
        self.kafka.start()

    def stop(self) -> None:
        self.kafka.stop()
        self.postgres.stop()

    def _host_port(self) -> str:
        return f"{self.postgres.get_container_host_ip()}:{self.postgres.get_exposed_port(5432)}"

    def superuser_url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres:postgres@{self._host_port()}/{database}"

    def role_url(self, role: str, database: str) -> str:
        return f"postgresql+asyncpg://{role}:{self.role_password}@{self._host_port()}/{database}"

    async def after_roles_created(self) -> None:
        # Over TCP the image asks for passwords; the embedded stack's socket trusts its roles.
        conn = await asyncpg.connect(asyncpg_dsn(self.superuser_url("parley")))
        try:
            for info in SERVICES:
                await conn.execute(f"ALTER ROLE {info.role} PASSWORD '{self.role_password}'")
        finally:
            await conn.close()

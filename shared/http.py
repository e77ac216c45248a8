"""HTTP edges every service shares: error bodies, body-size limit, metrics, health endpoints.

Bad input is answered with 422 and a list naming each wrong field and why; the input values themselves
are never echoed (they may be protected health information). Nothing a client sends can produce a 500:
validation happens before any handler runs, and handlers raise :class:`shared.errors.ProblemError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import observability as obs
from shared.db import ping
from shared.errors import PayloadTooLarge, ProblemError, ServiceUnavailable

if TYPE_CHECKING:
    from shared.service import Runtime

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("body", "lines", 2, "charge")`` → ``"lines[2].charge"``; the location kind stays a prefix."""
    parts = list(loc)
    prefix = ""
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = parts.pop(0)
        prefix = "" if kind == "body" else f"{kind}:"
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return prefix + (out or "body")


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    return [_error(e) for e in errors]


def _error(e: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":
        # The body is not JSON: the location holds the character where parsing stopped, not a field.
        where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        why = (e.get("ctx") or {}).get("error")
        message = f"not valid JSON{where}" + (f": {why}" if isinstance(why, str) else "")
        return {"field": "body", "message": message, "type": "json_invalid"}
    return {"field": field_path(loc), "message": e.get("msg", ""), "type": e.get("type", "")}


# Paging: an offset or a cursor past Postgres' bigint reached the database and came back as a 500.
MAX_OFFSET = 1_000_000_000


def is_cursor(value: str) -> bool:
    """A numeric ``next_cursor`` as these APIs return it: ASCII digits that fit a bigint."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


JSON_TOO_DEEP = "the JSON is nested too deeply to read (more than about 1,000 levels)"
JSON_TOO_DEEP_ERROR = {"field": "body", "message": JSON_TOO_DEEP, "type": "json_too_deep"}


def too_deep() -> JSONResponse:
    """422 for a JSON body nested past what Python's parser reads (about 1,000 levels; a bill nests 4).

    The parser stops at that depth with ``RecursionError`` before it has built much, so memory stays
    small; this names the cause instead of a bare 400 (FastAPI) or a 500 (a body parsed by hand).
    """
    return problem(422, "Invalid request", JSON_TOO_DEEP, [JSON_TOO_DEEP_ERROR])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "Invalid request", f"{len(errors)} problem(s) with: {fields}", errors)

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status_code, exc.title, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _framework(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own refusals (no such route 404, method 405, a body it cannot parse 400) in the
        # same problem+json shape as everything else; headers such as Allow are kept.
        if isinstance(exc.__cause__, RecursionError):  # the JSON parser gave up on the body's nesting
            return too_deep()
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
        return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("http.pool_exhausted", error=repr(exc))
        return unavailable("Too busy to take the request now; nothing was done, retry later.")

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("http.database_unavailable", error=repr(exc))
        return unavailable("The database is not reachable; retry later.")

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return unavailable("The database connection was lost; retry later.")
        if str(getattr(exc.orig, "sqlstate", "")).startswith(OVERLOADED):
            log.warning("http.database_overloaded", error=repr(exc))
            return unavailable("The database is too busy to take the request now; retry later.")
        if getattr(exc.orig, "sqlstate", None) in NUL_REFUSED:
            errors = [
                {"field": field, "message": "contains the NUL character (U+0000)", "type": "nul_character"}
                for field in await nul_fields(request)
            ] or [
                {"field": "body", "message": "contains the NUL character (U+0000)", "type": "nul_character"}
            ]
            fields = ", ".join(e["field"] for e in errors)
            return problem(
                422,
                "Invalid request",
                f"text with the NUL character (U+0000) cannot be stored; remove it from: {fields}",
                errors,
            )
        log.exception("http.database_error", error=repr(exc))
        return problem(500, "Internal error", "The request could not be completed; nothing was saved.")


# Postgres is out of resources (class 53: too many connections, out of memory or disk) or not yet
# accepting connections (57P03, starting up): the request may succeed later, so 503, not 500.
OVERLOADED = ("53", "57P03")


def unavailable(detail: str) -> JSONResponse:
    """503 with ``Retry-After``: nothing was done and the same request may be sent again."""
    return problem(
        ServiceUnavailable.status_code, ServiceUnavailable.title, detail, headers=ServiceUnavailable.headers
    )


class RequestSlots:
    """How many requests hold a database transaction at once; the rest wait their turn, in order, for
    at most ``wait`` seconds and are then answered 503 with ``Retry-After`` (nothing done).

    Without it, an overloaded service queued requests on its connection pool for the pool's timeout
    (30 s) and then answered 500. The slots are fewer than the pool, so the relay and the consumer keep
    connections of their own and are not starved by a burst of requests.
    """

    def __init__(self, slots: int, wait: float) -> None:
        self.wait = wait
        self._free = asyncio.Semaphore(slots)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._free.acquire(), self.wait)
        except TimeoutError:
            log.warning("http.overloaded", waited_seconds=self.wait)
            raise ServiceUnavailable(
                "Too busy to take the request now; nothing was done, retry after the time given in "
                "Retry-After."
            ) from None
        try:
            yield
        finally:
            self._free.release()


# Postgres refuses U+0000 in text (22021 character_not_in_repertoire) and in jsonb (22P05
# untranslatable_character). Validation lets it through (it is a valid JSON string), so the refusal comes
# from the database, and the transaction is rolled back: nothing is stored.
NUL_REFUSED = frozenset({"22021", "22P05"})


async def nul_fields(request: Request) -> list[str]:
    """Where the request carries U+0000: path and query parameters, JSON or form fields (the values
    themselves are never echoed). Empty when it cannot be told (e.g. inside an uploaded file).

    Only what the endpoint already read is looked at (Starlette keeps it on the request): reading the body
    again here would wait for a client that has sent everything.
    """
    found = [f"path:{k}" for k, v in request.path_params.items() if "\x00" in str(v)]
    found += [f"query:{k}" for k, v in request.query_params.multi_items() if "\x00" in v]
    body = getattr(request, "_body", None)
    form = getattr(request, "_form", None)
    if isinstance(body, bytes) and "json" in request.headers.get("content-type", ""):
        with contextlib.suppress(ValueError, RecursionError):
            found += [field_path(("body", *loc)) for loc in _nul_paths(json.loads(body))]
    if form is not None:
        found += [k for k, v in form.multi_items() if isinstance(v, str) and "\x00" in v]
    return list(dict.fromkeys(found))


def _nul_paths(value: Any, at: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    if isinstance(value, str):
        return [at] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_paths(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, (*at, i))]
    return []


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes with 413, whether or not the client sent Content-Length.

    A declared length is checked up front. A chunked body is read here, up to the limit, and handed on
    from memory: the framework would otherwise turn an error raised while reading into a vague 400.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def buffered_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, buffered_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, PayloadTooLarge.title, f"Request body exceeds the limit of {self.limit} bytes."
        )
        await response(scope, receive, send)


class RequestMiddleware:
    """Request id (echoed, bound to logs) and metrics per route, as plain ASGI (no per-request task)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                method = scope.get("method", "")
                obs.HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
                obs.HTTP_SECONDS.labels(self.service, method, path).observe(time.perf_counter() - started)


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: the database and the broker are reachable")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(ping(runtime.engine), timeout=3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(runtime.producer.client.fetch_all_metadata(), timeout=3)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router

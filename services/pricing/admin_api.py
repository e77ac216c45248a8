"""The reference-data admin API: the same loads as ``parley pricing load``, over HTTP.

The request body is the file itself (``curl --data-binary @file``), streamed to a temporary file and
loaded by the streaming loader in the request's transaction: the load lands whole or not at all. Send a
Content-Length so large files stream through without being buffered; the body limit is the service's
``PARLEY_MAX_BODY_BYTES`` (raise it on the pricing service for gigabyte files, or use the command line).

Loading and unloading are for admins (and audited); the lists are for every internal role but viewers.
A file with no row to load never empties anything: ``DELETE /v1/reference/{dataset}`` does, on purpose.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.pricing.importers import (
    DATASETS,
    JsonTooDeep,
    LoadParameterError,
    NothingLoaded,
    NothingToUnload,
    ReferenceFileError,
    UnloadError,
    run_load,
    unload,
)
from services.pricing.importers.unload import UNITS
from services.pricing.models import ReferenceLoad
from services.pricing.schemas import DatasetOut, LoadOut, LoadRecordOut, UnloadOut
from shared.auth import CASE_READERS, Identity, Role, audit, requires
from shared.errors import NotFound, Unprocessable
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/reference", tags=["reference data"])


@router.get(
    "/datasets",
    response_model=list[DatasetOut],
    summary="What can be loaded",
    dependencies=[requires(*CASE_READERS)],
)
async def list_datasets() -> list[DatasetOut]:
    """Each dataset with what it holds, whether it needs a year and which targets it takes."""
    return [
        DatasetOut(
            name=d.name,
            what=d.what,
            needs_year=d.needs_year,
            targets=list(d.targets),
            named=d.named,
            unload_by=UNITS[d.name].key,
        )
        for d in DATASETS.values()
    ]


@router.get("/loads", response_model=list[LoadRecordOut], summary="Loads done, newest first")
async def list_loads(
    session: SessionDep,
    _: Annotated[Identity, requires(*CASE_READERS)],
    dataset: Annotated[str | None, Query(description="Only loads of this dataset.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Loads to list.")] = 50,
) -> list[LoadRecordOut]:
    """Every reference load: dataset, source, rows loaded and rejected, when."""
    query = select(ReferenceLoad).order_by(ReferenceLoad.id.desc()).limit(limit)
    if dataset is not None:
        query = query.where(ReferenceLoad.dataset == dataset)
    return [LoadRecordOut.model_validate(r) for r in (await session.execute(query)).scalars()]


@router.post(
    "/{dataset}",
    response_model=LoadOut,
    status_code=201,
    summary="Load a reference file (the body is the file)",
    responses={
        200: {"description": "This exact content was already loaded: nothing changed."},
        404: {"description": "No such dataset."},
        422: {"description": "The file or a parameter is wrong; nothing was loaded."},
    },
)
async def load_file(
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.admin)],
    dataset: Annotated[str, PathParam(description="See GET /v1/reference/datasets.")],
    year: Annotated[int | None, Query(ge=2000, le=2100, description="CMS year of a Medicare file.")] = None,
    target: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Edit set (ncci, mue) or observation source name."),
    ] = None,
    source: Annotated[
        str | None, Query(max_length=200, description="File name to record (a name, without folders).")
    ] = None,
) -> JSONResponse:
    """Rows that cannot be read are rejected with their row number and reason; the rest are loaded. A
    file whose layout cannot be read, or in which no row can be loaded (every row rejected, or none at
    all: a header-only file, an empty list; `no_rows`), is refused with 422 and nothing changes: to
    empty what is loaded, use `DELETE /v1/reference/{dataset}`. JSON nested deeper than 64 levels (real
    price-transparency files nest fewer than 12) is refused with 422 naming the byte offset
    (`body:byte N`), before it is parsed. Loading the same content again is a no-op (200, ``skipped``)."""
    if dataset not in DATASETS:
        raise NotFound(
            f"no dataset {dataset!r}; one of: {', '.join(DATASETS)}",
            errors=[{"field": "path:dataset", "message": "unknown dataset", "type": "unknown"}],
        )
    spec = DATASETS[dataset]
    if spec.named and target is None:
        raise Unprocessable(
            f"{dataset} needs ?target= naming the observation source (a reload of it replaces its rows)",
            errors=[{"field": "query:target", "message": "required for this dataset", "type": "missing"}],
        )
    name = source or f"upload-{dataset}"
    # The name becomes the file's name in a temporary folder: folders in it ("../x", "/etc/x") would write
    # the upload anywhere the service may write.
    if Path(name).name != name or name in (".", "..") or "\\" in name or "\x00" in name:
        raise Unprocessable(
            "source: a file name, without folders, e.g. NCCI_PTP.TXT",
            errors=[{"field": "query:source", "message": "a file name, without folders", "type": "value"}],
        )
    with tempfile.TemporaryDirectory(prefix="parley-load-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise Unprocessable(
                "the request body is empty: send the file as the body",
                errors=[{"field": "body", "message": "empty", "type": "missing"}],
            )
        try:
            summary = await run_load(tx.session, dataset, path, year=year, target=target, source=source)
        except NothingLoaded as exc:
            raise Unprocessable(
                str(exc),
                errors=[
                    {"field": f"body:row {r['row']}", "message": r["reason"], "type": "rejected"}
                    for r in exc.summary.rejections[:20]
                ]
                or [{"field": "body", "message": "no row to load", "type": "no_rows"}],
            ) from exc
        except JsonTooDeep as exc:
            raise Unprocessable(
                str(exc),
                errors=[
                    {
                        "field": f"body:byte {exc.offset}",
                        "message": f"JSON nested deeper than {exc.limit} levels",
                        "type": "too_deep",
                    }
                ],
            ) from exc
        except ReferenceFileError as exc:
            raise Unprocessable(
                str(exc), errors=[{"field": "body", "message": str(exc), "type": "layout"}]
            ) from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            message = "the file is not readable text in the expected encoding and layout"
            raise Unprocessable(
                message, errors=[{"field": "body", "message": message, "type": "layout"}]
            ) from exc
        except LoadParameterError as exc:
            field, _, message = str(exc).partition(": ")
            raise Unprocessable(
                str(exc), errors=[{"field": f"query:{field}", "message": message, "type": "value"}]
            ) from exc
    await audit(
        tx,
        request,
        user,
        "load:reference",
        "dataset",
        dataset,
        None,
        detail={
            "source": summary.source,
            "target": summary.target,
            "skipped": summary.skipped,
            "rows_loaded": summary.rows_loaded,
            "rows_rejected": summary.rows_rejected,
        },
    )
    body = LoadOut(
        dataset=summary.dataset,
        source=summary.source,
        target=summary.target,
        skipped=summary.skipped,
        rows_loaded=summary.rows_loaded,
        rows_rejected=summary.rows_rejected,
        rejections=summary.rejections,
        notes=summary.notes,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if summary.skipped else 201)


@router.delete(
    "/{dataset}",
    response_model=UnloadOut,
    summary="Empty a dataset's year, target or whole table, on purpose",
    responses={
        404: {"description": "No such dataset, or nothing loaded for that year or target."},
        422: {"description": "A year or target missing, needless or unknown; or no reason."},
    },
)
async def unload_dataset(
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.admin)],
    dataset: Annotated[str, PathParam(description="See GET /v1/reference/datasets (`unload_by`).")],
    reason: Annotated[str, Query(min_length=3, max_length=500, description="Why: kept and audited.")],
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="The year (fiscal year for IPPS) to empty.")
    ] = None,
    target: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="The edit set, observation source, definition id or facility NPI to empty.",
        ),
    ] = None,
) -> UnloadOut:
    """Take out what loads put in, one unit at a time: a year's rows (CMS datasets; `ipps-rates` by fiscal
    year), an edit set (`ncci`, `mue`), an observation source with its U&C cells (`hpt`, `tic`,
    `observations`), one definition by id (`fee-schedules`, `contracts`, `networks`, `clients`), one
    facility by NPI (its peer cells follow), or the whole table (`zip5`, `zip9`, `anesthesia-base-units`).
    A file with no row to load is refused instead of emptying anything, so this is the only way to empty
    a dataset. Admins only; audited (`unload:reference`) and recorded in `GET /v1/reference/loads`, so the
    same file loads again afterwards. 404 when nothing is loaded there (a typo is said, not ignored)."""
    if dataset not in DATASETS:
        raise NotFound(
            f"no dataset {dataset!r}; one of: {', '.join(DATASETS)}",
            errors=[{"field": "path:dataset", "message": "unknown dataset", "type": "unknown"}],
        )
    try:
        done = await unload(tx.session, dataset, year=year, target=target, reason=reason)
    except UnloadError as exc:
        field, _, message = str(exc).partition(": ")
        raise Unprocessable(
            str(exc), errors=[{"field": f"query:{field}", "message": message, "type": "value"}]
        ) from exc
    except NothingToUnload as exc:
        raise NotFound(str(exc)) from exc
    await audit(
        tx,
        request,
        user,
        "unload:reference",
        "dataset",
        dataset,
        None,
        detail={"year": year, "target": done.target, "rows_removed": done.rows_removed, "reason": reason},
    )
    return UnloadOut(
        dataset=dataset, year=year, target=done.target, rows_removed=done.rows_removed, reason=reason
    )

"""Documents (settlement agreements, weekly reports): typst templates compiled to PDF or HTML.

One way to make a document: a typst template (https://typst.app/docs) that reads its data from the JSON
handed to it, compiled by the ``typst`` package from PyPI (no system fonts or binaries needed: the
compiler and its default fonts ship in the wheel). A template starts with::

    #let data = json(bytes(sys.inputs.data))

and uses ``data.agreed_amount``, ``data.lines`` … The data is whatever JSON the caller passes; format
money and dates before passing them, so the template only places text.

- ``render_pdf`` writes PDF/A-2b by default (archival: fonts embedded, no external references), with a
  fixed timestamp so the same template and data give the same bytes (a document's SHA-256 is stable).
- ``render_html`` compiles the same template to an HTML fragment (typst's HTML export), so a report can be
  one template for the page and the PDF.
- A template that does not compile raises :class:`TemplateError` naming the line and column and why;
  callers that accept templates from people (an admin's upload) compile a sample at upload time so a bad
  template is refused then, never when a document is due.

Rendering takes about 10–20 ms for a one-page document on this project's 2-core machine class; it runs in a
worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typst

# typst's diagnostic names the place as "┌─ <file>:<line>:<column>".
_WHERE = re.compile(r":(\d+):(\d+)\s*$", re.MULTILINE)


class TemplateError(ValueError):
    """The template does not compile with this data: ``line`` and ``column`` say where (1-based)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"the template does not compile{where}: {message}")
        self.reason = message
        self.line = line
        self.column = column


@functools.cache
def _empty_root() -> str:
    # typst reads files (#read, #image, #include) relative to its root, which defaults to the process's
    # working directory: a template from a person (an admin's upload) could then read the project's files
    # and secrets into a document. A template without a root gets an empty folder instead.
    return tempfile.mkdtemp(prefix="parley-typst-")


@dataclass(frozen=True)
class Template:
    """Template source, with the folder its ``#image``/``#include`` paths are relative to. Without one
    (``root=None``) the template can read no file at all."""

    source: bytes
    root: Path | None = None

    @classmethod
    def from_file(cls, path: Path) -> Template:
        return cls(path.read_bytes(), path.parent)


def _compile(
    template: Template, data: Mapping[str, Any], fmt: str, *, pdf_a: bool, timestamp: datetime | None
) -> bytes:
    options: dict[str, Any] = {
        "format": fmt,
        "sys_inputs": {"data": json.dumps(data, default=str)},
        "ignore_system_fonts": True,  # the same bytes on every machine
    }
    options["root"] = str(template.root) if template.root is not None else _empty_root()
    if fmt == "pdf":
        stamp = timestamp or datetime(2000, 1, 1, tzinfo=UTC)
        options["timestamp"] = int(stamp.timestamp())
        if pdf_a:
            options["pdf_standards"] = ["a-2b"]
    try:
        result = typst.compile(template.source, **options)
    except typst.TypstError as exc:
        found = _WHERE.search(str(getattr(exc, "diagnostic", "") or ""))
        # typst-py reports the column 0-based; people count from 1.
        line, column = (int(found.group(1)), int(found.group(2)) + 1) if found else (None, None)
        raise TemplateError(str(exc.args[0] if exc.args else exc), line, column) from None
    if not isinstance(result, bytes):  # one output file for pdf/html
        raise TemplateError(f"the template produced {type(result).__name__}, not one {fmt} document")
    return result


def render_pdf(
    template: Template,
    data: Mapping[str, Any],
    *,
    pdf_a: bool = True,
    timestamp: datetime | None = None,
) -> bytes:
    """Compile ``template`` with ``data`` to PDF bytes (PDF/A-2b unless ``pdf_a=False``).

    ``timestamp`` is written as the document's creation date (default: a fixed date, so output is
    reproducible). Raises :class:`TemplateError`.
    """
    return _compile(template, data, "pdf", pdf_a=pdf_a, timestamp=timestamp)


def render_html(template: Template, data: Mapping[str, Any]) -> str:
    """Compile ``template`` with ``data`` to an HTML document (typst's HTML export). Raises TemplateError."""
    return _compile(template, data, "html", pdf_a=False, timestamp=None).decode()


async def render_pdf_async(
    template: Template, data: Mapping[str, Any], *, pdf_a: bool = True, timestamp: datetime | None = None
) -> bytes:
    """:func:`render_pdf` in a worker thread, for request and event handlers."""
    return await asyncio.to_thread(render_pdf, template, data, pdf_a=pdf_a, timestamp=timestamp)

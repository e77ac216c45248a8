"""Server-rendered pages: one base layout, one stylesheet, one render helper, for every service.

A service's pages live in ``services/<name>/templates/`` and extend the shared layout::

    {% extends "base.html" %}
    {% block title %}Cases{% endblock %}
    {% block content %}
      <form method="post" action="/cases/{{ case.id }}/notes">{{ csrf_input() }} … </form>
    {% endblock %}

and a route renders them (``requires`` sends a browser without a session to ``/signin`` first)::

    @router.get("/cases", response_class=HTMLResponse)
    async def cases_page(
        request: Request, user: Annotated[Identity, requires(*CASE_READERS)]
    ) -> HTMLResponse:
        return render(request, "cases.html", cases=...)

Every template sees ``request``, ``identity`` (None when signed out), ``service`` (the service's name),
``csrf_input()`` (the hidden field every form post needs) and ``csrf_token``. Autoescaping is on.
Static files are served from ``/static`` (``shared/web/static``: ``parley.css``); any script is vendored
there with its version and licence, never loaded from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from shared.auth.sessions import CSRF_FIELD

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "install_pages", "render"]


def install_pages(app: FastAPI, service: str, title: str, templates_dir: Path | None = None) -> None:
    """Mount ``/static`` and set up the template environment (service templates first, then shared)."""
    loaders = [FileSystemLoader(str(templates_dir))] if templates_dir and templates_dir.is_dir() else []
    environment = Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES_DIR))]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        enable_async=False,
    )
    environment.globals.update(service=service, service_title=title)
    app.state.templates = Jinja2Templates(env=environment)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _csrf_input(token: str | None) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token or ""))


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the page context every template may rely on (see the module doc)."""
    identity = getattr(request.state, "identity", None)
    token = context.pop("csrf_token", None) or (identity.csrf_token if identity is not None else None)
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(
        request,
        template,
        {
            "identity": identity,
            "csrf_token": token,
            "csrf_input": lambda: _csrf_input(token),
            **context,
        },
        status_code=status_code,
    )
    # Pages show a person's data: never from a shared cache, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    return response

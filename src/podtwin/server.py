"""What `podtwin serve` runs: the JSON API and the OpenAI-compatible chat (api/) with the web
app's pages (web/) over them, one ASGI app over one library.

The top of the serving floors: api/ knows nothing of the pages, and web/ builds on api/.
"""

from __future__ import annotations

import pathlib

from fastapi import FastAPI

from podtwin.api.app import create_api
from podtwin.api.service import Limits, Service
from podtwin.web.pages import add_pages

__all__ = ["create_app"]


def create_app(
    library: str | pathlib.Path | Service,
    *,
    private: bool = False,
    limits: Limits | None = None,
    llm: str | None = None,
    workers: int | None = None,
    webhooks: bool | dict = True,
) -> FastAPI:
    """The whole app over one library (a path, or a Service already open): see create_api for
    the options."""
    app = create_api(library, private=private, limits=limits, llm=llm, workers=workers, webhooks=webhooks)
    add_pages(app, app.state.service)
    return app

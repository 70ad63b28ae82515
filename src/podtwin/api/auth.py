"""Who a request comes from: an API key in a header (scripts, chat clients), or the web app's
session cookie (a creator signed in with a key); and the check that keeps other sites from
using that cookie (cross-site request forgery)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.requests import Request

__all__ = ["SESSION_COOKIE", "SameOrigin", "key_of", "session_of"]

SESSION_COOKIE = "podtwin_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def key_of(request: Request) -> str | None:
    """The API key a request carries: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def session_of(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


class SameOrigin:
    """Refuse (403) a state-changing request that a page of another site sent.

    Checked for every POST, PUT, PATCH and DELETE that the session cookie would authenticate
    and for every one to the creator area (its sign-in included): the Origin header, or failing
    that the Referer, must name this site's host. A browser sends Origin with every such request;
    a request with neither header and no session cookie (a script with a key) is let through,
    as is one with neither and the cookie only when it is not a browser's (no Sec-Fetch-Site)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookie = f"{SESSION_COOKIE}=" in headers.get("cookie", "")
        creator_area = scope["path"].startswith("/creator")
        if (cookie or creator_area) and not _same_site(headers):
            return await _refuse(send)
        return await self.app(scope, receive, send)


def _same_site(headers: dict[str, str]) -> bool:
    host = headers.get("host", "").lower()
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value is not None:
            return value != "null" and urlsplit(value).netloc.lower() == host
    # neither header: no browser page sent it (browsers send Origin with every POST, and
    # mark every request with Sec-Fetch-Site)
    return "sec-fetch-site" not in headers


async def _refuse(send) -> None:
    body = json.dumps({"error": "refused: this request came from another site"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})

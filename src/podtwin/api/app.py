"""The HTTP API: the JSON API (/api) and the OpenAI-compatible chat (/v1), with their limits.

`create_api(library)` builds one FastAPI app over one library; podtwin.server adds the web
app's pages, and `podtwin serve` runs the whole with uvicorn. Reads and chat are public
unless the app is private; writes (persona edits, uploads, speaker corrections) and the
creator's reads need an API key (`podtwin keys create`) or a signed-in session.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
import time
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import anyio
from fastapi import Depends, FastAPI, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from podtwin.api.auth import SameOrigin, key_of, session_of
from podtwin.api.service import Limits, Service
from podtwin.api.statuses import status_of
from podtwin.errors import PodtwinError

__all__ = ["create_api", "default_workers"]


class AskRequest(BaseModel):
    person: str = Field(min_length=1, max_length=200, description="Slug, id or name of the person")
    question: str = Field(min_length=1, max_length=1000)
    history: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=20, description="Earlier questions of this conversation, oldest first"
    )
    explain: bool = Field(
        default=False,
        description="The creator only (needs an API key; 401 without one): the reply carries `why`, why it "
        "was given (checks, P(in record), candidates with their scores, quoted sentences' speaker confidence)",
    )


class PersonaChange(BaseModel):
    disclosure: str | None = Field(default=None, max_length=1000)
    off_limits: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=50)
    decline: str | None = Field(default=None, max_length=1000)
    style: str | None = Field(default=None, pattern="^(verbatim|conversational)$")
    max_words: int | None = Field(default=None, ge=10, le=1000)
    episodes: str | None = Field(default=None, max_length=500)


EpisodeId = Annotated[int, Path(ge=0, le=2**53)]
ReviewLimit = Annotated[int | None, Query(ge=1, le=10_000, description="How many turns (default: all)")]


class SpeakerChange(BaseModel):
    turn: int = Field(ge=0, le=1_000_000, description="The turn's index, as the review lists it")
    person: str = Field(min_length=1, max_length=200, description="Who spoke it: name, alias or slug of a person")
    first_sentence: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="The turn's first sentence as listed; if given, a turn renumbered since is refused",
    )


class WebhookSettings(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="Where events are POSTed: http:// or https://")
    watch_topics: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=50,
        description="Questions touching one of these (by meaning) raise a watched_topic event",
    )
    unsure_below: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Replies below this confidence, answered or abstained (`abstained` in the event), raise an "
        "unsure event; null: none",
    )
    new_secret: bool = Field(default=False, description="Make a new signing secret (shown once, in this reply)")


class FlagRequest(BaseModel):
    reason: str = Field(default="", max_length=500, description="What is wrong with the reply (optional)")


QuestionId = Annotated[int, Path(ge=1, le=2**53)]


class MarkRequest(BaseModel):
    mark: Literal["good", "wrong"] | None = Field(description="good, wrong, or null to clear the mark")


class CorrectionRequest(BaseModel):
    kind: Literal["pin", "block"] = Field(description="pin: this excerpt answers; block: it must not")
    episode_id: int = Field(ge=0, le=2**53)
    first_sentence: int = Field(ge=0, le=100_000_000, description="The excerpt's first sentence (index in the episode)")
    last_sentence: int = Field(ge=0, le=100_000_000, description="... and its last")
    question: str | None = Field(default=None, max_length=1000, description="The question it answers (or not)")
    question_id: int | None = Field(
        default=None, ge=1, le=2**53, description="A logged question instead: its question, as resolved"
    )


class Window:
    """Actions per minute per client address (a fixed window); allow() says whether one more may go."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.windows: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def allow(self, client: str) -> bool:
        if not self.per_minute:
            return True
        window = int(time.monotonic() // 60)
        with self.lock:
            start, count = self.windows.get(client, (window, 0))
            count = count + 1 if start == window else 1
            self.windows[client] = (window, count)
            if len(self.windows) > 100_000:  # forget old clients rather than grow without end
                self.windows = {c: w for c, w in self.windows.items() if w[0] == window}
        return count <= self.per_minute


class BodyLimit:
    """Refuse a request body over the limit (413) before it is read into memory."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _send_json(send, 413, {"error": f"request body over {self.limit:,} bytes"})
        seen, refused = 0, False

        # A body without a length (chunked) is counted as it arrives: past the limit the 413
        # goes out at once, the app is told the client left, and what it does after is dropped.
        async def limited():
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not refused:
                refused = True
                await _send_json(send, 413, {"error": f"request body over {self.limit:,} bytes"})
            return {"type": "http.disconnect"} if refused else message

        async def unless_refused(message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited, unless_refused)
        except Exception:
            if not refused:
                raise


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
]


class SecurityHeaders:
    """Headers every response carries (unless it sets its own)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class RateLimit:
    """Requests per minute per client address (a fixed window), 429 beyond it; 0: no limit."""

    def __init__(self, app, per_minute: int) -> None:
        self.app, self.per_minute = app, per_minute
        self.window = Window(per_minute)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.per_minute:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?", 0))[0]
        if not self.window.allow(client):
            return await _send_json(send, 429, {"error": "too many requests; try again in a minute"}, retry=True)
        return await self.app(scope, receive, send)


async def _send_json(send, status: int, body: dict, retry: bool = False) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if retry:
        headers.append((b"retry-after", b"60"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _file_slug(name: str | None) -> str:
    from podtwin.speakers.names import slug

    return slug(name) if name else "everyone"


def default_workers(llm: str | None) -> int:
    """Requests handled at once: one per core, as the work is CPU-bound; with a language model
    four per core, as a generative reply spends most of its time waiting for the model."""
    cores = os.cpu_count() or 2
    return 4 * cores if llm else cores


def create_api(
    library: str | pathlib.Path | Service,
    *,
    private: bool = False,
    limits: Limits | None = None,
    llm: str | None = None,
    workers: int | None = None,
    webhooks: bool | dict = True,
) -> FastAPI:
    """The JSON API and the OpenAI-compatible chat over one library (a path, or a Service
    already open); podtwin.server adds the web app's pages to it.

    private: reads and chat need an API key too; llm: an OpenAI-compatible endpoint that
    rewrites answers (generative mode), else answers are extractive; workers: requests
    handled at once (more only add switching between threads: the work is CPU-bound);
    webhooks: send the creator's webhook events in the background while serving (a dict:
    api.webhooks.Deliverer's settings)."""
    service = library if isinstance(library, Service) else Service(library, limits=limits)
    limits = service.limits

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.workers
        deliverer = None
        if webhooks:  # the creator's webhook events, sent from the library's queue while serving
            from podtwin.api.webhooks import Deliverer

            deliverer = Deliverer(service.path, **(webhooks if isinstance(webhooks, dict) else {}))
            deliverer.start()
        app.state.deliverer = deliverer
        try:
            yield
        finally:
            if deliverer is not None:
                await anyio.to_thread.run_sync(deliverer.stop)

    app = FastAPI(
        lifespan=lifespan,
        # no OpenTelemetry here: skip its per-request checks
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # the spec and its page are routes of our own below: under --private they need the key,
        # and the page's assets come from this site, not a CDN
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        title="podtwin",
        version="0.1.0",
        description="AI twins of a podcast's host and guests, answering in their own recorded words, every "
        "sentence cited. Replies are an AI's, built from recorded appearances, not the person's.",
    )
    app.state.service = service
    app.state.private = private
    app.state.llm = llm
    app.state.workers = workers or default_workers(llm)

    def writer(request: Request) -> None:
        if not creator(request):
            raise HTTPException(401, "this needs an API key (podtwin keys create)", {"WWW-Authenticate": "Bearer"})

    def creator(request: Request) -> bool:
        """Whether the request carries a live key (checked once per request: a check records its use)."""
        if not hasattr(request.state, "creator"):
            key, session = key_of(request), session_of(request)
            request.state.creator = (key is not None and service.verify_key(key)) or (
                key is None and service.verify_session(session)
            )
        return request.state.creator

    def reader(request: Request) -> None:
        if private:
            writer(request)

    app.state.writer, app.state.reader, app.state.creator = writer, reader, creator

    app.state.error_page = None  # set by the web app: (request, status, message) -> a page

    def error(request: Request, status: int, message: str, headers=None):
        if app.state.error_page is not None and not request.url.path.startswith(("/api/", "/v1/")):
            return app.state.error_page(request, status, message)
        return JSONResponse({"error": message}, status, headers=headers)

    @app.exception_handler(PodtwinError)
    async def podtwin_error(request: Request, e: PodtwinError):
        return error(request, status_of(e), str(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        # FastAPI's own 422 repeats each bad input back: a 5 MB field would come back whole
        problems = [{k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in e.errors()]
        message = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems[:5])
        if app.state.error_page is not None and not request.url.path.startswith(("/api/", "/v1/")):
            return app.state.error_page(request, 422, message)
        return JSONResponse({"error": message, "detail": problems}, 422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and the router's own (404, 405)
    async def http_error(request: Request, e: StarletteHTTPException):
        return error(request, e.status_code, str(e.detail), e.headers)

    # a public app checks nothing on reads: no dependency, so no hop to a worker thread for it
    read = [Depends(reader)] if private else []
    write = [Depends(writer)]

    @app.get("/api/search", dependencies=read, tags=["search"])
    def api_search(
        q: Annotated[str, Query(min_length=1, max_length=1000, description="What to look for")],
        speaker: Annotated[str | None, Query(max_length=200)] = None,
        episode: Annotated[str | None, Query(max_length=200)] = None,
        kind: Annotated[list[str] | None, Query(max_length=10)] = None,
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
        mode: Annotated[str, Query(pattern="^(hybrid|lexical|dense)$")] = "hybrid",
    ) -> dict:
        """Ranked passages with speaker, episode, position and highlighted words (as `podtwin search --json`)."""
        found = service.search(q, speaker=speaker, episode=episode, kinds=kind, limit=limit, mode=mode)
        # plain JSON already: written directly, not walked again by FastAPI's encoder
        return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")

    @app.post("/api/ask", dependencies=read, tags=["twins"])
    def api_ask(body: AskRequest, request: Request) -> dict:
        """One reply of a twin, in the person's recorded words, every sentence cited (as `podtwin ask --json`).
        With `explain` (the creator's, needs an API key: 401 without one, rather than a reply
        that quietly lacks what was asked for) the reply carries `why`, as `GET /api/questions/{id}/why`."""
        if body.explain:
            writer(request)
        return service.ask(body.person, body.question, body.history, channel="api", llm=llm, explain=body.explain)

    @app.get("/api/episodes", dependencies=read, tags=["episodes"])
    def api_episodes() -> list[dict]:
        return service.episodes()

    @app.get("/api/episodes/{episode_id}", dependencies=read, tags=["episodes"])
    def api_episode(episode_id: int, transcript: bool = False) -> dict:
        """An episode's metadata, sources, segments and speakers; with transcript, every sentence."""
        return service.episode(episode_id, sentences=transcript)

    @app.get("/api/people", dependencies=read, tags=["people"])
    def api_people() -> list[dict]:
        return service.people()

    @app.get("/api/people/{person}", dependencies=read, tags=["people"])
    def api_person(person: Annotated[str, Path(max_length=200)], request: Request) -> dict:
        """A person (slug, id or name) with persona and most-discussed topics (off-limits
        topics only with an API key)."""
        return service.person(person, creator=creator(request))

    @app.get("/api/people/{person}/persona", dependencies=read, tags=["twins"])
    def api_persona(person: Annotated[str, Path(max_length=200)], request: Request) -> dict:
        """A twin's bounds and disclosure (off-limits topics only with an API key)."""
        return service.persona(person, creator=creator(request))

    @app.patch("/api/people/{person}/persona", dependencies=write, tags=["twins"])
    def api_set_persona(person: str, change: PersonaChange) -> dict:
        """Change a twin's bounds (needs an API key); settings left out stay as they are."""
        return service.set_persona(person, change.model_dump(exclude_none=True))

    @app.get("/api/people/{person}/questions", dependencies=write, tags=["twins"])
    def api_questions(person: str, limit: Annotated[int, Query(ge=1, le=50)] = 20) -> list[dict]:
        """Recent questions asked of this twin, with the replies (needs an API key)."""
        return service.recent_questions(person, limit)

    flags = app.state.flags = Window(limits.flags_per_minute)  # the web app's flag form counts here too

    @app.post("/api/questions/{question_id}/flag", dependencies=read, tags=["twins"])
    def api_flag(question_id: QuestionId, request: Request, body: FlagRequest | None = None) -> dict:
        """A listener flags a reply as wrong (no account needed; a few a minute per address,
        429 beyond): kept for the creator, and sent to the twin's webhook as a `flagged` event.
        The question id is `question_id` in the ask reply."""
        client = (request.client.host if request.client else None) or "?"
        if not flags.allow(client):
            raise HTTPException(429, "too many flags from this address; try again in a minute", {"Retry-After": "60"})
        return service.flag(question_id, (body or FlagRequest()).reason, client)

    @app.get("/api/questions/{question_id}/why", dependencies=write, tags=["twins"])
    def api_question_why(question_id: QuestionId) -> dict:
        """Why a logged reply was given (needs an API key; as `podtwin questions why --json`): the
        question, the reply, and `why`: the checks that ran ({name, outcome, detail}), P(in record)
        with its features, threshold and decision, the candidate passages and sentences with their
        scores, and each quoted sentence with its speaker confidence. `why` is null for a reply
        logged before traces were kept."""
        return service.question_why(question_id)

    def who(request: Request) -> str:
        return service.who(key_of(request), session_of(request))

    @app.get("/api/questions/{question_id}", dependencies=write, tags=["corrections"])
    def api_question(question_id: QuestionId) -> dict:
        """One logged question with its reply and the creator's mark (needs an API key)."""
        return service.question(question_id)

    @app.put("/api/questions/{question_id}/mark", dependencies=write, tags=["corrections"])
    def api_mark(question_id: QuestionId, body: MarkRequest, request: Request) -> dict:
        """Mark a logged reply good or wrong, or clear the mark (null); audited and undoable."""
        return service.mark(question_id, body.mark, who(request))

    @app.post("/api/people/{person}/corrections", dependencies=write, tags=["corrections"], status_code=201)
    def api_correct(person: Annotated[str, Path(max_length=200)], body: CorrectionRequest, request: Request) -> dict:
        """Pin an excerpt of the person's words (sentences first..last of an episode, as search
        hits and citations give them) as the answer to a question and its paraphrases, or block
        it from answering them. The question is given, or the logged question's (question_id).
        A pin of words that are not the person's own, or whose speaker is uncertain, is refused
        (400) with the reason. Audited and undoable."""
        return service.correct(
            person, body.kind, episode=body.episode_id, first_sentence=body.first_sentence,
            last_sentence=body.last_sentence, who=who(request), question=body.question, question_id=body.question_id,
        )  # fmt: skip

    @app.get("/api/people/{person}/corrections", dependencies=write, tags=["corrections"])
    def api_corrections(person: Annotated[str, Path(max_length=200)]) -> list[dict]:
        """A twin's pins and blocks, newest first, with their status (in use, removed, gone, unusable and why)."""
        return service.corrections(person)

    @app.delete("/api/corrections/{correction_id}", dependencies=write, tags=["corrections"])
    def api_remove_correction(correction_id: QuestionId, request: Request) -> dict:
        """Take a pin or block out of use (kept, audited, undoable)."""
        return service.remove_correction(correction_id, who(request))

    @app.get("/api/people/{person}/changes", dependencies=write, tags=["corrections"])
    def api_changes(
        person: Annotated[str, Path(max_length=200)], limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict]:
        """The creator's audit of a twin, newest first: who, when, what, the state before and after."""
        return service.changes(person, limit)

    @app.post("/api/changes/{change_id}/undo", dependencies=write, tags=["corrections"])
    def api_undo(change_id: QuestionId, request: Request) -> dict:
        """Undo one change (itself audited); 400 when what it changed was changed again since."""
        return service.undo(change_id, who(request))

    @app.get("/api/people/{person}/webhook", dependencies=write, tags=["webhooks"])
    def api_webhook(person: Annotated[str, Path(max_length=200)]) -> dict:
        """A twin's webhook: URL, watch topics, unsure_below (needs an API key; never the secret)."""
        return service.webhook(person)

    @app.put("/api/people/{person}/webhook", dependencies=write, tags=["webhooks"])
    def api_set_webhook(person: Annotated[str, Path(max_length=200)], settings: WebhookSettings) -> dict:
        """Make or replace a twin's webhook (needs an API key). Events are POSTed as JSON, signed
        in `X-Podtwin-Signature-256` (sha256=HMAC of the body with the secret); the secret is in
        this reply only when it is made (the first time, or new_secret). A URL that is not
        http(s) is refused (400) with the reason."""
        return service.set_webhook(
            person, settings.url, settings.watch_topics, settings.unsure_below, settings.new_secret
        )

    @app.delete("/api/people/{person}/webhook", dependencies=write, tags=["webhooks"])
    def api_delete_webhook(person: Annotated[str, Path(max_length=200)]) -> dict:
        """Remove a twin's webhook (needs an API key): no more events; those not yet delivered
        are given up, and all stay listed in the events. 404 when it has none."""
        return service.delete_webhook(person)

    @app.get("/api/webhook/events", dependencies=write, tags=["webhooks"])
    def api_webhook_events(
        person: Annotated[str | None, Query(max_length=200)] = None,
        status: Annotated[str | None, Query(pattern="^(delivered|pending|failed)$")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict]:
        """The latest webhook events, newest first, each delivered, pending or failed, with its
        attempts and last error (needs an API key; as `podtwin webhook events --json`)."""
        return service.webhook_events(person, status, limit)

    @app.get("/api/people/{person}/insights", dependencies=write, tags=["twins"])
    def api_insights(
        person: Annotated[str, Path(max_length=200)],
        days: Annotated[int, Query(ge=1, le=3660, description="Days the per-day counts cover")] = 90,
        limit: Annotated[int, Query(ge=1, le=100, description="Rows of each list")] = 10,
    ) -> dict:
        """What people ask this twin (needs an API key; as `podtwin insights --json`): questions
        per day, how many were answered, abstained on and declined, the least confident answers
        and the questions asked most often."""
        return service.insights(person, days=days, limit=limit)

    @app.get("/api/people/{person}/gaps", dependencies=write, tags=["twins"])
    def api_gaps(
        person: Annotated[str, Path(max_length=200)],
        format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
    ) -> dict:
        """What the record lacks (needs an API key; as `podtwin gaps`): the questions the twin
        abstained on, grouped by meaning into topics, each with its count and examples, the most
        asked first; as JSON or as a CSV file of ideas for the next episode."""
        from podtwin.api.insights import gaps_csv

        report = service.gaps(person)
        if format == "csv":
            name = _file_slug(report["person"])
            return Response(
                gaps_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}-gaps.csv"'},
            )
        return report

    @app.get("/api/episodes/{episode_id}/speakers", dependencies=write, tags=["episodes"])
    def api_speakers_review(episode_id: EpisodeId, limit: ReviewLimit = None) -> list[dict]:
        """The creator's speakers review (needs an API key): the episode's turns, least confident
        first, each with the turns around it (as `podtwin speakers review --json`)."""
        return service.speakers_review(episode_id, limit)

    @app.post("/api/episodes/{episode_id}/speakers", dependencies=write, tags=["episodes"])
    def api_set_speaker(episode_id: EpisodeId, change: SpeakerChange, limit: ReviewLimit = None) -> dict:
        """Say who spoke one turn (needs an API key; as `podtwin speakers set`): kept across
        re-ingest, and the show's episodes are attributed again with it, so turns are renumbered.
        Returns the change, `now` (the turn holding those words now) and the updated `review`.
        An unknown person or turn is refused (400) and nothing changes."""
        result = service.set_speaker(episode_id, change.turn, change.person, first_sentence=change.first_sentence)
        return {**result, "review": service.speakers_review(episode_id, limit)}

    @app.post("/api/uploads", dependencies=write, tags=["episodes"])
    async def api_upload(file: Annotated[UploadFile, File(description="A transcript file")]) -> dict:
        """Ingest an uploaded transcript (needs an API key); bad files are refused with the reason."""
        data = await file.read(limits.upload_bytes + 1)
        return await anyio.to_thread.run_sync(service.upload, file.filename or "upload", data)

    @app.get("/openapi.json", dependencies=read, include_in_schema=False)
    def openapi_spec() -> JSONResponse:
        return JSONResponse(app.openapi())

    from podtwin.api.openai import add_openai_routes

    add_openai_routes(app, service, read, llm)
    app.add_middleware(SameOrigin)
    app.add_middleware(BodyLimit, limit=limits.request_bytes)
    app.add_middleware(RateLimit, per_minute=limits.requests_per_minute)  # checked first
    app.add_middleware(SecurityHeaders)  # outermost: refusals carry the headers too
    return app

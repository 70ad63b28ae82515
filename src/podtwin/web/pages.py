"""The web app's pages: server-rendered (Jinja2, autoescaped: transcripts are untrusted text),
usable without JavaScript; a little plain JS streams twin answers in (static/chat.js)."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Annotated, Literal

import anyio
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from podtwin.api.auth import SESSION_COOKIE, session_of
from podtwin.api.openai import reply_text
from podtwin.api.service import Service, slug
from podtwin.errors import PodtwinError, WebhookError
from podtwin.search.query import KINDS
from podtwin.search.query import clock as search_clock
from podtwin.store.keys import SESSION_DAYS
from podtwin.twin.answer import load_calibration, paragraphs
from podtwin.web.charts import bars_per_day, share_bar

__all__ = ["add_pages"]

HERE = Path(__file__).parent
# Swagger UI 5 (OpenAPI 3.1), the files that fastapi-offline ships: served from this site, as
# the pages' Content-Security-Policy allows nothing else and there may be no network
SWAGGER_UI = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"
COLLAPSED = ("intro", "sponsor", "outro")  # shown folded on an episode page
QuestionId = Annotated[int, PathParam(ge=1, le=2**53)]  # as the API's: within SQLite's integers
REVIEW_PAGE = 20  # turns the speakers review shows at first


def clock(seconds: float | None) -> str:
    return "" if seconds is None else search_clock(seconds)


def highlighted(text: str, spans: list) -> Markup:
    """The text, escaped, with the query's words in <mark>."""
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out.append(escape(text[pos:a]))
        out.append(Markup("<mark>") + escape(text[a:b]) + Markup("</mark>"))
        pos = b
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def shortened(text: str, words: int, keep: str = "start") -> str:
    """At most `words` words of text: its start (or its end), an ellipsis where it was cut."""
    ws = [w for w in text.split() if w != "…"]
    if len(ws) <= words:
        return " ".join(ws)
    return "… " + " ".join(ws[-words:]) if keep == "end" else " ".join(ws[:words]) + " …"


def change_state(state: dict | str | None) -> str:
    """A state of the creator's audit, in words: none, a mark, or what a pin or block holds."""
    if state is None:
        return "none"
    if isinstance(state, str):
        return state
    excerpt = shortened(" ".join(state.get("sentences", [])), 12)
    return f"{state.get('kind', '')} for “{shortened(state.get('question', ''), 12)}”: “{excerpt}”"


def when(iso: str | None) -> str:
    """An ISO time as the creator reads it: to the second, in UTC."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


def split_topics(text: str) -> list[str]:
    """Watch topics as typed in the form: one per line, or separated by commas."""
    return [t.strip() for line in text.splitlines() for t in line.split(",") if t.strip()]


def confidence_of(text: str) -> float | None:
    """The unsure confidence as typed in the form (empty: none); the store checks its range."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        shown = text.strip()
        raise WebhookError(f"the unsure confidence must be a number from 0 to 1 (such as 0.7), not {shown!r}") from None


def add_pages(app: FastAPI, service: Service) -> None:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(
        clock=clock, slug=slug, episode_label=service.episode_label, paragraphs=paragraphs, change_state=change_state
    )
    env.filters["highlighted"] = highlighted
    env.filters["shortened"] = shortened
    env.filters["when"] = when
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    signed_in = app.state.creator

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        context.setdefault("private", app.state.private)
        context["creator"] = signed_in(request)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def allowed(request: Request) -> HTMLResponse | None:
        """In a private app, pages need the key too (entered on the creator page)."""
        if app.state.private and not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        return None

    def creator_person_page(request: Request, info: dict, status: int = 200, **context) -> HTMLResponse:
        """The creator's page of a twin: its bounds, recent questions, pins and blocks with the audit
        of changes, webhook and events.
        context: a notice (saved, webhook_notice), an error of one of its forms (error; webhook_error,
        with what was typed in webhook_form), a webhook secret just made (secret)."""
        try:
            hook = service.webhook(info["name"])
        except PodtwinError:
            hook = None
        context.setdefault("saved", False)
        response = page(
            request,
            "creator_person.html",
            status,
            person=info,
            recent=service.recent_questions(info["name"]),
            webhook=hook,
            events=service.webhook_events(info["name"], limit=30),
            abstain_below=load_calibration().threshold,
            **corrections_of(info["name"]),
            **context,
        )
        if context.get("secret"):  # shown once: no cache keeps it
            response.headers["Cache-Control"] = "no-store"
        return response

    def corrections_of(name: str) -> dict:
        """The twin's pins and blocks and the audit of the creator's changes, for its page."""
        return {"corrections": service.corrections(name), "changes": service.changes(name, 30)}

    # errors on pages (a person or episode not found, an unknown path) come back as a page
    app.state.error_page = lambda request, status, message: page(request, "error.html", status, message=message)

    app.mount("/docs/assets", StaticFiles(directory=str(SWAGGER_UI)), name="docs-assets")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        """The API's reference (Swagger UI over /openapi.json)."""
        if (denied := allowed(request)) is not None:
            return denied
        return templates.TemplateResponse(request, "docs.html", {})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        if (denied := allowed(request)) is not None:
            return denied
        episodes = service.episodes()
        shows = [
            {"name": name or "(no show)", "episodes": len(list(group))}
            for name, group in groupby(episodes, key=lambda e: e["show"])
        ]
        people = sorted(service.people(), key=lambda p: -p["words"])
        return page(request, "home.html", shows=shows, people=people, episodes=episodes)

    @app.get("/people/{person}", response_class=HTMLResponse, include_in_schema=False)
    def person_page(request: Request, person: str):
        if (denied := allowed(request)) is not None:
            return denied
        info = service.person(person)
        return page(request, "person.html", person=info, reply=None)

    @app.post("/people/{person}", response_class=HTMLResponse, include_in_schema=False)
    def person_ask(
        request: Request,
        person: str,
        question: Annotated[str, Form(max_length=1000)],
        history: Annotated[str, Form(max_length=20000)] = "",
    ):
        """The chat without JavaScript: the form posts here and the page comes back with the answer."""
        if (denied := allowed(request)) is not None:
            return denied
        info = service.person(person)
        earlier = [q for q in history.split("\n") if q.strip()][-service.limits.history_turns :]
        try:
            reply = service.ask_as(info["name"], question, earlier, channel="web", llm=app.state.llm)
        except PodtwinError as e:
            return page(request, "person.html", 400, person=info, reply=None, error=str(e))
        _, citations = reply_text(reply, service.episode_label)
        return page(
            request,
            "person.html",
            person=info,
            reply=reply,
            citations=citations,
            history="\n".join([*earlier, question]),
        )

    @app.post("/questions/{question_id}/flag", response_class=HTMLResponse, include_in_schema=False)
    def flag_answer(
        request: Request,
        question_id: QuestionId,  # bounded: an id past SQLite's integers would be a server error
        reason: Annotated[str, Form(max_length=500)] = "",
    ) -> HTMLResponse:
        """The "flag this answer" form without JavaScript (the chat's script posts to the API)."""
        if (denied := allowed(request)) is not None:
            return denied
        client = (request.client.host if request.client else None) or "?"
        if not app.state.flags.allow(client):
            return page(request, "flagged.html", 429, error="Too many flags from this address; try again in a minute.")
        service.flag(question_id, reason, client)
        return page(request, "flagged.html")

    @app.get("/episodes/{episode_id}", response_class=HTMLResponse, include_in_schema=False)
    def episode_page(request: Request, episode_id: int, cite: Annotated[str, Query(max_length=40)] = ""):
        if (denied := allowed(request)) is not None:
            return denied
        info = service.episode(episode_id, sentences=True)
        sentences = info.pop("sentences")
        blocks = []  # runs of one segment kind, each a list of turns (runs of one speaker)
        for kind, run in groupby(sentences, key=lambda s: s["kind"]):
            turns = [
                {"speaker": speaker, "sentences": list(group)}
                for (_, speaker), group in groupby(run, key=lambda s: (s["turn"], s["speaker"]))
            ]
            blocks.append({"kind": kind, "collapsed": kind in COLLAPSED, "turns": turns})
        marks = [  # the player-style position list: where each speaker's longer turns begin
            {
                "at": t["sentences"][0]["start_s"],
                "index": t["sentences"][0]["index"],
                "speaker": t["speaker"],
                "kind": b["kind"],
                "text": t["sentences"][0]["text"][:80],
            }
            for b in blocks
            for t in b["turns"]
            if len(t["sentences"]) >= 4 or b["kind"] != "conversation"
        ]
        cited = re.fullmatch(r"(\d+)-(\d+)", cite)  # the sentences a twin's citation quotes
        first, last = (int(cited[1]), int(cited[2])) if cited else (-1, -2)
        return page(request, "episode.html", episode=info, blocks=blocks, marks=marks[:300], cited=(first, last))

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(
        request: Request,
        q: Annotated[str, Query(max_length=1000)] = "",
        speaker: Annotated[str, Query(max_length=200)] = "",
        episode: Annotated[str, Query(max_length=200)] = "",
        kind: Annotated[list[str] | None, Query()] = None,
    ):
        if (denied := allowed(request)) is not None:
            return denied
        result, error = None, None
        if q.strip():
            try:
                result = service.search(q, speaker=speaker or None, episode=episode or None, kinds=kind, limit=20)
            except PodtwinError as e:
                error = str(e)
        return page(
            request,
            "search.html",
            q=q,
            speaker=speaker,
            episode=episode,
            kinds=kind or [],
            all_kinds=KINDS,
            result=result,
            error=error,
            people=sorted(p["name"] for p in service.people()),
            episodes=service.episodes(),
        )

    # -- the creator's area ---------------------------------------------------------------

    @app.get("/creator", response_class=HTMLResponse, include_in_schema=False)
    def creator(request: Request):
        if not signed_in(request):
            return page(request, "login.html", next="/creator")
        people = sorted(service.people(), key=lambda p: -p["words"])
        return page(
            request,
            "creator.html",
            people=people,
            episodes=service.episodes(),
            recent=service.recent_questions(limit=20),
        )

    @app.post("/creator/login", include_in_schema=False)
    def login(request: Request, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/creator"):
        session = service.start_session(key)
        if session is None:
            return page(request, "login.html", 401, next=next, error="That key is not valid.")
        target = next if re.fullmatch(r"/(?!/)[\w/\-]*", next) else "/creator"  # a path of this site, not //host
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",  # the scheme a trusted proxy forwarded, behind one
            max_age=SESSION_DAYS * 86400,
        )
        return response

    @app.post("/creator/logout", include_in_schema=False)
    def logout(request: Request):
        service.end_session(session_of(request))
        response = RedirectResponse("/", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/creator/people/{person}", response_class=HTMLResponse, include_in_schema=False)
    def creator_person(
        request: Request,
        person: str,
        saved: bool = False,
        webhook: Annotated[str | None, Query(pattern="^(saved|removed)$")] = None,
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        info = service.person(person, creator=True)
        return creator_person_page(request, info, saved=saved, webhook_notice=webhook)

    @app.get("/creator/questions/{question_id}", response_class=HTMLResponse, include_in_schema=False)
    def creator_question(request: Request, question_id: QuestionId):
        """Why a logged reply was given: the reply, the checks that ran, P(in record) with its
        features, the candidates with their scores, the quoted sentences' speaker confidence."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        logged = service.question_why(question_id)
        reply = {"parts": [], "citations": [], "disclosure": "", **logged["reply"]}
        if not reply["parts"]:  # a reply logged without its parts: its text stands alone
            reply["parts"] = [{"text": reply.get("answer", ""), "framing": True, "citation": None, "block": None}]
        _, citations = reply_text(reply, service.episode_label)
        return page(
            request,
            "creator_question.html",
            logged=logged,
            reply=reply,
            citations=citations,
            why=logged["why"],
            person_slug=slug(logged["person"]),
        )

    @app.get("/creator/people/{person}/insights", response_class=HTMLResponse, include_in_schema=False)
    def creator_insights(request: Request, person: str, days: Annotated[int, Query(ge=1, le=3660)] = 90):
        """What people ask this twin and what its record lacks: charts, tables, the gaps to export."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        info = service.person(person, creator=True)
        report = service.insights(info["name"], days=days)
        return page(
            request,
            "creator_insights.html",
            person=info,
            report=report,
            gaps=service.gaps(info["name"]),
            per_day_chart=bars_per_day(report["per_day"], f"Questions asked of {info['name']}'s twin per day"),
            share_chart=share_bar(report["counts"]),
        )

    @app.post("/creator/people/{person}", response_class=HTMLResponse, include_in_schema=False)
    def creator_person_save(
        request: Request,
        person: str,
        disclosure: Annotated[str, Form(max_length=1000)] = "",
        off_limits: Annotated[str, Form(max_length=5000)] = "",
        decline: Annotated[str, Form(max_length=1000)] = "",
        style: Annotated[str, Form(max_length=20)] = "verbatim",
        max_words: Annotated[int, Form(ge=10, le=1000)] = 120,
        episodes: Annotated[str, Form(max_length=500)] = "",
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        info = service.person(person, creator=True)
        try:
            service.set_persona(
                info["name"],
                {
                    "disclosure": disclosure.strip() or None,
                    "off_limits": [t.strip() for t in off_limits.splitlines() if t.strip()],
                    "decline": decline.strip() or None,
                    "style": style,
                    "max_words": max_words,
                    "episodes": episodes.strip() or None,
                },
            )
        except PodtwinError as e:
            return creator_person_page(request, info, 400, error=str(e))
        return RedirectResponse(f"/creator/people/{info['slug']}?saved=true", 303)

    @app.post("/creator/people/{person}/webhook", response_class=HTMLResponse, include_in_schema=False)
    def creator_set_webhook(
        request: Request,
        person: str,
        url: Annotated[str, Form(max_length=2000)] = "",
        watch_topics: Annotated[str, Form(max_length=12000)] = "",
        unsure_below: Annotated[str, Form(max_length=50)] = "",
        new_secret: Annotated[bool, Form()] = False,
    ):
        """Set or replace the twin's webhook: every setting as the form gives it (an empty
        confidence: no unsure events). A bad one is shown on the page, and nothing is stored."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=f"/creator/people/{person}")
        info = service.person(person, creator=True)
        typed = {"url": url, "watch_topics": watch_topics, "unsure_below": unsure_below}
        try:
            unsure = confidence_of(unsure_below)
            hook = service.set_webhook(info["name"], url, split_topics(watch_topics), unsure, new_secret)
        except PodtwinError as e:
            return creator_person_page(request, info, 400, webhook_error=f"Not saved: {e}", webhook_form=typed)
        if "secret" in hook:  # made now: shown this once, as the API does
            return creator_person_page(request, info, webhook_notice="saved", secret=hook["secret"])
        return RedirectResponse(f"/creator/people/{info['slug']}?webhook=saved#webhook", 303)

    @app.post("/creator/people/{person}/webhook/delete", response_class=HTMLResponse, include_in_schema=False)
    def creator_delete_webhook(request: Request, person: str):
        """Remove the twin's webhook: no more events; those not yet delivered are given up."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=f"/creator/people/{person}")
        info = service.person(person, creator=True)
        try:
            service.delete_webhook(info["name"])
        except PodtwinError as e:
            return creator_person_page(request, info, 404, webhook_error=f"Nothing to remove: {e}")
        return RedirectResponse(f"/creator/people/{info['slug']}?webhook=removed#webhook", 303)

    # -- correcting answers: marks, pins and blocks, the audit and undo ------------------------

    def who(request: Request) -> str:
        return service.who(None, session_of(request))

    def back(target: str, fallback: str) -> str:
        """A path of this site to return to after a form (never another host)."""
        return target if re.fullmatch(r"/(?!/)[\w/\-?=&.%]*", target) else fallback

    @app.get("/creator/questions/{question_id}/correct", response_class=HTMLResponse, include_in_schema=False)
    def creator_correct(
        request: Request,
        question_id: Annotated[int, PathParam(ge=1, le=2**53)],
        q: Annotated[str, Query(max_length=1000)] = "",
        done: Annotated[str, Query(max_length=40)] = "",
    ):
        """Correct one logged reply: mark it, block what it quoted, or pin an excerpt of the
        person's own words found by searching them."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        return correct_page(request, question_id, q, done=done)

    def correct_page(request: Request, question_id: int, q: str, status: int = 200, **context) -> HTMLResponse:
        logged = service.question(question_id)
        info = service.person(logged["person"], creator=True)
        query = q.strip() or logged["reply"].get("resolved_question") or logged["question"]
        try:
            hits = service.search(query, speaker=info["name"], kinds=["conversation"], limit=8)["hits"]
        except PodtwinError as e:
            hits, context["error"] = [], context.get("error") or str(e)
        _, citations = reply_text(logged["reply"], service.episode_label)
        mine = [c for c in service.corrections(info["name"]) if c["question_id"] == question_id]
        return page(
            request, "creator_correct.html", status, logged=logged, reply=logged["reply"], citations=citations,
            person=info, query=query, hits=hits, corrections=mine, **context,
        )  # fmt: skip

    @app.post("/creator/questions/{question_id}/mark", include_in_schema=False)
    def creator_mark(
        request: Request,
        question_id: Annotated[int, PathParam(ge=1, le=2**53)],
        mark: Annotated[Literal["good", "wrong", "clear"], Form()],
        next: Annotated[str, Form(max_length=500)] = "",
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        service.mark(question_id, None if mark == "clear" else mark, who(request))
        return RedirectResponse(back(next, f"/creator/questions/{question_id}/correct"), 303)

    @app.post("/creator/questions/{question_id}/correct", response_class=HTMLResponse, include_in_schema=False)
    def creator_pin_or_block(
        request: Request,
        question_id: Annotated[int, PathParam(ge=1, le=2**53)],
        kind: Annotated[Literal["pin", "block"], Form()],
        episode_id: Annotated[int, Form(ge=0, le=2**53)],
        first_sentence: Annotated[int, Form(ge=0, le=100_000_000)],
        last_sentence: Annotated[int, Form(ge=0, le=100_000_000)],
        q: Annotated[str, Form(max_length=1000)] = "",
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        logged = service.question(question_id)
        try:
            service.correct(
                logged["person"], kind, episode=episode_id, first_sentence=first_sentence,
                last_sentence=last_sentence, who=who(request), question_id=question_id,
            )  # fmt: skip
        except PodtwinError as e:
            return correct_page(request, question_id, q, 400, error=str(e))
        return RedirectResponse(
            f"/creator/questions/{question_id}/correct?done={'pinned' if kind == 'pin' else 'blocked'}", 303
        )

    @app.post("/creator/corrections/{correction_id}/remove", include_in_schema=False)
    def creator_remove_correction(
        request: Request,
        correction_id: Annotated[int, PathParam(ge=1, le=2**53)],
        next: Annotated[str, Form(max_length=500)] = "",
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        removed = service.remove_correction(correction_id, who(request))
        return RedirectResponse(back(next, f"/creator/people/{slug(removed['person'])}"), 303)

    @app.post("/creator/changes/{change_id}/undo", response_class=HTMLResponse, include_in_schema=False)
    def creator_undo(
        request: Request,
        change_id: Annotated[int, PathParam(ge=1, le=2**53)],
        next: Annotated[str, Form(max_length=500)] = "",
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        done = service.undo(change_id, who(request))
        return RedirectResponse(back(next, f"/creator/people/{slug(done['person'])}"), 303)

    @app.post("/creator/upload", response_class=HTMLResponse, include_in_schema=False)
    async def creator_upload(request: Request, file: Annotated[UploadFile, File()]):
        if not signed_in(request):
            return page(request, "login.html", 401, next="/creator")
        data = await file.read(service.limits.upload_bytes + 1)
        try:
            report = await anyio.to_thread.run_sync(service.upload, file.filename or "upload", data)
        except PodtwinError as e:
            return page(request, "upload.html", 400, report=None, error=str(e))
        return page(request, "upload.html", report=report, error=None)

    # -- the speakers review: who said each turn, least confident first ---------------------

    def speakers_page(
        request: Request,
        episode_id: int,
        status: int = 200,
        *,
        limit: int = REVIEW_PAGE,
        changed: int | None = None,
        error: str | None = None,
        failed: dict | None = None,
    ) -> HTMLResponse:
        info = service.episode(episode_id)  # a page saying so when there is no such episode
        turns = service.speakers_review(info["id"])
        choices = {info["host"]: "host"} if info["host"] else {}  # the host, then each guest once
        for guest in info["guests"]:
            choices.setdefault(guest, "guest")
        return page(
            request,
            "creator_speakers.html",
            status,
            episode=info,
            turns=turns[:limit],
            total=len(turns),
            limit=limit,
            choices=list(choices.items()),
            names=set(choices),
            changed=service.turn_at(info["id"], changed) if changed is not None else None,
            error=error,
            failed=failed,
        )

    @app.get("/creator/episodes/{episode_id}/speakers", response_class=HTMLResponse, include_in_schema=False)
    def creator_speakers(
        request: Request,
        episode_id: int,
        limit: Annotated[int, Query(ge=1, le=10_000)] = REVIEW_PAGE,
        changed: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    ):
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        return speakers_page(request, episode_id, limit=limit, changed=changed)

    @app.post("/creator/episodes/{episode_id}/speakers", response_class=HTMLResponse, include_in_schema=False)
    def creator_set_speaker(
        request: Request,
        episode_id: int,
        turn: Annotated[int, Form(ge=0, le=1_000_000)],
        first_sentence: Annotated[int | None, Form(ge=0, le=100_000_000)] = None,
        person: Annotated[str, Form(max_length=200)] = "",
        other: Annotated[str, Form(max_length=200)] = "",
        limit: Annotated[int, Form(ge=1, le=10_000)] = REVIEW_PAGE,
    ):
        """The review's one action: who spoke this turn (a name from the list, or typed)."""
        if not signed_in(request):
            return page(request, "login.html", 401, next=request.url.path)
        info = service.episode(episode_id)
        who = other.strip() or person.strip()  # a typed name is the more deliberate choice
        try:
            if not who:
                raise PodtwinError("choose who said it from the list, or type the name of another person")
            result = service.set_speaker(info["id"], turn, who, first_sentence=first_sentence)
        except PodtwinError as e:
            failed = {"turn": turn, "other": other}
            return speakers_page(request, info["id"], 400, limit=limit, error=f"Turn {turn}: {e}", failed=failed)
        where = f"&changed={result['now']['first_sentence']}#changed" if result["now"] else ""
        return RedirectResponse(f"/creator/episodes/{info['id']}/speakers?limit={limit}{where}", 303)

"""OpenAI-compatible chat: any chat client talks to a twin, the person's slug as the model.

`GET /v1/models` lists the twins; `POST /v1/chat/completions` answers as one (the earlier
user messages are the conversation so far; system messages cannot change the persona's
bounds). The answer text carries numbered references ("[1]") and the disclosure, each
block of the answer its own paragraph; the citations ride along in the extra field
`citations` (each with `n`, the reference number, and `url`, the sentence in the web app),
the answer's blocks in `blocks` (each with its role, shown text, exact quote and citation),
and the whole reply in `podtwin`. With `stream: true` the text arrives as server-sent
`chat.completion.chunk` events, the citations and blocks in the last one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, model_validator

from podtwin.api.service import Limits, Service, slug
from podtwin.api.statuses import status_of
from podtwin.errors import NotFound, PodtwinError
from podtwin.search.query import clock

__all__ = ["add_openai_routes", "reply_text"]


# A user message is a question (now or earlier in the conversation): it has a question's cap.
# The others are never read, embedded or stored, but a chat client sends the twin's own
# earlier replies back as assistant messages, and those (with their references) run to a few
# thousand characters: a question's cap there would refuse every second turn.
USER_MESSAGE_CHARS = Limits().question_chars
OTHER_MESSAGE_CHARS = 20_000


class ContentPart(BaseModel):
    type: str = Field(max_length=50)
    text: str | None = None


class Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = Field(default=None)

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""

    @model_validator(mode="after")
    def capped(self) -> Message:
        cap = USER_MESSAGE_CHARS if self.role == "user" else OTHER_MESSAGE_CHARS
        if len(self.text()) > cap:
            raise ValueError(f"a {self.role} message is {len(self.text()):,} characters; the limit is {cap:,}")
        return self


class ChatRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200, description="The twin: a person's slug (GET /v1/models)")
    messages: list[Message] = Field(min_length=1, max_length=40)
    stream: bool = False
    # accepted for compatibility with chat clients; a twin's words are the record's, so
    # sampling settings change nothing
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None

    model_config = {"extra": "allow"}


def citation_url(c: dict) -> str:
    """The cited sentences on their episode's page: marked (?cite=first-last), scrolled to."""
    if c.get("sentence") is None:
        return f"/episodes/{c['episode_id']}"
    last = c.get("last_sentence", c["sentence"])
    return f"/episodes/{c['episode_id']}?cite={c['sentence']}-{last}#s-{c['sentence']}"


def position(c: dict) -> str:
    """A citation's place: its time, or (for a transcript without times) its sentence number."""
    if c.get("start_s") is not None:
        return clock(c["start_s"])
    if c.get("sentence") is not None:
        return f"sentence {c['sentence'] + 1:,}"
    return f"char {c['start_char']:,}"


def reply_text(reply: dict, label: Callable[[int], str] | None = None) -> tuple[list[str], list[dict]]:
    """The reply as pieces of text with numbered references, and its citations numbered
    (label: episode id -> its name, for the references). Each block of the answer is its own
    paragraph (blank lines between), the line introducing it on the line above."""
    from podtwin.twin.answer import paragraphs

    pieces: list[str] = []
    parts = reply["parts"] or [{"text": reply["answer"], "framing": True, "citation": None}]
    for n, paragraph in enumerate(paragraphs(parts)):
        for i, part in enumerate(paragraph):
            text = part["text"]
            if part["citation"] is not None:
                text += f" [{part['citation'] + 1}]"
            lead = "\n\n" if n and not i else ""
            tail = "\n" if part["framing"] and i + 1 < len(paragraph) else " " if i + 1 < len(paragraph) else ""
            pieces.append(lead + text + tail)
    citations = [
        {
            **c,
            "n": i + 1,
            "url": citation_url(c),
            "episode": label(c["episode_id"]) if label else (c["title"] or f"episode {c['episode_id']}"),
            "position": position(c),
        }
        for i, c in enumerate(reply["citations"])
    ]
    if citations:
        refs = ["\n\nReferences:"]
        for c in citations:
            quote = " ".join(c["quote"].split())
            refs.append(f"\n[{c['n']}] {c['speaker']}, {c['episode']}, {c['position']}: \u201c{quote}\u201d")
        pieces.append("".join(refs))
    pieces.append(f"\n\n({reply['disclosure']})")
    return pieces, citations


def reply_blocks(reply: dict, citations: list[dict]) -> list[dict]:
    """The answer's blocks, each with its numbered citation (with `url` and `position`)."""
    return [{**b, "citation": citations[b["n"] - 1]} for b in reply.get("blocks") or []]


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}}, status)


def add_openai_routes(app: FastAPI, service: Service, read: list, llm: str | None) -> None:
    @app.get("/v1/models", dependencies=read, tags=["openai"])
    def models() -> dict:
        """The twins, one model per person (id: the person's slug)."""
        created = int(service.path.stat().st_mtime)
        return {
            "object": "list",
            "data": [
                {"id": p["slug"], "object": "model", "created": created, "owned_by": "podtwin", "name": p["name"]}
                for p in service.people()
            ],
        }

    @app.post("/v1/chat/completions", dependencies=read, tags=["openai"], response_model=None)
    def chat_completions(body: ChatRequest, request: Request) -> Any:
        """Chat with a twin (OpenAI chat completions; `stream: true` for server-sent events)."""
        asked = [m.text().strip() for m in body.messages if m.role == "user"]
        asked = [q for q in asked if q]
        if not asked or body.messages[-1].role != "user":
            return _error(400, "the last message must be the user's question", "no_question")
        try:
            person = service.person_name(body.model)
        except NotFound as e:
            return _error(404, f"no twin {body.model!r} ({e}); GET /v1/models lists them", "model_not_found")
        question, history = asked[-1], asked[:-1]
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = slug(person)

        def answer() -> dict:
            return service.ask_as(person, question, history, channel="openai", llm=llm)

        if not body.stream:
            try:
                reply = answer()
            except PodtwinError as e:
                return _error(status_of(e), str(e), "bad_question")
            pieces, citations = reply_text(reply, service.episode_label)
            content = "".join(pieces)
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": sum(len(m.text().split()) for m in body.messages),
                    "completion_tokens": len(content.split()),
                    "total_tokens": sum(len(m.text().split()) for m in body.messages) + len(content.split()),
                },
                "citations": citations,
                "blocks": reply_blocks(reply, citations),
                "podtwin": reply,
            }

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events():
            yield chunk({"role": "assistant", "content": ""})
            try:
                reply = answer()
            except PodtwinError as e:
                yield f"data: {json.dumps({'error': {'message': str(e), 'type': 'invalid_request_error'}})}\n\n"
                return
            pieces, citations = reply_text(reply, service.episode_label)
            for piece in pieces:
                yield chunk({"content": piece})
            yield chunk({}, "stop", citations=citations, blocks=reply_blocks(reply, citations), podtwin=reply)
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

"""`podtwin mcp`: the official MCP client talking to a real server subprocess over stdio."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult

ZUCK = "Mark Zuckerberg"


class Server:
    """A connected client session, called from synchronous tests through a portal."""

    def __init__(self, portal: BlockingPortal, session: ClientSession, db: Path, errlog: Path, errors: list) -> None:
        self.portal, self.session, self.db, self.errlog = portal, session, db, errlog
        self.transport_errors: list[Exception] = errors  # what the client could not parse

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> Any:
        """A successful call's structured result (checked against the text content the model reads)."""
        result = self.call(tool, **arguments)
        assert not result.is_error, (result.content, self.errlog.read_text()[-2000:])
        data = result.structured_content
        if tool == "list_people":
            data = data["result"]
            assert [json.loads(c.text) for c in result.content] == data
        else:
            assert json.loads(result.content[0].text) == data
        return data


@asynccontextmanager
async def connect(db: Path, errlog, transport_errors: list) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "podtwin.cli", "--db", str(db), "mcp"],
        # the model exported for this test run, not a fresh export in the server
        env={"PODTWIN_CACHE": os.environ["PODTWIN_CACHE"]},
    )

    async def on_message(message) -> None:
        if isinstance(message, Exception):  # a line on stdout that is not the protocol
            transport_errors.append(message)

    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=120, message_handler=on_message) as session:
            await session.initialize()
            yield session


@pytest.fixture(scope="module")
def server(lex_copy) -> Iterator[Server]:
    """One server for the module, on a copy of the lex library (ask_twin logs its questions)."""
    db, _ = lex_copy("mcp")
    errlog = db.parent / "stderr.log"
    with errlog.open("w") as err, start_blocking_portal() as portal:
        transport_errors: list[Exception] = []
        with portal.wrap_async_context_manager(connect(db, err, transport_errors)) as session:
            yield Server(portal, session, db, errlog, transport_errors)


def test_four_tools_with_input_schemas(server):
    tools = {t.name: t for t in server.portal.call(server.session.list_tools).tools}
    assert set(tools) == {"search", "ask_twin", "list_people", "get_episode"}
    for tool in tools.values():
        assert tool.description and tool.input_schema["type"] == "object", tool.name
    assert set(tools["ask_twin"].input_schema["required"]) == {"person", "question"}
    assert set(tools["ask_twin"].input_schema["properties"]) == {"person", "question", "history"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert set(tools["search"].input_schema["properties"]) == {"query", "speaker", "episode", "limit"}
    assert tools["get_episode"].input_schema["properties"]["transcript"]["type"] == "boolean"
    assert "disclosure" in tools["ask_twin"].description and "citation" in tools["ask_twin"].description
    assert "blocks" in tools["ask_twin"].description


def test_list_people_has_the_guests_with_slugs(server):
    people = {p["name"]: p for p in server.ok("list_people")}
    assert {"Lex Fridman", ZUCK, "Elon Musk"} <= set(people)
    assert people[ZUCK]["slug"] == "mark-zuckerberg"
    assert people[ZUCK]["episodes"] == 1 and people[ZUCK]["words"] > 1000
    assert set(people[ZUCK]) == {"name", "slug", "episodes", "words"}


def test_ask_twin_answers_in_the_persons_cited_words(server):
    reply = server.ok("ask_twin", person="mark-zuckerberg", question="what are codec avatars and how do they feel?")
    assert reply["persona"] == ZUCK and not reply["abstained"]
    assert reply["citations"] and {c["speaker"] for c in reply["citations"]} == {ZUCK}
    assert all(c["quote"] for c in reply["citations"])
    # the answer's blocks, each its own excerpt with its exact quote and citation
    blocks = reply["blocks"]
    assert 1 <= len(blocks) <= 3 and blocks[0]["role"] == "answer"
    assert [b["citation"] for b in blocks] == reply["citations"] and all(b["quote"] and b["text"] for b in blocks)
    assert "AI" in reply["disclosure"] and ZUCK in reply["disclosure"]
    with sqlite3.connect(server.db) as db:
        logged = db.execute("SELECT person, channel FROM questions ORDER BY id DESC LIMIT 1").fetchone()
    assert logged == (ZUCK, "mcp")


def test_ask_twin_follow_up_uses_the_history(server):
    reply = server.ok("ask_twin", person=ZUCK, question="why?", history=["what are codec avatars?"])
    assert "codec avatars" in reply["resolved_question"]


def test_errors_are_tool_errors_and_the_server_carries_on(server):
    for tool, arguments, message in (
        ("ask_twin", {"person": "nobody-atall-zzyzx", "question": "hello?"}, "no person"),
        ("ask_twin", {"person": "mark-zuckerberg", "question": "   "}, "empty"),
        ("search", {"query": "avatars", "speaker": "Nobody Atall Zzyzx"}, "no person"),
        ("get_episode", {"episode": "no such episode title zzyzx"}, "no such episode title zzyzx"),
    ):
        result = server.call(tool, **arguments)
        assert result.is_error, (tool, arguments)
        assert message in result.content[0].text.lower(), result.content[0].text
    assert server.call("search", query="avatars", limit=0).is_error  # the input schema's bound
    assert server.ok("list_people")  # still serving


def test_search_returns_hits(server):
    result = server.ok("search", query="virtual reality avatars", speaker="mark-zuckerberg", limit=5)
    assert 0 < len(result["hits"]) <= 5
    assert {h["speaker"] for h in result["hits"]} == {ZUCK}
    anyone = server.ok("search", query="open sourcing AI")["hits"]
    assert anyone and all(h["text"] for h in anyone)


def test_get_episode_metadata_and_transcript(server):
    info = server.ok("get_episode", episode="#398")
    assert ZUCK in info["title"] and ZUCK in info["guests"] and info["host"] == "Lex Fridman"
    assert info["sources"] and "sentences" not in info
    full = server.ok("get_episode", episode=str(info["id"]), transcript=True)
    assert full["title"] == info["title"]
    assert ZUCK in {s["speaker"] for s in full["sentences"]}


def test_nothing_but_the_protocol_on_stdout(server):
    server.ok("search", query="metaverse")
    assert server.transport_errors == []

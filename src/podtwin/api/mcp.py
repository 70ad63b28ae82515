"""The MCP server (`podtwin mcp`): search and the twins as tools for AI assistants, over stdio.

Every tool goes through `Service`, so replies have the same JSON shapes as the CLI's `--json`.
stdout is the protocol's transport: nothing else may be written there, and logs go to stderr.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from podtwin.api.service import Limits, Service
from podtwin.errors import PodtwinError

__all__ = ["build_server", "run_stdio"]

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
podtwin holds transcripts of podcast episodes. Use list_people to see who speaks in them, \
search to find what was said (with exact, cited passages), get_episode for an episode's details \
or transcript, and ask_twin to put a question to a person's AI twin. A twin answers only with \
that person's own recorded words, each cited to its episode and position; it says so when the \
record is silent. Its replies are AI-generated: pass on the disclosure that comes with each one."""

# The tools' parameters, described for the assistant (module level: the SDK evaluates the
# annotations in this module's namespace).
Query = Annotated[str, Field(description="What to look for, in your own words.")]
Speaker = Annotated[str | None, Field(description="Only passages this person spoke (a slug, id or name).")]
EpisodeFilter = Annotated[
    str | None, Field(description="Only this episode: an id, '#number', or part of a title or guest name.")
]
Limit = Annotated[int, Field(description=f"How many passages to return (at most {Limits().search_results}).", ge=1)]
Person = Annotated[str, Field(description="Whose twin: a slug from list_people ('mark-zuckerberg'), an id or a name.")]
Question = Annotated[str, Field(description="The question, as you would ask the person.")]
History = Annotated[
    list[str] | None,
    Field(description="Earlier questions of this conversation, oldest first (for follow-ups such as 'why?')."),
]
Episode = Annotated[
    str, Field(description="An episode id, '#number', or a unique part of its title or a guest's name.")
]
Transcript = Annotated[bool, Field(description="Include every sentence with its speaker and timing (large).")]

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
T = TypeVar("T")


def _reported(call: Callable[[], T]) -> T:
    """A podtwin error becomes a tool error with its message (the SDK hides other exceptions' text)."""
    try:
        return call()
    except PodtwinError as e:
        raise ToolError(str(e)) from e


def build_server(service: Service) -> MCPServer:
    """An MCP server with the tools search, ask_twin, list_people and get_episode over SERVICE."""

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        # Load the model and index while the client finishes its handshake (an early tool
        # call waits on the search index's own cache lock rather than load it twice).
        def warm() -> None:
            try:
                service.warm()
            except PodtwinError as e:  # the tools that need the model will report it
                log.warning("podtwin: %s", e)

        threading.Thread(target=warm, name="podtwin-warm", daemon=True).start()
        yield

    debug = os.environ.get("PODTWIN_DEBUG", "") not in ("", "0")
    server = MCPServer(
        "podtwin",
        title="podtwin",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="DEBUG" if debug else "WARNING",
    )

    @server.tool(annotations=READ_ONLY)
    def search(
        query: Query,
        speaker: Speaker = None,
        episode: EpisodeFilter = None,
        limit: Limit = 10,
    ) -> dict[str, Any]:
        """Search the podcast transcripts for passages about a topic (keyword and meaning search).

        Each hit is what one person said, verbatim, with its speaker, episode, title, position
        in the source transcript (characters and seconds) and score."""

        def call() -> dict[str, Any]:
            who = service.person_name(speaker) if speaker else None
            return service.search(query, speaker=who, episode=episode, limit=limit)

        return _reported(call)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False))
    def ask_twin(person: Person, question: Question, history: History = None) -> dict[str, Any]:
        """Ask a podcast guest's (or host's) AI twin a question.

        The answer is made of the person's own recorded words from the transcripts, never
        invented: `blocks` holds the answer as separate excerpts (role "answer", then up to two
        "also" from other moments), each with its readable `text`, its exact `quote` and its
        `citation` (episode, title, speaker, exact position); show each block as its own
        paragraph with its citation. `answer` is the same as text, blocks separated by blank lines.
        When the record does not cover the question the twin abstains (`abstained` is true) and
        says so. Every reply is from an AI, not the person: show its `disclosure` with it."""
        return _reported(lambda: service.ask(person, question, history, channel="mcp"))

    @server.tool(annotations=READ_ONLY)
    def list_people() -> list[dict[str, Any]]:
        """Everyone who speaks in the library (hosts and guests), with the slug to pass to
        ask_twin and search, how many episodes they appear in and how many words they speak."""
        return _reported(
            lambda: [
                {"name": p["name"], "slug": p["slug"], "episodes": p["episodes"], "words": p["words"]}
                for p in service.people()
            ]
        )

    @server.tool(annotations=READ_ONLY)
    def get_episode(episode: Episode, transcript: Transcript = False) -> dict[str, Any]:
        """One episode's details: show, number, title, host, guests, date, words, source files and
        segments; with transcript=true, also its full transcript as sentences with speakers."""
        return _reported(lambda: service.episode(episode, sentences=transcript))

    return server


def run_stdio(db_path: Path) -> None:
    """Serve the library at DB_PATH over stdin/stdout until the client disconnects."""
    service = Service(db_path)  # a missing or unreadable library fails here, before serving
    try:
        build_server(service).run("stdio")
    finally:
        service.close()

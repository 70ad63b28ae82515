"""A creator's bounds for one person's twin: disclosure, off-limits topics, style, reach.

Stored in the library (table `personas`, by the person's canonical name) so every
interface (CLI, web, API, MCP) applies the same bounds.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from podtwin.errors import PersonaError
from podtwin.store.people import person_id
from podtwin.store.personas import persona_row, write_persona

if TYPE_CHECKING:
    from podtwin.store.library import Library

__all__ = ["STYLES", "Persona", "PersonaError", "load_persona", "persona_of", "save_persona"]

STYLES = ("verbatim", "conversational")
DEFAULT_MAX_WORDS = 120
MAX_TOPIC_CHARS = 200
DEFAULT_DISCLOSURE = (
    "I'm an AI twin of {person}, built only from {person}'s recorded podcast appearances. "
    "I'm not {person}, and I only repeat what was said on the record."
)
DEFAULT_DECLINE = "That's a topic this twin doesn't discuss."
# What a creator's text may not say: that the twin is not an AI, or is the person themself.
_DENIAL = re.compile(
    r"(?i)\b(?:not|no longer|never|isn't|ain't)\s+(?:an?\s+|a\s+real\s+)?(?:ai|a\.i\.|bot|chat\s*bot|robot|machine|"
    r"twin|model|artificial|computer|program)\b|\b(?:i am|i'm|this is|it's|you are talking to|you're talking to)\s+"
    r"(?:really|actually|truly|the\s+real|the\s+actual|a\s+real|a\s+human|human)\b|\breal\s+(?:person|human)\b"
)


@dataclass
class Persona:
    person: str
    disclosure: str | None = None  # None: DEFAULT_DISCLOSURE
    off_limits: list[str] = field(default_factory=list)
    decline: str | None = None  # None: DEFAULT_DECLINE
    style: str = "verbatim"
    max_words: int = DEFAULT_MAX_WORDS
    episodes: str | None = None  # comma-separated episode selectors; None: every episode

    def disclosure_text(self) -> str:
        """The project's line that this is an AI and not the person, always; the creator's
        disclosure is added to it, never put in its place."""
        own = DEFAULT_DISCLOSURE.replace("{person}", self.person)
        return f"{own} {self.disclosure.replace('{person}', self.person)}" if self.disclosure else own

    def decline_text(self) -> str:
        return (self.decline or DEFAULT_DECLINE).replace("{person}", self.person)

    def as_json(self) -> dict:
        d = asdict(self)
        d["disclosure_text"] = self.disclosure_text()
        d["decline_text"] = self.decline_text()
        return d


def load_persona(db: sqlite3.Connection, name: str) -> Persona:
    """The persona of a person named (any alias or spelling); defaults if none was set."""
    return persona_of(db, person_id(db, name)[1])


def persona_of(db: sqlite3.Connection, person: str) -> Persona:
    """The persona of a person by canonical name, resolved already (a request resolves its
    person once); defaults if none was set."""
    row = persona_row(db, person)
    if row is None:
        return Persona(person)
    disclosure, off_limits, decline, style, max_words, episodes = row
    return Persona(person, disclosure, off_limits, decline, style, max_words, episodes)


def save_persona(library: Library, persona: Persona) -> None:
    """Validate and store (replacing the person's previous persona)."""
    validate(library, persona)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with library.atomic() as db:
        write_persona(
            db,
            persona.person,
            disclosure=persona.disclosure,
            off_limits=persona.off_limits,
            decline=persona.decline,
            style=persona.style,
            max_words=persona.max_words,
            episodes=persona.episodes,
            updated_at=now,
        )


def validate(library: Library, persona: Persona) -> None:
    if persona.style not in STYLES:
        raise PersonaError(f"unknown style {persona.style!r}; choose {' or '.join(STYLES)}")
    if not 10 <= persona.max_words <= 1000:
        raise PersonaError("--max-words must be between 10 and 1000")
    for topic in persona.off_limits:
        if not topic.strip():
            raise PersonaError("an off-limits topic is empty")
        if len(topic) > MAX_TOPIC_CHARS:
            raise PersonaError(f"an off-limits topic is {len(topic)} characters; the limit is {MAX_TOPIC_CHARS}")
    for text, what in ((persona.disclosure, "--disclosure"), (persona.decline, "--decline")):
        if text is not None and not text.strip():
            raise PersonaError(f"{what} is empty; leave it out to keep the default")
        if text is not None and (denial := _DENIAL.search(text)):
            raise PersonaError(
                f"{what} says {denial[0]!r}: a twin never claims to be the person or not to be an AI "
                "(every reply says it is an AI twin)"
            )
    episode_ids(library, persona)  # raises on a selector that matches nothing


def episode_ids(library: Library, persona: Persona) -> tuple[int, ...] | None:
    """The episodes the twin may draw on (None: all)."""
    from podtwin.store.library import resolve_episode

    if not persona.episodes:
        return None
    return tuple(dict.fromkeys(resolve_episode(library, s) for s in persona.episodes.split(",") if s.strip()))

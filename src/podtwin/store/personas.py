"""The creator's persona of each person's twin, as stored: one row per person (by canonical
name) in the `personas` table. Validation and defaults are podtwin.twin.persona's; this
module only reads and writes the row, in the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3

__all__ = ["PersonaRow", "persona_row", "write_persona"]

# disclosure, off-limits topics, decline, style, max words, episode selectors
PersonaRow = tuple[str | None, list[str], str | None, str, int, str | None]


def persona_row(db: sqlite3.Connection, person: str) -> PersonaRow | None:
    """The stored persona of a person (canonical name), or None if the creator set none."""
    row = db.execute(
        "SELECT disclosure, off_limits, decline, style, max_words, episodes FROM personas WHERE person = ?", [person]
    ).fetchone()
    if row is None:
        return None
    return (row[0], json.loads(row[1]), row[2], row[3], row[4], row[5])


def write_persona(
    db: sqlite3.Connection,
    person: str,
    *,
    disclosure: str | None,
    off_limits: list[str],
    decline: str | None,
    style: str,
    max_words: int,
    episodes: str | None,
    updated_at: str,
) -> None:
    """Store a person's persona, replacing any previous one."""
    db.execute(
        """INSERT OR REPLACE INTO personas
           (person, disclosure, off_limits, decline, style, max_words, episodes, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [person, disclosure, json.dumps(off_limits), decline, style, max_words, episodes, updated_at],
    )

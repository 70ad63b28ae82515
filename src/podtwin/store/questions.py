"""The questions asked of the twins, with their replies: the creator's log of what people ask."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

__all__ = ["log_question", "recent_questions"]


def log_question(db: sqlite3.Connection, person: str, question: str, reply: dict, channel: str) -> int:
    """Log one question with its reply; its id (what a listener's flag names)."""
    cursor = db.execute(
        "INSERT INTO questions (person, question, reply, channel, asked_at) VALUES (?, ?, ?, ?, ?)",
        [person, question, json.dumps(reply), channel, datetime.now(UTC).isoformat(timespec="seconds")],
    )
    return int(cursor.lastrowid)


def recent_questions(db: sqlite3.Connection, person: str | None, limit: int) -> list[dict]:
    """The latest questions, newest first, of one person's twin (None: of every twin)."""
    rows = db.execute(
        """SELECT id, person, question, reply, channel, asked_at FROM questions
           WHERE ? IS NULL OR person = ? ORDER BY id DESC LIMIT ?""",
        [person, person, limit],
    ).fetchall()
    return [
        {"id": r[0], "person": r[1], "question": r[2], "reply": json.loads(r[3]), "channel": r[4], "asked_at": r[5]}
        for r in rows
    ]

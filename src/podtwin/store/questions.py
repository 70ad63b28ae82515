"""The questions asked of the twins, with their replies: the creator's log of what people ask.

Each row keeps the reply as JSON, and beside it what the creator's insights read by: the
outcome (answered, abstained or declined by policy), the reply's confidence and the question
normalised (lower case, words only), so repeats of one question are counted together; and the
reply's trace (why it was given, twin.answer.Why as JSON), which only logged_question reads:
listings leave it out, it is the largest column and only the creator's "why" page needs it.
Every reading function takes person None to mean every twin."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = [
    "OUTCOMES",
    "abstained_questions",
    "last_question_id",
    "log_question",
    "logged_question",
    "log_questions",
    "lowest_confidence",
    "most_asked",
    "normalised_question",
    "outcome_of",
    "outcome_counts",
    "questions_per_day",
    "recent_questions",
]

OUTCOMES = ("answered", "abstained", "declined")
_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def normalised_question(question: str) -> str:
    """The question as repeats of it are counted: lower case, its words only, one space apart."""
    return " ".join(_WORDS.findall((question or "").lower().replace("’", "'")))


def outcome_of(reply: dict) -> str:
    """answered, abstained or declined (by the persona's policy): what the reply did."""
    if reply.get("declined_by_policy"):
        return "declined"
    return "abstained" if reply.get("abstained") else "answered"


def _row(
    person: str, question: str, reply: dict, channel: str, asked_at: str | None, trace: dict | None = None
) -> list:
    confidence = reply.get("confidence")
    return [
        person,
        question,
        json.dumps(reply),
        channel,
        asked_at or datetime.now(UTC).isoformat(timespec="seconds"),
        outcome_of(reply),
        float(confidence) if isinstance(confidence, int | float) else None,
        normalised_question(question),
        None if trace is None else json.dumps(trace, ensure_ascii=False),
    ]


_INSERT = """INSERT INTO questions (person, question, reply, channel, asked_at, outcome, confidence, normalised, trace)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def log_question(
    db: sqlite3.Connection,
    person: str,
    question: str,
    reply: dict,
    channel: str,
    asked_at: str | None = None,
    trace: dict | None = None,
) -> int:
    """Log one question and its reply (asked_at: ISO time in UTC, default now; trace: why the
    reply was given, for the creator); its id (what a listener's flag names)."""
    return int(db.execute(_INSERT, _row(person, question, reply, channel, asked_at, trace)).lastrowid)


def log_questions(db: sqlite3.Connection, entries: Iterable[tuple[str, str, dict, str, str | None]]) -> int:
    """Log many at once: (person, question, reply, channel, asked_at) each; how many were logged."""
    rows = [_row(*entry) for entry in entries]
    db.executemany(_INSERT, rows)
    return len(rows)


def logged_question(db: sqlite3.Connection, question_id: int) -> dict | None:
    """One logged question with its reply and its trace (`why`: None when it was logged before
    traces were kept), or None when there is no such question."""
    row = db.execute(
        """SELECT id, person, question, reply, channel, asked_at, outcome, confidence, trace
           FROM questions WHERE id = ?""",
        [question_id],
    ).fetchone()
    if row is None:
        return None
    keys = ("id", "person", "question", "reply", "channel", "asked_at", "outcome", "confidence", "why")
    found = dict(zip(keys, row))
    found["reply"] = json.loads(found["reply"])
    found["why"] = None if found["why"] is None else json.loads(found["why"])
    return found


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


def _whose(person: str | None) -> tuple[str, list]:
    """The WHERE clause for one person's questions (an index's first column) or everyone's."""
    return ("person = ?", [person]) if person is not None else ("1", [])


def questions_per_day(db: sqlite3.Connection, person: str | None) -> list[dict]:
    """How many questions were asked on each day (UTC) that had any, oldest first: {day, count}."""
    where, args = _whose(person)
    rows = db.execute(
        f"SELECT day, count(*) FROM questions WHERE {where} GROUP BY day ORDER BY day",
        args,
    ).fetchall()
    return [{"day": day, "count": count} for day, count in rows]


def outcome_counts(db: sqlite3.Connection, person: str | None) -> dict[str, int]:
    """How many questions were answered, abstained on and declined by policy."""
    where, args = _whose(person)
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome, count in db.execute(
        f"SELECT outcome, count(*) FROM questions WHERE {where} GROUP BY outcome", args
    ).fetchall():
        counts[outcome if outcome in counts else "answered"] += count
    return counts


def lowest_confidence(db: sqlite3.Connection, person: str | None, limit: int) -> list[dict]:
    """The answered questions whose replies were least sure the record answers them, least sure
    first: {id, person, question, confidence, answer, asked_at}. (Abstentions are the gaps.)"""
    where, args = _whose(person)
    rows = db.execute(
        f"""SELECT id, person, question, confidence, json_extract(reply, '$.answer'), asked_at FROM questions
            WHERE {where} AND outcome = 'answered' AND confidence IS NOT NULL
            ORDER BY confidence, id DESC LIMIT ?""",
        [*args, limit],
    ).fetchall()
    keys = ("id", "person", "question", "confidence", "answer", "asked_at")
    return [dict(zip(keys, r)) for r in rows]


def most_asked(db: sqlite3.Connection, person: str | None, limit: int) -> list[dict]:
    """The questions asked most often (repeats counted by the normalised text), most first:
    {question (the latest wording), count, answered, abstained, declined, last_asked}."""
    where, args = _whose(person)
    rows = db.execute(
        f"""SELECT normalised, max(id), count(*) FROM questions WHERE {where}
            GROUP BY normalised ORDER BY count(*) DESC, max(id) DESC LIMIT ?""",
        [*args, limit],
    ).fetchall()
    if not rows:
        return []
    marks = ",".join("?" * len(rows))
    latest = {  # the latest asking of each: its wording and time (ids grow with time)
        r[0]: r[1:]
        for r in db.execute(f"SELECT id, question, asked_at FROM questions WHERE id IN ({marks})", [r[1] for r in rows])
    }
    outcomes: dict[str, dict[str, int]] = {r[0]: dict.fromkeys(OUTCOMES, 0) for r in rows}
    for normalised, outcome, count in db.execute(  # the few top questions' outcomes, from the index
        f"""SELECT normalised, outcome, count(*) FROM questions WHERE {where} AND normalised IN ({marks})
            GROUP BY normalised, outcome""",
        [*args, *[r[0] for r in rows]],
    ):
        if outcome in OUTCOMES:
            outcomes[normalised][outcome] += count
    return [{"question": latest[r[1]][0], "count": r[2], **outcomes[r[0]], "last_asked": latest[r[1]][1]} for r in rows]


def abstained_questions(db: sqlite3.Connection, person: str | None, limit: int) -> list[dict]:
    """The latest questions the twin abstained on, newest first: {id, person, question, asked_at}."""
    where, args = _whose(person)
    rows = db.execute(
        f"""SELECT id, person, question, asked_at FROM questions WHERE {where} AND outcome = 'abstained'
            ORDER BY id DESC LIMIT ?""",
        [*args, limit],
    ).fetchall()
    return [{"id": r[0], "person": r[1], "question": r[2], "asked_at": r[3]} for r in rows]


def last_question_id(db: sqlite3.Connection, person: str | None, outcome: str | None = None) -> int:
    """The id of the latest question logged (0: none), of one outcome if given, so what is worked
    out from the log can be kept until a new such question arrives."""
    where, args = _whose(person)
    if outcome is not None:
        where, args = f"{where} AND outcome = ?", [*args, outcome]
    return db.execute(f"SELECT coalesce(max(id), 0) FROM questions WHERE {where}", args).fetchone()[0]

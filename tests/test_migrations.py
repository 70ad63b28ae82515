"""Each migration applied to a library at the schema before it, with data in it: the data
survives, foreign keys and the file stay sound, and the library opens and answers.

A library at schema N-1 is made by the real `apply_migrations` with the list cut after N-1;
`Library(path)` then applies N and the rest, as it would on a user's old file. Rows come
from SEEDS, a row per table holding every column any migration has given it; each table is
filled with the columns it has at that point. A migration that adds a table must add its
rows to SEEDS (test_every_table_has_seed_rows says so), so the migrations after it are
tested with data in it too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from podtwin.store import migrations
from podtwin.store.keys import verify_key
from podtwin.store.library import Library, resolve_episode
from podtwin.store.migrations import MIGRATIONS, apply_migrations
from podtwin.store.people import people_summary
from podtwin.store.questions import abstained_questions, logged_question, outcome_counts

NOW = "2026-01-02T03:04:05+00:00"
KEY = "ptk_seed-key-for-the-migration-tests"
TRACE = (  # why a logged reply was given (m015): what twin.answer.Why.as_json() writes
    '{"question": "what about the metaverse?", "resolved_question": "what about the metaverse?", '
    '"checks": [{"name": "in_record", "outcome": "answered", "detail": {"p": 0.9, "threshold": 0.6}}], '
    '"in_record": {"p": 0.9, "threshold": 0.6, "decision": "answer", "features": {}, "passages": 1}, '
    '"candidates": [], "sentences": [], "quoted": []}'
)
TEXT = "I think the metaverse will be built by many companies. Why do you say that, Ada?"

# parents before children; each row names every column the table has had
SEEDS: dict[str, list[dict]] = {
    "shows": [{"id": 1, "name": "Seed Show", "host": "Ada Host"}],
    "episodes": [
        {
            "id": 1, "show_id": 1, "spoken_show": "The Seed Show", "number": 7, "title": "Seeds and migrations",
            "host": "Ada Host", "guests": '["Bea Guest"]', "date": "2026-01-02", "appearance": 2, "words": 16,
            "evidence": '{"title": "metadata"}', "created_at": NOW, "updated_at": NOW, "mentions": '["Cy Mention"]',
        },
        {
            "id": 2, "show_id": None, "spoken_show": None, "number": None, "title": "An episode of no show",
            "host": None, "guests": "[]", "date": None, "appearance": None, "words": 0, "evidence": "{}",
            "created_at": NOW, "updated_at": NOW, "mentions": "[]",
        },
    ],
    "sources": [
        {
            "id": 1, "episode_id": 1, "path": "/corpus/seed/ep7.txt", "content_hash": "c0ffee", "format": "text",
            "chars": len(TEXT), "metadata": '{"title": "Seeds and migrations"}', "text": TEXT, "ingested_at": NOW,
            "fingerprint": b"\x01\x02\x03\x04",
        }
    ],
    "segments": [
        {"id": 1, "episode_id": 1, "idx": 0, "kind": "conversation", "first_sentence": 0, "last_sentence": 1,
         "words": 16},
    ],
    "sentences": [
        {
            "id": 1, "episode_id": 1, "idx": 0, "source_id": 1, "speaker": "Bea Guest", "kind": "conversation",
            "start_char": 0, "end_char": 55, "start_s": 1.5, "end_s": 4.25, "restored": 0, "text": TEXT[:55],
            "role": "guest", "turn": 0, "speaker_confidence": 0.93,
        },
        {
            "id": 2, "episode_id": 1, "idx": 1, "source_id": 1, "speaker": "Ada Host", "kind": "conversation",
            "start_char": 56, "end_char": len(TEXT), "start_s": 4.5, "end_s": None, "restored": 1,
            "text": TEXT[56:], "role": "host", "turn": 1, "speaker_confidence": None,
        },
    ],
    "turns": [
        {"id": 1, "episode_id": 1, "idx": 0, "first_sentence": 0, "last_sentence": 0, "role": "guest",
         "speaker": "Bea Guest", "confidence": 0.93, "origin": "model"},
        {"id": 2, "episode_id": 1, "idx": 1, "first_sentence": 1, "last_sentence": 1, "role": "host",
         "speaker": "Ada Host", "confidence": 1.0, "origin": "label"},
    ],
    "people": [{"id": 1, "name": "Ada Host"}, {"id": 2, "name": "Bea Guest"}],
    "aliases": [
        {"person_id": 1, "alias": "Ada", "episode_id": 1, "origin": "label"},
        {"person_id": 2, "alias": "Bea G.", "episode_id": None, "origin": "correction"},
    ],
    "corrections": [
        {"id": 1, "action": "rename", "args": '{"old": "Bea G.", "new": "Bea Guest"}', "created_at": NOW},
    ],
    "passages": [
        {"id": 1, "episode_id": 1, "idx": 0, "first_sentence": 0, "last_sentence": 0, "text": TEXT[:55],
         "context": "", "text_hash": "hash-passage-1", "terms": b"\x00\x01\x00\x02"},
    ],
    "embeddings": [{"text_hash": "hash-passage-1", "model": "seed-model", "vector": b"\x00\x3c" * 4}],
    "lexical_terms": [{"id": 1, "term": "metavers"}, {"id": 2, "term": "compani"}],
    "personas": [
        {"person": "Bea Guest", "disclosure": "An AI built from Bea's interviews.", "off_limits": '["war"]',
         "decline": None, "style": "verbatim", "max_words": 80, "episodes": "1", "updated_at": NOW},
    ],
    "api_keys": [
        {"id": 1, "name": "seed", "digest": hashlib.sha256(KEY.encode()).hexdigest(), "created_at": NOW,
         "last_used_at": None, "revoked_at": None},
        {"id": 2, "name": "old", "digest": "0" * 64, "created_at": NOW, "last_used_at": NOW, "revoked_at": NOW},
    ],
    "sessions": [
        {"digest": "1" * 64, "key_id": 1, "created_at": NOW, "expires_at": "2099-01-01T00:00:00+00:00"},
    ],
    "questions": [
        {"id": 1, "person": "Bea Guest", "question": "what about the metaverse?",
         "reply": '{"answer": "I think the metaverse ..."}', "channel": "web", "asked_at": NOW,
         "outcome": "answered", "confidence": None, "normalised": "what about the metaverse", "trace": TRACE},
        {"id": 2, "person": "Bea Guest", "question": "What's the price of Bitcoin, Bea?",
         "reply": '{"answer": "I haven\'t talked about that", "abstained": true, "declined_by_policy": false, '
                  '"confidence": 0.125}',
         "channel": "api", "asked_at": NOW, "outcome": "abstained", "confidence": 0.125,
         "normalised": "what's the price of bitcoin bea", "trace": None},
        {"id": 3, "person": "Ada Host", "question": "And the war?",
         "reply": '{"answer": "I would rather not.", "abstained": false, "declined_by_policy": true, '
                  '"confidence": 0.75}',
         "channel": "mcp", "asked_at": NOW, "outcome": "declined", "confidence": 0.75, "normalised": "and the war",
         "trace": None},
    ],
    "sentence_embeddings": [{"text_hash": "hash-sentence-1", "model": "seed-model", "vector": b"\x00\x3c" * 4}],
    "retriever_adapters": [
        {"model": "seed-model", "matrix": b"\x00\x00\x80\x3f" * 4, "pairs": 12, "recall_before": 0.5,
         "recall_after": 0.75, "created_at": NOW},
    ],
    "retriever_tuning": [
        {"fingerprint": "seed-fingerprint", "epoch": 3, "matrix": b"\x01" * 16, "first_moment": b"\x02" * 16,
         "second_moment": b"\x03" * 16, "best_matrix": b"\x04" * 16, "best_recall": 0.75},
    ],
    "webhooks": [
        {"person": "Bea Guest", "url": "https://hooks.example/podtwin", "secret": "whsec_seed",
         "watch_topics": '["war"]', "unsure_below": 0.8, "created_at": NOW, "updated_at": NOW},
    ],
    "events": [
        {"id": "00000000-0000-4000-8000-000000000001", "kind": "flagged", "person": "Bea Guest",
         "payload": '{"data": {"question_id": 1}, "id": "00000000-0000-4000-8000-000000000001"}',
         "created_at": NOW, "attempts": 1, "next_attempt_at": NOW, "delivered_at": None, "last_error": "HTTP 500"},
    ],
    "flags": [{"id": 1, "question_id": 1, "reason": "not what I said", "client": "127.0.0.1", "created_at": NOW}],
    "answer_corrections": [
        {"id": 1, "person": "Bea Guest", "kind": "pin", "question": "what about the metaverse?",
         "question_vector": b"\x00\x00\x80\x3f" * 4, "embedder": "seed-model", "episode_id": 1,
         "first_sentence": 0, "last_sentence": 0, "sentences": '["' + TEXT[:55] + '"]', "question_id": 1,
         "active": 1, "gone_since": None, "created_at": NOW, "created_by": "seed"},
    ],
    "answer_marks": [{"question_id": 1, "person": "Bea Guest", "mark": "good", "marked_at": NOW, "marked_by": "seed"}],
    "creator_changes": [
        {"id": 1, "at": NOW, "who": "seed", "person": "Bea Guest", "action": "pin", "target": "correction:1",
         "before": "null", "after": '{"id": 1}', "undoes": None, "undone_by": None},
    ],
}  # fmt: skip

# tables a migration fills itself: a single row of state, compared on its own below
OWN_ROWS = {"index_generation"}


def test_there_are_migrations():
    assert MIGRATIONS, "no migrations: nothing creates a library's tables"
    assert len({name for name, _ in MIGRATIONS}) == len(MIGRATIONS)


def at_schema(path: Path, applied: int) -> sqlite3.Connection:
    """A connection to a new library at the schema after the first `applied` migrations."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    saved = migrations.MIGRATIONS
    migrations.MIGRATIONS = saved[:applied]  # apply_migrations reads the module's list
    try:
        assert apply_migrations(db) == [name for name, _ in saved[:applied]]
    finally:
        migrations.MIGRATIONS = saved
    return db


def tables(db: sqlite3.Connection) -> set[str]:
    """Ordinary tables, without virtual tables (FTS5) and the tables they keep for themselves."""
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    return {
        name
        for name, _ in rows
        if not name.startswith(("sqlite_", "_migrations"))
        and name not in virtual
        and not any(name.startswith(v + "_") for v in virtual)
    }


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def seed(db: sqlite3.Connection) -> dict[str, list[dict]]:
    """SEEDS' rows in each table the schema has, with the columns it has; what went in."""
    present, put = tables(db), {}
    db.execute("BEGIN")
    for table, rows in SEEDS.items():
        if table not in present:
            continue
        have = columns(db, table)
        for row in rows:
            row = {k: v for k, v in row.items() if k in have}
            db.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
            put.setdefault(table, []).append(row)
    db.execute("COMMIT")
    return put


def contents(db: sqlite3.Connection, table: str) -> list[dict]:
    cursor = db.execute(f"SELECT * FROM {table} ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def assert_sound(db: sqlite3.Connection) -> None:
    assert [tuple(r) for r in db.execute("PRAGMA integrity_check")] == [("ok",)]
    assert [tuple(r) for r in db.execute("PRAGMA foreign_key_check")] == []
    if "passages_fts" in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}:
        # rank 1: the index is checked against the passages it is built from; raises if out of step
        db.execute("INSERT INTO passages_fts (passages_fts, rank) VALUES ('integrity-check', 1)")


def test_every_table_has_seed_rows(tmp_path):
    """So a table a migration adds has data in it when the next migration is tested."""
    db = at_schema(tmp_path / "latest.db", len(MIGRATIONS))
    missing = tables(db) - set(SEEDS) - OWN_ROWS
    db.close()
    assert not missing, f"add rows for {sorted(missing)} to SEEDS in {__file__}"


@pytest.mark.parametrize("n", range(len(MIGRATIONS)), ids=[name for name, _ in MIGRATIONS])
def test_migration_keeps_the_data_of_the_schema_before_it(tmp_path, n):
    path = tmp_path / "old.db"
    db = at_schema(path, n)  # migrations 1..N-1; MIGRATIONS[n] is migration N
    put = seed(db)
    assert bool(put) == (n > 0)  # the schema before the first migration is a blank file
    before = {table: contents(db, table) for table in tables(db)}
    assert_sound(db)
    db.close()

    with Library(path) as library:  # applies migration N and every later one
        db = library.db
        done = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
        assert done == [name for name, _ in MIGRATIONS]
        assert_sound(db)
        for table, old_rows in before.items():
            new_rows = contents(db, table)
            if table in OWN_ROWS:  # the index generation only ever moves forward
                assert [r["n"] for r in new_rows] >= [r["n"] for r in old_rows], table
                continue
            assert len(new_rows) == len(old_rows), table
            for old, new in zip(old_rows, new_rows):  # every value kept; new columns may be added
                assert {k: new[k] for k in old} == old, table
        for table, rows in put.items():  # the seeds are what is there (nothing lost before the snapshot)
            assert len(before[table]) == len(rows), table

        # the library works: the store's own queries read the old rows
        if "episodes" in put:
            episodes = {e["id"]: e for e in library.episodes()}
            assert set(episodes) == {1, 2}
            assert episodes[1]["show"] == "Seed Show" and episodes[1]["guests"] == ["Bea Guest"]
            assert resolve_episode(library, "#7") == 1 and resolve_episode(library, "no show") == 2
        if "sentences" in put:
            said = list(library.sentences(1))
            assert [s["text"] for s in said] == [TEXT[:55], TEXT[56:]]
            assert said[0]["source_file"] == "/corpus/seed/ep7.txt"
            assert library.episode(1)["sources"][0]["content_hash"] == "c0ffee"
        if "people" in put:
            people = {p["name"]: p for p in people_summary(db)}
            assert set(people) == {"Ada Host", "Bea Guest"} and people["Ada Host"]["aliases"] == ["Ada"]
            assert [a["episode_id"] for a in people["Bea Guest"]["appearances"]] == [1]
        if "passages" in put:
            found = db.execute("SELECT rowid FROM passages_fts WHERE passages_fts MATCH 'metaverse'").fetchall()
            assert [r[0] for r in found] == [1]
        if "api_keys" in put:
            assert verify_key(db, KEY) and not verify_key(db, "ptk_not-a-key")
        if "questions" in put:  # outcome, confidence and normalised text read from each logged reply
            got = {r[0]: r[1:] for r in db.execute("SELECT id, outcome, confidence, normalised FROM questions")}
            assert got == {q["id"]: (q["outcome"], q["confidence"], q["normalised"]) for q in SEEDS["questions"]}
            assert outcome_counts(db, "Bea Guest") == {"answered": 1, "abstained": 1, "declined": 0}
            assert [q["question"] for q in abstained_questions(db, None, 10)] == ["What's the price of Bitcoin, Bea?"]
            # the trace: kept where it was logged with one, none for replies logged before traces were kept
            had_trace = any("trace" in q for q in put["questions"])
            assert logged_question(db, 1)["why"] == (json.loads(TRACE) if had_trace else None)
            assert logged_question(db, 3)["why"] is None and logged_question(db, 3)["outcome"] == "declined"
            assert logged_question(db, 4) is None

"""The creator's corrections of a twin's answers, and the audit of every change to them.

- A **pin** names the excerpt (consecutive sentences of the person's) that answers a question
  and its paraphrases; a **block** names an excerpt that must not answer them.
- A **mark** says a logged reply was good or wrong.

Excerpts are kept by content as well as by place (the sentences' texts beside the episode and
sentence range), so they follow their words when a re-ingest renumbers or rebuilds an episode
(`relocate_corrections`, run by every ingest), and say since when their words are gone when
they are. Nothing is deleted: a removed pin stays, inactive, and every change is written to
`creator_changes` with who made it, when, and the state before and after, so it can be undone.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from podtwin.errors import CorrectionError, NotFound

__all__ = [
    "CORRECTION_KINDS",
    "MARKS",
    "CorrectionError",
    "add_correction",
    "changes",
    "correction",
    "corrections_of",
    "mark_of",
    "marks_of",
    "relocate_corrections",
    "remove_correction",
    "set_mark",
    "undo_change",
]

CORRECTION_KINDS = ("pin", "block")
MARKS = ("good", "wrong")
_FIELDS = (
    "id", "person", "kind", "question", "episode_id", "first_sentence", "last_sentence", "sentences",
    "question_id", "active", "gone_since", "created_at", "created_by",
)  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _as_dict(row: tuple) -> dict:
    d = dict(zip(_FIELDS, row))
    d["sentences"] = json.loads(d["sentences"])
    d["active"] = bool(d["active"])
    return d


def correction(db: sqlite3.Connection, correction_id: int) -> dict:
    row = db.execute(f"SELECT {', '.join(_FIELDS)} FROM answer_corrections WHERE id = ?", [correction_id]).fetchone()
    if row is None:
        raise NotFound(f"no correction with id {correction_id}")
    return _as_dict(row)


def corrections_of(db: sqlite3.Connection, person: str | None, *, active_only: bool = False) -> list[dict]:
    """A twin's pins and blocks (None: every twin's), newest first."""
    where, args = [], []
    if person is not None:
        where.append("person = ?")
        args.append(person)
    if active_only:
        where.append("active = 1")
    sql = f"SELECT {', '.join(_FIELDS)} FROM answer_corrections"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_as_dict(r) for r in db.execute(sql + " ORDER BY id DESC", args)]


def question_vectors(db: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[str, bytes]]:
    """The corrected questions' stored vectors: id -> (the embedder's name, float32 bytes)."""
    if not ids:
        return {}
    rows = db.execute(
        f"SELECT id, embedder, question_vector FROM answer_corrections WHERE id IN ({', '.join('?' * len(ids))})",
        ids,
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def add_correction(
    db: sqlite3.Connection,
    *,
    person: str,
    kind: str,
    question: str,
    question_vector: bytes,
    embedder: str,
    episode_id: int,
    first_sentence: int,
    last_sentence: int,
    sentences: list[str],
    who: str,
    question_id: int | None = None,
) -> dict:
    """Store a pin or block (checked by the caller: the words are the person's) and audit it."""
    if kind not in CORRECTION_KINDS:
        raise CorrectionError(f"a correction is a pin or a block, not {kind!r}")
    now = _now()
    cur = db.execute(
        """INSERT INTO answer_corrections (person, kind, question, question_vector, embedder, episode_id,
               first_sentence, last_sentence, sentences, question_id, active, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)""",
        [person, kind, question, question_vector, embedder, episode_id, first_sentence, last_sentence,
         json.dumps(sentences), question_id, now, who],
    )  # fmt: skip
    made = correction(db, int(cur.lastrowid))
    _audit(db, who, person, kind, f"correction:{made['id']}", None, _state(made))
    return made


def remove_correction(db: sqlite3.Connection, correction_id: int, who: str) -> dict:
    """Take a pin or block out of use (it stays, inactive, and the removal can be undone)."""
    before = correction(db, correction_id)
    if not before["active"]:
        raise CorrectionError(f"correction {correction_id} is not in use")
    db.execute("UPDATE answer_corrections SET active = 0 WHERE id = ?", [correction_id])
    _audit(db, who, before["person"], f"remove {before['kind']}", f"correction:{correction_id}", _state(before), None)
    return correction(db, correction_id)


def _state(c: dict) -> dict | None:
    """What the audit shows of a correction: None when it is not in use."""
    if not c["active"]:
        return None
    keep = ("id", "kind", "question", "episode_id", "first_sentence", "last_sentence", "sentences")
    return {k: c[k] for k in keep}


# -- marks on logged replies ---------------------------------------------------------------


def mark_of(db: sqlite3.Connection, question_id: int) -> str | None:
    row = db.execute("SELECT mark FROM answer_marks WHERE question_id = ?", [question_id]).fetchone()
    return None if row is None else row[0]


def marks_of(db: sqlite3.Connection, question_ids: list[int]) -> dict[int, str]:
    if not question_ids:
        return {}
    rows = db.execute(
        f"SELECT question_id, mark FROM answer_marks WHERE question_id IN ({', '.join('?' * len(question_ids))})",
        question_ids,
    )
    return dict(rows.fetchall())


def set_mark(db: sqlite3.Connection, question_id: int, mark: str | None, who: str) -> str | None:
    """Mark a logged reply good or wrong (None: clear the mark); audited. Returns the mark."""
    if mark is not None and mark not in MARKS:
        raise CorrectionError(f"a reply is marked good or wrong, not {mark!r}")
    row = db.execute("SELECT person FROM questions WHERE id = ?", [question_id]).fetchone()
    if row is None:
        raise NotFound(f"no logged question with id {question_id}")
    before = mark_of(db, question_id)
    if before == mark:
        return mark
    _write_mark(db, question_id, row[0], mark, who)
    _audit(db, who, row[0], "mark" if mark else "clear mark", f"mark:{question_id}", before, mark)
    return mark


def _write_mark(db: sqlite3.Connection, question_id: int, person: str, mark: str | None, who: str) -> None:
    if mark is None:
        db.execute("DELETE FROM answer_marks WHERE question_id = ?", [question_id])
    else:
        db.execute(
            """INSERT INTO answer_marks (question_id, person, mark, marked_at, marked_by) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (question_id) DO UPDATE SET mark = excluded.mark, marked_at = excluded.marked_at,
                   marked_by = excluded.marked_by""",
            [question_id, person, mark, _now(), who],
        )


# -- the audit ---------------------------------------------------------------------------------

_CHANGE_FIELDS = ("id", "at", "who", "person", "action", "target", "before", "after", "undoes", "undone_by")


def _audit(db, who: str, person: str, action: str, target: str, before, after, undoes: int | None = None) -> int:
    cur = db.execute(
        """INSERT INTO creator_changes (at, who, person, action, target, before, after, undoes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [_now(), who, person, action, target, json.dumps(before), json.dumps(after), undoes],
    )
    return int(cur.lastrowid)


def changes(db: sqlite3.Connection, person: str | None, limit: int = 100) -> list[dict]:
    """The audit, newest first: who changed what, when, and the state before and after."""
    sql = f"SELECT {', '.join(_CHANGE_FIELDS)} FROM creator_changes"
    args: list = []
    if person is not None:
        sql += " WHERE person = ?"
        args.append(person)
    rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    out = []
    for r in rows:
        d = dict(zip(_CHANGE_FIELDS, r))
        d["before"], d["after"] = json.loads(d["before"]), json.loads(d["after"])
        out.append(d)
    return out


def _change(db: sqlite3.Connection, change_id: int) -> dict:
    row = db.execute(f"SELECT {', '.join(_CHANGE_FIELDS)} FROM creator_changes WHERE id = ?", [change_id]).fetchone()
    if row is None:
        raise NotFound(f"no change with id {change_id}")
    d = dict(zip(_CHANGE_FIELDS, row))
    d["before"], d["after"] = json.loads(d["before"]), json.loads(d["after"])
    return d


def undo_change(db: sqlite3.Connection, change_id: int, who: str) -> dict:
    """Put back the state before a change (itself audited, and undoable in turn). Refused when
    what it changed has changed again since: the later change is undone first."""
    change = _change(db, change_id)
    if change["undone_by"] is not None:
        raise CorrectionError(f"change {change_id} was undone already (by change {change['undone_by']})")
    kind, _, ident = change["target"].partition(":")
    target = int(ident)
    if kind == "correction":
        current = _state(correction(db, target))
        if (current is None) != (change["after"] is None):
            raise CorrectionError(
                f"correction {target} has changed since change {change_id}: undo the later change first"
            )
        db.execute("UPDATE answer_corrections SET active = ? WHERE id = ?", [int(change["before"] is not None), target])
        after = _state(correction(db, target))
    elif kind == "mark":
        current = mark_of(db, target)
        if current != change["after"]:
            raise CorrectionError(
                f"the mark on question {target} has changed since change {change_id}: undo the later change first"
            )
        _write_mark(db, target, change["person"], change["before"], who)
        after = change["before"]
    else:  # pragma: no cover - only the kinds above are written
        raise CorrectionError(f"change {change_id} cannot be undone")
    new_id = _audit(db, who, change["person"], f"undo {change['action']}", change["target"], current, after, change_id)
    db.execute("UPDATE creator_changes SET undone_by = ? WHERE id = ?", [new_id, change_id])
    return _change(db, new_id)


# -- following the words across re-ingest --------------------------------------------------------


def relocate_corrections(db: sqlite3.Connection) -> dict[str, int]:
    """Find every correction's words again after an ingest: in place when the episode's
    sentences there still read the same; else wherever the same consecutive sentences now are
    (the same person's words, renumbered or moved to a rebuilt episode); else the correction is
    marked gone (since now) and kept, so it comes back if its words do.
    Returns how many stayed, moved and are gone."""
    rows = db.execute("SELECT id, episode_id, first_sentence, sentences, gone_since FROM answer_corrections").fetchall()
    counts = {"stayed": 0, "moved": 0, "gone": 0}
    lost = []
    for cid, episode_id, first, texts_json, gone in rows:
        texts = json.loads(texts_json)
        if _reads(db, episode_id, first, texts):
            counts["stayed"] += 1
            if gone is not None:
                db.execute("UPDATE answer_corrections SET gone_since = NULL WHERE id = ?", [cid])
            continue
        lost.append((cid, texts, gone))
    if not lost:
        return counts
    firsts = list({texts[0] for _, texts, _ in lost})
    places: dict[str, list[tuple[int, int]]] = {}
    for start in range(0, len(firsts), 500):
        chunk = firsts[start : start + 500]
        for episode_id, idx, text in db.execute(
            f"SELECT episode_id, idx, text FROM sentences WHERE text IN ({', '.join('?' * len(chunk))})", chunk
        ):
            places.setdefault(text, []).append((episode_id, idx))
    for cid, texts, gone in lost:
        found = next((p for p in sorted(places.get(texts[0], [])) if _reads(db, p[0], p[1], texts)), None)
        if found is None:
            counts["gone"] += 1
            if gone is None:
                db.execute("UPDATE answer_corrections SET gone_since = ? WHERE id = ?", [_now(), cid])
            continue
        counts["moved"] += 1
        db.execute(
            """UPDATE answer_corrections SET episode_id = ?, first_sentence = ?, last_sentence = ?, gone_since = NULL
               WHERE id = ?""",
            [found[0], found[1], found[1] + len(texts) - 1, cid],
        )
    return counts


def _reads(db: sqlite3.Connection, episode_id: int, first: int, texts: list[str]) -> bool:
    got = db.execute(
        "SELECT text FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ? ORDER BY idx",
        [episode_id, first, first + len(texts) - 1],
    ).fetchall()
    return [r[0] for r in got] == texts

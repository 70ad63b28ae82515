"""Reading what was said, sentence by sentence, for the twin's answers: the rows of a span,
the exact source text it quotes, the source's whole text for display casing, and the
sentence vectors kept between questions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

__all__ = [
    "cached_sentence_vectors",
    "keep_sentence_vectors",
    "sentence_rows",
    "source_hash",
    "source_slice",
    "source_text",
]


def sentence_rows(db: sqlite3.Connection, episode_id: int, first: int, last: int) -> list[tuple]:
    """Sentences first..last of an episode, in order: (idx, speaker, start_char, end_char,
    start_s, text, source_id, source path, speaker confidence, attributed by the model, kind, turn,
    what gave the turn's speaker: label, structure, model or correction; None without a turn)."""
    return db.execute(
        """SELECT s.idx, s.speaker, s.start_char, s.end_char, s.start_s, s.text, s.source_id, so.path,
                  coalesce(s.speaker_confidence, 1.0), coalesce(t.origin = 'model', 0), s.kind, s.turn, t.origin
           FROM sentences s JOIN sources so ON so.id = s.source_id
           LEFT JOIN turns t ON t.episode_id = s.episode_id AND t.idx = s.turn
           WHERE s.episode_id = ? AND s.idx BETWEEN ? AND ? ORDER BY s.idx""",
        [episode_id, first, last],
    ).fetchall()


def source_slice(db: sqlite3.Connection, source_id: int, start: int, end: int) -> str:
    """The source's exact text from character start to end: what a citation quotes."""
    return db.execute(
        "SELECT substr(text, ? + 1, ? - ?) FROM sources WHERE id = ?", [start, end, start, source_id]
    ).fetchone()[0]


def source_hash(db: sqlite3.Connection, source_id: int) -> str | None:
    """A source's content hash (None if there is no such source)."""
    row = db.execute("SELECT content_hash FROM sources WHERE id = ?", [source_id]).fetchone()
    return None if row is None else row[0]


def source_text(db: sqlite3.Connection, source_id: int) -> str:
    """A source's whole text."""
    return db.execute("SELECT text FROM sources WHERE id = ?", [source_id]).fetchone()[0]


def cached_sentence_vectors(db: sqlite3.Connection, model: str, hashes: list[str]) -> dict[str, bytes]:
    """Stored vectors (float16 bytes) of sentences by text hash, of this model only: a library
    embedded by an earlier model re-embeds as it goes."""
    if not hashes:
        return {}
    return dict(
        db.execute(
            f"""SELECT text_hash, vector FROM sentence_embeddings
                WHERE model = ? AND text_hash IN ({", ".join("?" * len(hashes))})""",
            [model, *hashes],
        ).fetchall()
    )


def keep_sentence_vectors(db: sqlite3.Connection, model: str, vectors: Iterable[tuple[str, bytes]]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO sentence_embeddings (text_hash, model, vector) VALUES (?, ?, ?)",
        [(h, model, v) for h, v in vectors],
    )

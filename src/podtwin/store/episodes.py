"""Episodes as ingest writes them: sources (the files read), and each episode's metadata,
sentences, turns and segments, rewritten whole from its sources.

Every function runs on the caller's connection inside the caller's transaction
(`Library.atomic()`); none commits. Deciding what to write (reading files, merging
sources, attributing speakers) is podtwin.ingest's; this module only reads and writes rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from podtwin.speakers.metadata import EpisodeInfo
    from podtwin.speakers.turns import TurnRow

__all__ = [
    "SourceFingerprint",
    "SentenceRow",
    "add_episode",
    "add_source",
    "delete_episode",
    "episode_heading",
    "episode_has_sources",
    "episode_sources",
    "known_hashes",
    "remove_source",
    "shows_of",
    "source_at",
    "source_fingerprints",
    "write_episode_rows",
]


@dataclass
class SentenceRow:
    """One sentence of an episode as ingest makes it and the store writes it."""

    speaker: str | None
    role: str | None  # "host" or "guest"
    kind: str
    start_char: int
    end_char: int
    start_s: float | None
    end_s: float | None
    restored: bool
    text: str
    confidence: float = 1.0  # P(speaker is right), calibrated (1.0 for labels and structure)


class SourceFingerprint(NamedTuple):
    """A stored source's conversation fingerprint, with what its episode says of its title."""

    episode_id: int
    fingerprint: bytes
    title: str | None
    title_evidence: str | None  # where the episode's title was read ("header", "intro", ...), if anywhere


def known_hashes(db: sqlite3.Connection) -> set[str]:
    """The content hashes of every source in the library: files already ingested."""
    return {row[0] for row in db.execute("SELECT content_hash FROM sources")}


def shows_of(db: sqlite3.Connection, episode_ids: Sequence[int]) -> set[int | None]:
    """The shows of these episodes (None for an episode of no known show)."""
    if not episode_ids:
        return set()
    return {
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT show_id FROM episodes WHERE id IN ({', '.join('?' * len(episode_ids))})",
            list(episode_ids),
        )
    }


def source_at(db: sqlite3.Connection, path: str) -> tuple[int, int] | None:
    """(source id, episode id) of the source ingested from this path, if any."""
    row = db.execute("SELECT id, episode_id FROM sources WHERE path = ?", [path]).fetchone()
    return None if row is None else (row[0], row[1])


def remove_source(db: sqlite3.Connection, source_id: int) -> None:
    """Delete a source and the sentences quoting it (its episode stays: see episode_has_sources)."""
    db.execute("DELETE FROM sentences WHERE source_id = ?", [source_id])
    db.execute("DELETE FROM sources WHERE id = ?", [source_id])


def episode_has_sources(db: sqlite3.Connection, episode_id: int) -> bool:
    return bool(db.execute("SELECT count(*) FROM sources WHERE episode_id = ?", [episode_id]).fetchone()[0])


def delete_episode(db: sqlite3.Connection, episode_id: int) -> None:
    db.execute("DELETE FROM episodes WHERE id = ?", [episode_id])


def add_episode(db: sqlite3.Connection, now: str) -> int:
    """A new, empty episode (its metadata and rows come with write_episode_rows); its id."""
    return db.execute("INSERT INTO episodes (created_at, updated_at) VALUES (?, ?)", [now, now]).lastrowid


def add_source(
    db: sqlite3.Connection,
    episode_id: int,
    *,
    path: str,
    content_hash: str,
    format: str,
    text: str,
    metadata: dict,
    fingerprint: bytes,
    ingested_at: str,
) -> int:
    """Store a file read as a source of an episode (its whole text kept, for citations); its id."""
    return db.execute(
        """INSERT INTO sources (episode_id, path, content_hash, format, chars, metadata, text, fingerprint,
                                ingested_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [episode_id, path, content_hash, format, len(text), json.dumps(metadata), text, fingerprint, ingested_at],
    ).lastrowid


def source_fingerprints(db: sqlite3.Connection) -> Iterator[SourceFingerprint]:
    """Every source that has a fingerprint, with its episode's title and where that title was read."""
    rows = db.execute(
        """SELECT so.episode_id, so.fingerprint, e.title, e.evidence FROM sources so
           JOIN episodes e ON e.id = so.episode_id WHERE so.fingerprint IS NOT NULL"""
    )
    for row in rows:
        yield SourceFingerprint(row[0], row[1], row[2], json.loads(row[3]).get("title"))


def episode_sources(db: sqlite3.Connection, episode_id: int) -> list[tuple[int, str, str]]:
    """(source id, path, text) of each of an episode's sources, oldest first."""
    return [
        (row[0], row[1], row[2])
        for row in db.execute("SELECT id, path, text FROM sources WHERE episode_id = ? ORDER BY id", [episode_id])
    ]


def write_episode_rows(
    db: sqlite3.Connection,
    episode_id: int,
    info: EpisodeInfo,
    sentences: Sequence[tuple[int, SentenceRow]],
    turns: Sequence[TurnRow],
    segments: Iterable[tuple[str, int, int, int]],
    now: str,
) -> None:
    """Replace an episode's metadata, sentences, turns and segments with these.

    sentences: (source id, sentence) in the episode's order; every sentence lies in one of
    the turns (first..last, indices into sentences). segments: (kind, first, last, words).
    The episode's passages are search's to rebuild afterwards (search.index.index_episode).
    """
    for table in ("sentences", "turns", "segments"):
        db.execute(f"DELETE FROM {table} WHERE episode_id = ?", [episode_id])
    db.execute(
        """UPDATE episodes SET spoken_show = ?, number = ?, title = ?, host = ?, guests = ?, date = ?,
                  appearance = ?, words = ?, evidence = ?, mentions = ?, updated_at = ? WHERE id = ?""",
        [
            info.show,
            info.number,
            info.title,
            info.host,
            json.dumps(info.guests, ensure_ascii=False),
            info.date,
            info.appearance,
            sum(len(r.text.split()) for _, r in sentences),
            json.dumps(info.evidence),
            json.dumps(info.mentions, ensure_ascii=False),
            now,
            episode_id,
        ],
    )
    turn_of = {i: t for t, turn in enumerate(turns) for i in range(turn.first, turn.last + 1)}
    db.executemany(
        """INSERT INTO sentences (episode_id, idx, source_id, speaker, role, turn, kind, start_char, end_char,
                                  start_s, end_s, restored, text, speaker_confidence)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            (
                episode_id,
                i,
                sid,
                r.speaker,
                r.role,
                turn_of[i],
                r.kind,
                r.start_char,
                r.end_char,
                r.start_s,
                r.end_s,
                r.restored,
                r.text,
                r.confidence,
            )
            for i, (sid, r) in enumerate(sentences)
        ),
    )
    db.executemany(
        """INSERT INTO turns (episode_id, idx, first_sentence, last_sentence, role, speaker, confidence, origin)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        ((episode_id, i, t.first, t.last, t.role, t.speaker, t.confidence, t.origin) for i, t in enumerate(turns)),
    )
    db.executemany(
        "INSERT INTO segments (episode_id, idx, kind, first_sentence, last_sentence, words) VALUES (?, ?, ?, ?, ?, ?)",
        ((episode_id, i, kind, first, last, words) for i, (kind, first, last, words) in enumerate(segments)),
    )


def episode_heading(db: sqlite3.Connection, episode_id: int) -> tuple[int | None, str | None]:
    """An episode's number and title (None, None for an episode not in the library)."""
    row = db.execute("SELECT number, title FROM episodes WHERE id = ?", [episode_id]).fetchone()
    return (None, None) if row is None else (row[0], row[1])

"""A podtwin library: one SQLite file holding episodes, their sources, segments and sentences."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podtwin.errors import LibraryError
from podtwin.store.migrations import apply_migrations

DEFAULT_DB = "podtwin.db"


def default_db_path() -> Path:
    """$PODTWIN_DB or ./podtwin.db: the one place that decides where the library is."""
    return Path(os.environ.get("PODTWIN_DB", DEFAULT_DB))


class Library:
    """An open library. Writes go through `atomic()` so a failure leaves nothing behind."""

    def __init__(self, path: str | Path, *, create: bool = True, threads: bool = False) -> None:
        """threads: the connection may be used from other threads (one at a time; the caller locks)."""
        self.path = Path(path)
        self.key = str(self.path.resolve())  # one name per file, for per-process caches
        if not create and not self.path.exists():
            raise LibraryError(f"No library at {self.path}: run `podtwin ingest PATH` first")
        if self.path.is_dir():
            raise LibraryError(f"{self.path} is a directory, not a library file")
        if not self.path.parent.is_dir():
            raise LibraryError(f"cannot create a library at {self.path}: the folder {self.path.parent} does not exist")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=not threads)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            apply_migrations(self.db)
        except sqlite3.DatabaseError as e:
            raise LibraryError(f"{self.path} is not a podtwin library ({e})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One transaction (a savepoint when nested): all of it lands, or none of it."""
        if self.db.in_transaction:
            name = f"sp{id(self)}"
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            self.db.execute(f"RELEASE {name}")
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- queries -------------------------------------------------------------

    def episodes(self) -> list[dict]:
        rows = self.db.execute(
            """
            SELECT e.id, s.name AS show, e.number, e.title, e.host, e.guests, e.date, e.words,
                   e.appearance, (SELECT count(*) FROM sources WHERE episode_id = e.id) AS sources
            FROM episodes e LEFT JOIN shows s ON s.id = e.show_id
            ORDER BY s.name IS NULL, s.name, e.date IS NULL, e.date, e.number, e.id
            """
        ).fetchall()
        return [_episode_dict(r) for r in rows]

    def episode(self, episode_id: int) -> dict:
        row = self.db.execute(
            """
            SELECT e.*, s.name AS show, (SELECT count(*) FROM sources WHERE episode_id = e.id) AS sources
            FROM episodes e LEFT JOIN shows s ON s.id = e.show_id WHERE e.id = ?
            """,
            [episode_id],
        ).fetchone()
        info = _episode_dict(row)
        info["evidence"] = json.loads(row["evidence"])
        info["created_at"], info["updated_at"] = row["created_at"], row["updated_at"]
        info["sources"] = [
            {
                "id": r["id"],
                "path": r["path"],
                "format": r["format"],
                "chars": r["chars"],
                "content_hash": r["content_hash"],
                "metadata": json.loads(r["metadata"]),
                "ingested_at": r["ingested_at"],
            }
            for r in self.db.execute("SELECT * FROM sources WHERE episode_id = ? ORDER BY id", [episode_id])
        ]
        info["segments"] = [
            dict(r)
            for r in self.db.execute(
                """SELECT idx, kind, first_sentence, last_sentence, words FROM segments
                   WHERE episode_id = ? ORDER BY idx""",
                [episode_id],
            )
        ]
        kinds: dict[str, dict[str, int]] = {}
        for seg in info["segments"]:
            k = kinds.setdefault(seg["kind"], {"segments": 0, "sentences": 0, "words": 0})
            k["segments"] += 1
            k["sentences"] += seg["last_sentence"] - seg["first_sentence"] + 1
            k["words"] += seg["words"]
        info["kinds"] = kinds
        info["turns"] = [
            dict(r)
            for r in self.db.execute(
                """SELECT speaker, role, origin, count(*) AS turns, round(avg(confidence), 3) AS mean_confidence
                   FROM turns WHERE episode_id = ? GROUP BY speaker, role, origin ORDER BY turns DESC""",
                [episode_id],
            )
        ]
        info["speakers"] = [
            dict(r)
            for r in self.db.execute(
                """SELECT speaker, count(*) AS sentences FROM sentences WHERE episode_id = ?
                   GROUP BY speaker ORDER BY sentences DESC""",
                [episode_id],
            )
        ]
        return info

    def sentences(self, episode_id: int) -> Iterator[dict]:
        cursor = self.db.execute(
            """
            SELECT se.episode_id, se.idx AS "index", se.speaker, se.kind, so.path AS source_file,
                   se.start_char, se.end_char, se.start_s, se.end_s, se.text,
                   se.turn, t.confidence AS speaker_confidence
            FROM sentences se JOIN sources so ON so.id = se.source_id
            LEFT JOIN turns t ON t.episode_id = se.episode_id AND t.idx = se.turn
            WHERE se.episode_id = ? ORDER BY se.idx
            """,
            [episode_id],
        )
        for row in cursor:
            yield dict(row)


def _episode_dict(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"],
        "show": row["show"],
        "number": row["number"],
        "title": row["title"],
        "host": row["host"],
        "guests": json.loads(row["guests"]),
        "date": row["date"],
        "words": row["words"],
        "appearance": row["appearance"],
        "sources": row["sources"],
    }


def resolve_episode(library: Library, selector: str) -> int:
    """An episode id from an id, '#number' or number, or a unique part of a title or guest name."""
    from podtwin.errors import EpisodeNotFound

    text = selector.strip()
    if not text:
        raise EpisodeNotFound(selector, "empty selector; give an id, a number or part of a title")
    digits = text.lstrip("#")
    # ASCII digits that fit SQLite's 64-bit integers: "²" is a digit to str.isdigit, and a
    # longer number is no id (both were 500s)
    if re.fullmatch(r"[0-9]{1,18}", digits):
        if not text.startswith("#"):
            row = library.db.execute("SELECT id FROM episodes WHERE id = ?", [int(digits)]).fetchone()
            if row:
                return row[0]
        rows = library.db.execute("SELECT id FROM episodes WHERE number = ?", [int(digits)]).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if len(rows) > 1:
            raise EpisodeNotFound(selector, f"{len(rows)} episodes have number {digits}; use an id")
    needle = text.lower()
    matches = [
        e
        for e in library.episodes()
        if needle in (e["title"] or "").lower() or any(needle in g.lower() for g in e["guests"])
    ]
    if len(matches) == 1:
        return matches[0]["id"]
    if not matches:
        raise EpisodeNotFound(selector, "no episode has that id, number, title or guest; see `podtwin episodes`")
    listed = "; ".join(f"{e['id']}: {e['title'] or ', '.join(e['guests'])}" for e in matches[:8])
    raise EpisodeNotFound(selector, f"matches {len(matches)} episodes ({listed}); be more specific or use an id")

"""Keeping the search index in step with the library.

Passages (and through triggers their FTS5 rows) are rewritten with an episode's
sentences, inside the same transaction, so the lexical index is never out of date.
Embeddings are slower, so they are added afterwards in small committed batches, keyed by
passage text: an interrupted run keeps what it finished, and re-writing an episode
re-embeds only passages whose text changed.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podtwin.search.embed import MODEL_NAME, Embedder
from podtwin.search.lexical import store_terms, term_blobs
from podtwin.search.passages import SentenceRow, build_passages, text_hash

if TYPE_CHECKING:
    from podtwin.store.library import Library

__all__ = [
    "IndexStatus",
    "embed_missing",
    "index_episode",
    "index_missing_episodes",
    "index_status",
    "prune_sentence_vectors",
]

EMBED_CHUNK = 1024  # passages per committed batch (sorted by length inside it)


def index_episode(db: sqlite3.Connection, episode_id: int) -> int:
    """(Re)build one episode's passages from its stored sentences; returns how many."""
    rows = [
        SentenceRow(r[0], r[1], r[2], r[3], r[4])
        for r in db.execute(
            "SELECT idx, text, kind, turn, source_id FROM sentences WHERE episode_id = ? ORDER BY idx", [episode_id]
        )
    ]
    passages = build_passages(rows)
    db.execute("DELETE FROM passages WHERE episode_id = ?", [episode_id])
    blobs = term_blobs(db, [(p.text, p.context) for p in passages])
    db.executemany(
        """INSERT INTO passages (episode_id, idx, first_sentence, last_sentence, text, context, text_hash, terms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            (episode_id, i, p.first, p.last, p.text, p.context, p.text_hash, blob)
            for i, (p, blob) in enumerate(zip(passages, blobs, strict=True))
        ),
    )
    return len(passages)


def index_missing_episodes(db: sqlite3.Connection) -> int:
    """Passages for episodes that have none (libraries written before the index existed), and
    term counts for passages without them (written before migration m005)."""
    missing = [
        r[0]
        for r in db.execute(
            "SELECT id FROM episodes e WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.episode_id = e.id)"
        )
    ]
    for episode_id in missing:
        index_episode(db, episode_id)
    uncounted = db.execute("SELECT id, text, context FROM passages WHERE terms IS NULL").fetchall()
    for start in range(0, len(uncounted), 1000):
        store_terms(db, uncounted[start : start + 1000])
    return len(missing)


@dataclass
class IndexStatus:
    episodes: int
    passages: int
    embedded: int  # passages whose text has a vector of the current model

    @property
    def missing(self) -> int:
        return self.passages - self.embedded


def index_status(db: sqlite3.Connection) -> IndexStatus:
    episodes = db.execute("SELECT count(*) FROM episodes").fetchone()[0]
    passages = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    embedded = db.execute(
        """SELECT count(*) FROM passages p
           WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = p.text_hash AND e.model = ?)""",
        [MODEL_NAME],
    ).fetchone()[0]
    return IndexStatus(episodes, passages, embedded)


def prune_sentence_vectors(library: Library) -> int:
    """Drop stored sentence vectors (kept by twins, twin.answer.sentence_vectors) whose text no
    sentence has any more; returns how many. Part of embed_missing."""
    db = library.db
    if db.execute("SELECT 1 FROM sentence_embeddings LIMIT 1").fetchone() is None:
        return 0
    live = {text_hash(t) for (t,) in db.execute("SELECT text FROM sentences")}
    gone = [(h,) for (h,) in db.execute("SELECT text_hash FROM sentence_embeddings") if h not in live]
    if gone:
        with library.atomic():
            db.executemany("DELETE FROM sentence_embeddings WHERE text_hash = ?", gone)
    return len(gone)


def embed_missing(
    library: Library,
    embedder: Embedder | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    chunk: int = EMBED_CHUNK,
    workers: int | None = None,
) -> int:
    """Embed every passage text that has no vector of the current model yet, committing batch by
    batch; returns how many. (Vectors of an earlier model stay in use until replaced.)

    Large jobs run in one single-threaded process per core: for a model this small, two
    processes embed about 15% more per second than one process with two threads.
    """
    db = library.db
    with library.atomic():
        # vectors no passage uses any more (episodes re-written or deleted)
        db.execute("DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM passages)")
    prune_sentence_vectors(library)
    todo = db.execute(
        """SELECT text_hash, min(text) FROM passages p
           WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = p.text_hash AND e.model = ?)
           GROUP BY text_hash ORDER BY min(id)""",
        [MODEL_NAME],
    ).fetchall()
    if not todo:
        return 0
    batches = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if embedder is not None or workers <= 1 or len(batches) < 2 * workers:
        if embedder is None:
            from podtwin.search.embed import default_embedder

            embedder = default_embedder()
        name = embedder.name
        results = (_vectors(embedder, [t for _, t in b]) for b in batches)
        pool = None
    else:
        name = MODEL_NAME
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        results = pool.map(_embed_in_worker, [[t for _, t in b] for b in batches])
    done = 0
    try:
        for batch, vectors in zip(batches, results, strict=True):
            with library.atomic():
                db.executemany(
                    "INSERT OR REPLACE INTO embeddings (text_hash, model, vector) VALUES (?, ?, ?)",
                    ((h, name, v.tobytes()) for (h, _), v in zip(batch, vectors, strict=True)),
                )
            done += len(batch)
            if on_progress:
                on_progress(done, len(todo))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return done


def _vectors(embedder, texts: list[str]) -> np.ndarray:
    return embedder.embed(texts).astype(np.float16)


_worker_embedder = None


def _start_worker(parent: int) -> None:
    global _worker_embedder
    exit_with_parent(parent)
    _worker_embedder = Embedder(threads=1)


def exit_with_parent(parent: int | None = None) -> None:
    """In a pool's worker: stop when the process that started the pool is gone. A parent killed
    outright (SIGTERM, SIGKILL) cannot shut its pool down, and its workers would work on (or
    wait for ever) holding memory; once adopted by another process, a worker exits. parent:
    the pool's process id, passed by it (`initargs=(os.getpid(),)`): a worker that starts after
    its parent died would otherwise take its new parent for the pool's."""
    threading.Thread(target=_watch_parent, args=(parent or os.getppid(),), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    return _vectors(_worker_embedder, texts)

"""Ingest: files in, episodes out. formats -> text -> clean -> store, one transaction per run."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from podtwin.clean.metadata import EpisodeInfo, infer_episode_info
from podtwin.clean.segments import segments_of, tag_kinds
from podtwin.clean.sponsors import default_sponsor_tagger
from podtwin.errors import TranscriptError
from podtwin.formats import read_transcript
from podtwin.speakers.names import normalize_label
from podtwin.store.library import Library
from podtwin.store.shows import reconcile_shows
from podtwin.text.segmenter import segment_transcript


@dataclass
class SentenceRow:
    speaker: str | None
    kind: str
    start_char: int
    end_char: int
    start_s: float | None
    end_s: float | None
    restored: bool
    text: str


@dataclass
class ProcessedFile:
    """Everything ingest learned from one file, ready to store."""

    path: str
    content_hash: str
    format: str
    source: str
    metadata: dict
    info: EpisodeInfo
    sentences: list[SentenceRow]
    segments: list[tuple[str, int, int, int]]  # kind, first, last, words

    @property
    def words(self) -> int:
        return sum(len(s.text.split()) for s in self.sentences)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    episode_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def process_file(path: str | Path) -> ProcessedFile:
    """Read, segment, tag and describe one transcript file. Raises TranscriptError."""
    path = Path(path)
    transcript = read_transcript(path)
    sentences = segment_transcript(transcript)
    if not sentences:
        raise TranscriptError(path, "no sentences found")
    sponsor = default_sponsor_tagger().predict([s.text for s in sentences], [s.paragraph_start for s in sentences])
    kinds = tag_kinds(sentences, sponsor)
    info = infer_episode_info(transcript, sentences)
    rows = []
    for s, kind in zip(sentences, kinds):
        a, b = transcript.text.source_span(s.start, s.end)
        rows.append(SentenceRow(normalize_label(s.speaker), kind, a, b, s.start_s, s.end_s, s.restored, s.text))
    segments = [
        (seg.kind, seg.first, seg.last, sum(len(rows[i].text.split()) for i in range(seg.first, seg.last + 1)))
        for seg in segments_of(kinds)
    ]
    return ProcessedFile(
        path=str(path.resolve()),
        content_hash=content_hash(transcript.source.encode("utf-8")),
        format=transcript.format,
        source=transcript.source,
        metadata={k: v for k, v in transcript.metadata.items()},
        info=info,
        sentences=rows,
        segments=segments,
    )


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files under the given paths (folders recursively, hidden files skipped), and failures."""
    files: list[Path] = []
    failures: list[tuple[str, str]] = []
    seen_files: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            failures.append((str(path), "no such file or directory"))
        elif path.is_dir():
            _walk(path, files, failures, set())
        else:
            files.append(path)
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen_files:
            seen_files.add(key)
            unique.append(f)
    return unique, failures


def _walk(folder: Path, files: list[Path], failures: list[tuple[str, str]], visiting: set[tuple[int, int]]) -> None:
    try:
        st = folder.stat()
    except OSError as e:
        failures.append((str(folder), e.strerror or str(e)))
        return
    key = (st.st_dev, st.st_ino)
    if key in visiting:
        failures.append((str(folder), "directory loop (a link back to a folder already being read)"))
        return
    visiting = visiting | {key}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        failures.append((str(folder), e.strerror or str(e)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        child = Path(entry.path)
        try:
            if entry.is_dir():
                _walk(child, files, failures, visiting)
            elif entry.is_file():
                files.append(child)
            else:
                failures.append((str(child), "broken link or not a regular file"))
        except OSError as e:
            failures.append((str(child), e.strerror or str(e)))


def _safe_process(path: Path) -> ProcessedFile | tuple[str, str]:
    try:
        return process_file(path)
    except TranscriptError as e:
        return (str(path), e.reason)
    except RecursionError:
        return (str(path), "too deeply nested to read")


def ingest(
    library: Library,
    paths: Iterable[str | Path],
    *,
    workers: int | None = None,
    on_file: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest files and folders into the library as one transaction."""
    report = IngestReport()
    files, failures = collect_files(paths)
    report.failed.extend(failures)
    known = {row[0] for row in library.db.execute("SELECT content_hash FROM sources")}
    todo: list[Path] = []
    for f in files:
        try:
            digest = content_hash(f.read_bytes())
        except OSError as e:
            report.failed.append((str(f), e.strerror or str(e)))
            if on_file:
                on_file(str(f))
            continue
        if digest in known:
            report.skipped.append(str(f))
            if on_file:
                on_file(str(f))
        else:
            known.add(digest)
            todo.append(f)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with library.atomic() as db:
        for result in _process_all(todo, workers):
            if isinstance(result, tuple):
                report.failed.append(result)
                if on_file:
                    on_file(result[0])
                continue
            status, episode_id = _store(db, result, now)
            getattr(report, status).append(result.path)
            report.episode_ids.append(episode_id)
            if on_file:
                on_file(result.path)
        reconcile_shows(db)
    return report


def _process_all(files: list[Path], workers: int | None) -> Iterator[ProcessedFile | tuple[str, str]]:
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers <= 1 or len(files) < 4:
        for f in files:
            yield _safe_process(f)
        return
    # Each worker is one core's worth: BLAS threads inside workers would fight over the same cores.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_safe_process, files, chunksize=2)


def _store(db, pf: ProcessedFile, now: str) -> tuple[str, int]:
    """Insert one processed file; a changed file at a known path replaces its old version."""
    status = "added"
    old = db.execute("SELECT id, episode_id FROM sources WHERE path = ?", [pf.path]).fetchone()
    if old is not None:
        status = "updated"
        others = db.execute(
            "SELECT count(*) FROM sources WHERE episode_id = ? AND id != ?", [old["episode_id"], old["id"]]
        ).fetchone()[0]
        db.execute("DELETE FROM sentences WHERE source_id = ?", [old["id"]])
        db.execute("DELETE FROM sources WHERE id = ?", [old["id"]])
        if not others:
            db.execute("DELETE FROM episodes WHERE id = ?", [old["episode_id"]])
    info = pf.info
    episode_id = db.execute(
        """INSERT INTO episodes (spoken_show, number, title, host, guests, date, appearance, words,
                                 evidence, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            info.show,
            info.number,
            info.title,
            info.host,
            json.dumps(info.guests),
            info.date,
            info.appearance,
            pf.words,
            json.dumps(info.evidence),
            now,
            now,
        ],
    ).lastrowid
    source_id = db.execute(
        """INSERT INTO sources (episode_id, path, content_hash, format, chars, metadata, text, ingested_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [episode_id, pf.path, pf.content_hash, pf.format, len(pf.source), json.dumps(pf.metadata), pf.source, now],
    ).lastrowid
    db.executemany(
        """INSERT INTO sentences (episode_id, idx, source_id, speaker, kind, start_char, end_char,
                                  start_s, end_s, restored, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            (
                episode_id,
                i,
                source_id,
                s.speaker,
                s.kind,
                s.start_char,
                s.end_char,
                s.start_s,
                s.end_s,
                s.restored,
                s.text,
            )
            for i, s in enumerate(pf.sentences)
        ),
    )
    db.executemany(
        "INSERT INTO segments (episode_id, idx, kind, first_sentence, last_sentence, words) VALUES (?, ?, ?, ?, ?, ?)",
        ((episode_id, i, kind, first, last, words) for i, (kind, first, last, words) in enumerate(pf.segments)),
    )
    return status, episode_id

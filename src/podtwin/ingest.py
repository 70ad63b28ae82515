"""Ingest: files in, episodes out. formats -> text -> clean -> store, one transaction per run."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from podtwin.clean.merge import SAME_EPISODE, SourceSentence, containment, fingerprint, merge_sentences
from podtwin.clean.segments import segments_of, tag_kinds
from podtwin.clean.sponsors import default_sponsor_tagger
from podtwin.errors import TranscriptError
from podtwin.formats import parse_transcript, read_transcript
from podtwin.formats.base import Transcript
from podtwin.search.index import exit_with_parent, index_episode
from podtwin.speakers.metadata import EpisodeInfo, infer_episode_info
from podtwin.speakers.names import normalize_label
from podtwin.speakers.people import resolve_name
from podtwin.speakers.turns import TurnRow, attribute_sentences, runs
from podtwin.store.answer_corrections import relocate_corrections
from podtwin.store.episodes import (
    SentenceRow,
    add_episode,
    add_source,
    delete_episode,
    episode_has_sources,
    episode_sources,
    known_hashes,
    remove_source,
    shows_of,
    source_at,
    source_fingerprints,
    write_episode_rows,
)
from podtwin.store.library import Library
from podtwin.store.people import apply_corrections, rebuild_people
from podtwin.store.shows import name_hosts, reconcile_shows
from podtwin.store.speakers import reattribute_show
from podtwin.text.segmenter import segment_transcript


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
    turns: list[TurnRow]
    fingerprint: bytes  # of the conversation, to recognise other transcripts of this episode

    @property
    def words(self) -> int:
        return sum(len(s.text.split()) for s in self.sentences)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # joined an episode already there, as another source
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
    return process_transcript(read_transcript(path))


def process_transcript(transcript: Transcript) -> ProcessedFile:
    """Segment, tag and describe one transcript already read."""
    path = Path(transcript.path)
    sentences = segment_transcript(transcript)
    if not sentences:
        raise TranscriptError(path, "no sentences found")
    sponsor = default_sponsor_tagger().predict([s.text for s in sentences], [s.paragraph_start for s in sentences])
    kinds = tag_kinds(sentences, sponsor)
    info = infer_episode_info(transcript, sentences)
    labels = [normalize_label(s.speaker) for s in sentences]
    who = attribute_sentences([s.text for s in sentences], labels, kinds, info)
    turns = runs(who.roles, who.speakers, who.confidence, who.origin)
    rows = []
    for i, s in enumerate(sentences):
        a, b = transcript.text.source_span(s.start, s.end)
        rows.append(
            SentenceRow(
                who.speakers[i], who.roles[i], kinds[i], a, b, s.start_s, s.end_s, s.restored, s.text, who.confidence[i]
            )
        )
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
        turns=turns,
        fingerprint=fingerprint([r.text for r in rows if r.kind == "conversation"]),
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
    known = known_hashes(library.db)
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
        name_hosts(db)
        rebuild_people(db)
        if report.episode_ids:
            # the show's host, learnt from all of its unlabelled episodes, and the creator's corrections
            shows = shows_of(db, report.episode_ids)
            for show_id in sorted(shows, key=lambda x: (x is None, x or 0)):
                for moved in reattribute_show(db, show_id)[1]:
                    index_episode(db, moved)  # passages follow turns
            apply_corrections(db)
            relocate_corrections(db)  # the creator's pins and blocks follow their words
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
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=spawn, initializer=exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        yield from pool.map(_safe_process, files, chunksize=2)


def _store(db, pf: ProcessedFile, now: str) -> tuple[str, int]:
    """Insert one processed file. A changed file at a known path replaces its old version;
    a transcript of an episode already in the library joins that episode as another source."""
    status = "added"
    old = source_at(db, pf.path)
    if old is not None:
        status = "updated"
        old_source, old_episode = old
        remove_source(db, old_source)
        if episode_has_sources(db, old_episode):
            _write_episode(db, old_episode, now)  # its other sources remain: the episode without this one
        else:
            delete_episode(db, old_episode)
    episode_id = _same_episode(db, pf)
    if episode_id is not None and status == "added":
        status = "merged"
    if episode_id is None:
        episode_id = add_episode(db, now)
    source_id = add_source(
        db,
        episode_id,
        path=pf.path,
        content_hash=pf.content_hash,
        format=pf.format,
        text=pf.source,
        metadata=pf.metadata,
        fingerprint=pf.fingerprint,
        ingested_at=now,
    )
    _write_episode(db, episode_id, now, {source_id: pf})
    return status, episode_id


def _same_episode(db, pf: ProcessedFile) -> int | None:
    """The episode whose conversation this transcript repeats, if any. Two files that state
    different titles are different episodes, whatever they share."""
    best, episode_id = SAME_EPISODE, None
    stated = pf.info.title if pf.info.evidence.get("title") in _TRUSTED else None
    for other in source_fingerprints(db):
        score = containment(pf.fingerprint, other.fingerprint)
        if score < best:
            continue
        theirs = other.title if other.title_evidence in _TRUSTED else None
        if stated and theirs and stated != theirs:
            continue
        best, episode_id = score, other.episode_id
    return episode_id


def _write_episode(db, episode_id: int, now: str, known: dict[int, ProcessedFile] | None = None) -> None:
    """(Re)write an episode's metadata, sentences, turns and segments from all its sources."""
    known = known or {}
    sources = []
    for source_id, path, text in episode_sources(db, episode_id):
        pf = known.get(source_id) or process_transcript(parse_transcript(text, path))
        sources.append((source_id, pf))
    if len(sources) == 1:
        source_id, pf = sources[0]
        info, turns = pf.info, pf.turns
        rows = [(source_id, r) for r in pf.sentences]
    else:
        merged = merge_sentences(
            [
                [SourceSentence(k, i, r.text, r.kind, r.restored) for i, r in enumerate(pf.sentences)]
                for k, (_, pf) in enumerate(sources)
            ]
        )
        rows = [(sources[m.source][0], sources[m.source][1].sentences[m.index]) for m in merged]
        info = merge_info([pf.info for _, pf in sources])
        labelled = {sid for sid, pf in sources if any(t.origin == "label" for t in pf.turns)}
        who = attribute_sentences(
            [r.text for _, r in rows],
            [r.speaker if sid in labelled else None for sid, r in rows],
            [r.kind for _, r in rows],
            info,
        )
        turns = runs(who.roles, who.speakers, who.confidence, who.origin)
        for i in range(len(rows)):
            rows[i] = (
                rows[i][0],
                replace(rows[i][1], speaker=who.speakers[i], role=who.roles[i], confidence=who.confidence[i]),
            )
    kinds = [r.kind for _, r in rows]
    segments = [
        (seg.kind, seg.first, seg.last, sum(len(rows[i][1].text.split()) for i in range(seg.first, seg.last + 1)))
        for seg in segments_of(kinds)
    ]
    write_episode_rows(db, episode_id, info, rows, turns, segments, now)
    index_episode(db, episode_id)  # passages follow sentences


_TRUSTED = ("front matter", "header")


def merge_info(infos: list[EpisodeInfo]) -> EpisodeInfo:
    """The union of several transcripts' metadata: stated values over spoken ones."""
    ranked = sorted(infos, key=lambda i: -sum(v in _TRUSTED for v in i.evidence.values()))
    merged = EpisodeInfo()
    for field_name in ("show", "host", "title", "number", "date", "appearance"):
        for info in ranked:
            value = getattr(info, field_name)
            if value is not None:
                setattr(merged, field_name, value)
                if field_name in info.evidence:
                    merged.evidence[field_name] = info.evidence[field_name]
                break
    for info in ranked:
        for guest in info.guests:
            if not resolve_name(guest, merged.guests):
                merged.guests.append(guest)
        for mention in info.mentions:
            if mention not in merged.mentions:
                merged.mentions.append(mention)
    if merged.guests:
        merged.evidence.setdefault("guests", next(i.evidence.get("guests") for i in ranked if i.guests))
    return merged

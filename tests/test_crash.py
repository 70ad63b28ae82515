"""Crash safety of ingest: a real `podtwin ingest` of several files is killed with SIGKILL at random
moments, alone and while `podtwin serve` answers from the same library.

What is proved, after every kill:

- the library passes `PRAGMA integrity_check`, `PRAGMA foreign_key_check` and FTS5's integrity
  check of the passage index against the passages (opened with sqlite3, which recovers the WAL the
  killed writer left behind: that recovery is the point);
- every episode present is whole: its row, sources, sentences, turns, segments, passages and the
  people's aliases equal, count for count and row for row (by digest), those of a reference library
  built once, without kills, from the same files. Episodes are matched by the content hashes of
  their sources, so ids play no part;
- the run is all or nothing, as ingest promises (one transaction): the library holds none of the
  files' episodes or all of them, never some;
- passages may lack vectors: embedding is a later step of the command, committed apart from the
  episodes in batches (search/index.py; these files make fewer passages than one batch, so their
  vectors land at once). A kill there leaves whole episodes without vectors; the vectors present
  must be the reference's, and the next ingest, which skips every file it already holds, must
  embed the rest;
- a further ingest completes the library: it then equals the reference (episodes, people, shows,
  every passage embedded) and search finds passages by words and by vectors.

Kills accumulate on one library (kill, check, kill again, ...) until one lands in an ingest that
was resuming a killed one; then a new library is taken, so that kills keep landing in reading and
writing and not only in embedding. Twenty kills in all; at least fifteen must find the ingest still
running. With `serve` running (eight kills) every polled read is answered 200 (the only 4xx allowed
is search's 400 "the library is empty" before any episode has landed), never a 5xx, a timeout or a
refused connection, and readers too see all of the run's episodes or none.

The files are real transcripts cut short: two transcripts of one Lex Fridman episode (ingest merges
them into one episode, re-reading the first inside the transaction), two unlabelled Lex excerpts
(one without punctuation) and a labelled Lenny excerpt. One clean ingest of them takes 8 to 20 s
here, embedding most of it, depending on what else the two cores run; the kill moments are drawn
uniformly within that duration, so they land in start-up, reading, attribution, writing, the commit
and embedding in proportion to the time each takes, from a seeded random.Random (reproducible up
to the machine's speed). The crash test then takes about two minutes, three on busy cores.

The checks themselves are shown to fail on what a torn write would leave (test_inspect_*,
test_check_polls_*). The ingest's reader processes stop by themselves when it is killed
(test_reader_processes_exit_when_ingest_is_killed, a bug this harness found); the runs here
still sweep the killed ingest's process group after each kill, so no run waits on another's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import pytest

from podtwin.search.embed import MODEL_NAME
from podtwin.store.library import Library

SEED = 20240607
KILLS = 20
MIN_LANDED = 15  # kills that must find the ingest still running
SERVED_KILLS = 8
SERVED_MIN_LANDED = 6

# (file under the corpus, characters kept): 000 and 001 are two transcripts of one episode (merged
# into one, which makes ingest re-read the first inside the transaction); 002 and 004 have no speaker
# labels (004 no punctuation either); seth-godin is labelled markdown with front matter
EXCERPTS = (
    ("lex/000_5c1155f3c17581fc.txt", 14_000),
    ("lex/001_fdd1fed9d1321b34.txt", 14_000),
    ("lex/002_d23df86fad9ea286.txt", 3_000),
    ("lex/004_fd3018ea33a25e24.txt", 3_000),
    ("lenny/seth-godin.md", 4_000),
)
QUERY = "codec avatars"  # asked of the library: the merged episode's passages answer it


# --- running ingest ------------------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def podtwin(db: Path, *args: str, kill_after: float | None = None, timeout: float = 600) -> Run:
    """Run `python -m podtwin.cli --db DB ARGS...`; with kill_after, SIGKILL it that many seconds
    after its start unless it has finished by then."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtwin.cli", "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: reader processes it spawns are swept below
    )
    try:
        out, err = proc.communicate(timeout=timeout if kill_after is None else kill_after)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            raise
        os.kill(proc.pid, signal.SIGKILL)  # the crash: the process that writes the library dies at once
        proc.wait()
        # Its reader processes (a process pool) outlive it, blocked for good and holding its stdout
        # (see test_reader_processes_exit_when_ingest_is_killed); they never write the library.
        sweep(proc.pid)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # the test failed on the way
            proc.kill()
            proc.wait()
            sweep(proc.pid)
    return Run(proc.returncode, time.monotonic() - start, out, err)


def sweep(group: int) -> None:
    """SIGKILL what is left of a process group this module started."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ingest(db: Path, inbox: Path, *args: str, kill_after: float | None = None) -> Run:
    return podtwin(db, "ingest", "--json", *args, str(inbox), kill_after=kill_after)


# --- what a library holds ------------------------------------------------------------------------


def _digest(rows: list) -> str:
    return sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]


def _rows_of(db: sqlite3.Connection, episode_id: int) -> Callable[[str], list]:
    return lambda sql: db.execute(sql, [episode_id]).fetchall()


def episode_profiles(db: sqlite3.Connection) -> dict[tuple[str, ...], dict[str, object]]:
    """Each episode's contents, keyed by its sources' content hashes (ids and times left out)."""
    profiles: dict[tuple[str, ...], dict[str, object]] = {}
    for (episode_id,) in db.execute("SELECT id FROM episodes ORDER BY id").fetchall():
        rows = _rows_of(db, episode_id)
        key = tuple(sorted(h for (h,) in rows("SELECT content_hash FROM sources WHERE episode_id = ?")))
        assert key not in profiles, f"two episodes hold the same sources {key}"
        sentences = rows(
            """SELECT se.idx, so.content_hash, se.speaker, se.role, se.turn, se.kind, se.start_char, se.end_char,
                      se.start_s, se.end_s, se.restored, se.text, round(se.speaker_confidence, 6)
               FROM sentences se JOIN sources so ON so.id = se.source_id WHERE se.episode_id = ? ORDER BY se.idx"""
        )
        turns = rows(
            """SELECT idx, first_sentence, last_sentence, role, speaker, round(confidence, 6), origin
               FROM turns WHERE episode_id = ? ORDER BY idx"""
        )
        segments = rows(
            "SELECT idx, kind, first_sentence, last_sentence, words FROM segments WHERE episode_id = ? ORDER BY idx"
        )
        passages = rows(
            """SELECT idx, first_sentence, last_sentence, text_hash, context, terms IS NULL
               FROM passages WHERE episode_id = ? ORDER BY idx"""
        )
        profiles[key] = {
            "episode": tuple(
                rows(
                    """SELECT s.name, e.spoken_show, e.number, e.title, e.host, e.guests, e.date, e.appearance,
                              e.words, e.evidence, e.mentions
                       FROM episodes e LEFT JOIN shows s ON s.id = e.show_id WHERE e.id = ?"""
                )[0]
            ),
            "sources": [
                tuple(r) for r in rows("SELECT path, format, chars FROM sources WHERE episode_id = ? ORDER BY path")
            ],
            "sentences": (len(sentences), _digest(sentences)),
            "turns": (len(turns), _digest(turns)),
            "segments": (len(segments), _digest(segments)),
            "passages": (len(passages), _digest(passages)),
            "aliases": sorted(
                tuple(r)
                for r in rows(
                    """SELECT p.name, a.alias, a.origin FROM aliases a JOIN people p ON p.id = a.person_id
                       WHERE a.episode_id = ?"""
                )
            ),
        }
    return profiles


@dataclass
class Snapshot:
    episodes: dict[tuple[str, ...], dict[str, object]]
    people: list[str]
    shows: list[tuple]
    passages: set[str]  # text hashes
    embedded: set[str]  # text hashes with a vector of the current model


def snapshot(db: sqlite3.Connection) -> Snapshot:
    return Snapshot(
        episode_profiles(db),
        [r[0] for r in db.execute("SELECT name FROM people ORDER BY name")],
        [tuple(r) for r in db.execute("SELECT name, host FROM shows ORDER BY name")],
        {r[0] for r in db.execute("SELECT text_hash FROM passages")},
        {r[0] for r in db.execute("SELECT text_hash FROM embeddings WHERE model = ?", [MODEL_NAME])},
    )


@dataclass
class Reference:
    path: Path
    snapshot: Snapshot
    full: float  # seconds of one clean ingest into an empty library
    resume: float  # seconds of an ingest that finds every file in and only embeds


def inspect(path: Path, ref: Reference) -> str:
    """Check the library at path as a killed ingest may leave it; return its state: "absent" (no
    file yet), "empty" (no episode; perhaps not every migration), "unembedded" (every episode,
    whole, some passages without a vector) or "complete" (equal to the reference)."""
    if not path.exists():
        return "absent"
    db = sqlite3.connect(path, timeout=60, isolation_level=None)  # recovers the WAL of a killed writer
    try:
        problems = db.execute("PRAGMA integrity_check").fetchall()
        assert problems == [("ok",)], f"integrity_check: {problems[:5]}"
        orphans = db.execute("PRAGMA foreign_key_check").fetchall()
        assert not orphans, f"rows whose parent row is gone (table, rowid, parent, fk): {orphans[:5]}"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "passages_fts" in tables:
            # FTS5 checks its index and (rank 1) compares it with the passages table; raises if they differ
            db.execute("INSERT INTO passages_fts (passages_fts, rank) VALUES ('integrity-check', 1)")
        written = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("episodes", "sources", "sentences", "turns", "segments", "passages", "people", "embeddings")
            if t in tables
        }
        if not written.get("episodes"):
            assert not any(written.values()), f"rows without an episode: {written}"
            return "empty"
        got = snapshot(db)
    finally:
        db.close()
    want = ref.snapshot
    for key, profile in got.episodes.items():
        assert key in want.episodes, f"an episode of sources {key} that the reference does not have"
        assert profile == want.episodes[key], f"episode of sources {key} is not whole"
    assert set(got.episodes) == set(want.episodes), "the run's episodes landed in part: it is one transaction"
    assert (got.people, got.shows, got.passages) == (want.people, want.shows, want.passages)
    assert got.embedded <= want.passages, "vectors for passages that are not the reference's"
    return "complete" if got.embedded == want.embedded else "unembedded"


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, corpus) -> Path:
    """The excerpts, each cut at a word boundary."""
    folder = tmp_path_factory.mktemp("inbox")
    for name, chars in EXCERPTS:
        text = (corpus / name).read_text(encoding="utf-8")
        cut = text.rfind(" ", 0, chars) if len(text) > chars else len(text)
        (folder / Path(name).name).write_text(text[:cut].rstrip() + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, inbox) -> Reference:
    """The library a clean ingest makes of the excerpts, and how long each step takes. Built in two
    runs, to time them: the episodes (--no-embed), then an ingest that skips every file and embeds.
    A third run, which finds nothing to do, times what every run spends starting up."""
    path = tmp_path_factory.mktemp("reference") / "reference.db"
    write = ingest(path, inbox, "--no-embed")
    assert write.returncode == 0, write.stderr
    written = json.loads(write.stdout)
    assert len(written["added"]) == len(EXCERPTS) - 1 and len(written["merged"]) == 1, written
    embed = ingest(path, inbox)
    assert embed.returncode == 0, embed.stderr
    assert json.loads(embed.stdout)["embedded"] > 0
    idle = ingest(path, inbox)
    assert idle.returncode == 0, idle.stderr
    again = json.loads(idle.stdout)
    assert (again["added"], again["merged"], len(again["skipped"]), again["embedded"]) == ([], [], len(EXCERPTS), 0)
    with Library(path) as library:
        ref = snapshot(library.db)
    assert len(ref.episodes) == len(EXCERPTS) - 1 and ref.embedded == ref.passages
    reference = Reference(path, ref, full=write.seconds + embed.seconds - idle.seconds, resume=embed.seconds)
    assert inspect(path, reference) == "complete"  # the checks below hold of a clean library
    return reference


# --- kills -----------------------------------------------------------------------------------------


@dataclass
class Kill:
    chain: int  # libraries are numbered; kills on one library accumulate
    before: str  # the library's state when the ingest started
    delay: float  # seconds from start to SIGKILL
    landed: bool  # False: the ingest had finished already
    after: str


def kill_rounds(
    n: int,
    rng: random.Random,
    ref: Reference,
    inbox: Path,
    fresh: Callable[[], Path],
    running: threading.Event | None = None,
) -> tuple[Path, list[Kill]]:
    """n ingests into libraries from fresh(), each SIGKILLed at a moment drawn uniformly within the
    duration of a clean ingest from the library's state (timed with the reference, timed again whenever
    an ingest finishes before its kill: the cores are shared, their speed changes), each followed by
    `inspect`. Kills accumulate on one library until one has landed in an ingest that was resuming (or
    the library is complete); then a fresh library is taken, so that kills keep landing in reading and
    writing, not only in embedding. Returns the last library (as its last kill left it) and the kills."""
    db, chain, kills = fresh(), 0, []
    state = inspect(db, ref)
    durations = {"full": ref.full, "resume": ref.resume}
    for i in range(n):
        before = state
        kind = "resume" if before == "unembedded" else "full"
        delay = rng.uniform(0, durations[kind])
        if running:
            running.set()
        run = ingest(db, inbox, kill_after=delay)
        if running:
            running.clear()
        state = after = inspect(db, ref)
        if not run.killed:
            assert run.returncode == 0, run.stderr
            assert after == "complete", f"an ingest that finished left the library {after}"
            durations[kind] = run.seconds
        elif before == "unembedded":
            assert after in ("unembedded", "complete")
        kills.append(Kill(chain, before, delay, run.killed, after))
        if i < n - 1 and (after == "complete" or before == "unembedded"):
            db, chain = fresh(), chain + 1
            state = inspect(db, ref)
    return db, kills


def summary(kills: list[Kill]) -> str:
    return "\n".join(
        f"chain {k.chain}: {k.before:>10} -> kill at {k.delay:5.1f} s -> {k.after}"
        + ("" if k.landed else " (finished)")
        for k in kills
    )


def complete(db: Path, inbox: Path, ref: Reference) -> None:
    """Ingest to the end: the library then equals the reference."""
    run = ingest(db, inbox)
    assert run.returncode == 0, run.stderr
    assert inspect(db, ref) == "complete"


def test_sigkill_during_ingest_leaves_whole_episodes_and_the_next_ingest_completes(tmp_path, inbox, reference):
    """20 SIGKILLs of `podtwin ingest`; after each the library is sound, its episodes whole and the
    run all or nothing; a last ingest completes the library, and search works on it."""
    counter = iter(range(KILLS))
    db, kills = kill_rounds(
        KILLS, random.Random(SEED), reference, inbox, lambda: tmp_path / f"library-{next(counter)}.db"
    )
    report = summary(kills) + f"\nclean ingest {reference.full:.1f} s, resume {reference.resume:.1f} s"
    print(report)
    assert len(kills) == KILLS
    assert sum(k.landed for k in kills) >= MIN_LANDED, report
    # the kills landed on each side of the commit, and in an ingest resuming a killed one
    assert any(k.landed and k.before in ("absent", "empty") and k.after in ("absent", "empty") for k in kills), report
    assert any(k.landed and k.before in ("absent", "empty") and k.after == "unembedded" for k in kills), report
    assert any(k.landed and k.before == "unembedded" for k in kills), report

    complete(db, inbox, reference)
    found = podtwin(db, "search", QUERY, "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)
    assert results and "Zuckerberg" in results[0]["title"]
    assert any(r["dense_rank"] is not None for r in results), "search found nothing by vector"


# --- serving while ingesting ---------------------------------------------------------------------


@dataclass
class Poll:
    path: str
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    body: object
    during_ingest: bool


POLLED = (
    "/api/episodes",
    "/api/people",
    "/api/search?q=codec+avatars",
    "/api/search?q=what+is+a+codec&mode=lexical",
    "/api/search?q=strategy+and+tension&mode=dense",
)


def _get(url: str) -> tuple[int | None, object]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, ValueError) as e:  # refused, reset, timed out, not JSON
        return None, repr(e)


@dataclass
class Served:
    """`podtwin serve` over one library on a free loopback port, polled by a thread until stopped."""

    db: Path
    running: threading.Event
    polls: list[Poll] = field(default_factory=list)

    def __post_init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = self.db.with_suffix(".serve.log")
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "podtwin.cli", "--db", str(self.db), "serve", "--port", str(port)]
                + ["--rate-limit", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        try:
            while _get(self.url + "/api/episodes")[0] != 200:  # refused until it listens: fine until then
                assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.2)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        paths = list(POLLED)
        while not self.stopping.is_set():
            for path in paths:
                during = self.running.is_set()
                status, body = _get(self.url + path)
                self.polls.append(Poll(path, status, body, during and self.running.is_set()))
                if path == "/api/episodes" and status == 200 and body and len(paths) == len(POLLED):
                    paths.append(f"/api/episodes/{body[0]['id']}?transcript=true")  # a whole episode, read
                time.sleep(0.05)

    def stop(self) -> list[Poll]:
        self.stopping.set()
        self.thread.join(120)
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.polls


def check_polls(polls: list[Poll], episodes: int) -> None:
    """Every answer a 200 (search: a 400 saying the library is empty, until episodes land); readers
    see none of the run's episodes or all of them."""
    landed = False  # the polls are sequential: after a non-empty episode list, search must answer
    for p in polls:
        assert p.status is not None, f"{p.path}: no answer ({p.body})"
        if p.path.startswith("/api/search") and p.status == 400 and not landed:
            assert "the library is empty" in str(p.body), p.body
            continue
        assert p.status == 200, f"{p.path}: {p.status} {p.body}"
        if p.path == "/api/episodes":
            assert len(p.body) in (0, episodes), f"readers saw {len(p.body)} of the run's {episodes} episodes"
            landed = landed or bool(p.body)


def test_sigkill_during_ingest_while_serving(tmp_path, inbox, reference):
    """8 SIGKILLs of `podtwin ingest` (fewer than the crash test's 20, for time: each library
    needs a server of its own) while `podtwin serve` answers from the same library: the same checks
    after each kill, and every polled read answered cleanly throughout."""
    running = threading.Event()
    servers: list[Served] = []

    def fresh() -> Path:
        if servers:
            servers[-1].stop()
        db = tmp_path / f"served-{len(servers)}.db"
        Library(db).close()  # serve needs a library: an empty one
        servers.append(Served(db, running))
        return db

    try:
        db, kills = kill_rounds(SERVED_KILLS, random.Random(SEED + 1), reference, inbox, fresh, running)
        report = summary(kills)
        print(report)
        assert sum(k.landed for k in kills) >= SERVED_MIN_LANDED, report
        running.set()
        complete(db, inbox, reference)
        running.clear()
        server = servers[-1]
        status, found = _get(server.url + "/api/search?q=codec+avatars")
        assert status == 200 and found["hits"] and "Zuckerberg" in found["hits"][0]["title"], found
        assert not found["notes"] and any(h["dense_rank"] is not None for h in found["hits"]), found
        time.sleep(1)  # a few more polls of the complete library
    finally:
        for server in servers:
            server.stop()
    episodes = len(reference.snapshot.episodes)
    for server in servers:
        check_polls(server.polls, episodes)
        log = server.log.read_text()
        assert "Traceback" not in log, log
    polls = [p for s in servers for p in s.polls]
    statuses = sorted({(p.path.split("?")[0], p.status) for p in polls}, key=str)
    print(f"{len(polls)} reads, {sum(p.during_ingest for p in polls)} during an ingest; answers {statuses}")
    assert sum(p.during_ingest for p in polls) >= 4 * SERVED_KILLS, "too few reads while ingest was running"
    seen = {len(p.body) for p in polls if p.path == "/api/episodes"}
    assert seen == {0, episodes}, "the readers did not see the episodes land"
    assert any(p.path.startswith("/api/episodes/") for p in polls), "no whole episode was read"


# --- the checks fail on what a torn write would leave ---------------------------------------------

DAMAGE = {
    "an episode without its turns": "DELETE FROM turns WHERE episode_id = (SELECT min(id) FROM episodes)",
    "an episode short of a sentence": "DELETE FROM sentences WHERE id = (SELECT max(id) FROM sentences)",
    "an episode without passages": "DELETE FROM passages WHERE episode_id = (SELECT max(id) FROM episodes)",
    "an episode's words miscounted": "UPDATE episodes SET words = words + 1 WHERE id = (SELECT min(id) FROM episodes)",
    # with all its rows (ON DELETE CASCADE): the other episodes are whole, the run is not
    "one of the run's episodes missing": "PRAGMA foreign_keys = ON; DELETE FROM episodes WHERE id = 1",
    "rows whose episode is gone": "DELETE FROM episodes",  # foreign keys are off by default
    "the search index out of step": "INSERT INTO passages_fts (passages_fts) VALUES ('delete-all')",
    "a vector of no passage": "INSERT INTO embeddings SELECT 'x' || text_hash, model, vector FROM embeddings LIMIT 1",
}


def damaged_copy(ref: Reference, path: Path, sql: str | None) -> Path:
    source, target = sqlite3.connect(ref.path), sqlite3.connect(path, isolation_level=None)
    source.backup(target)
    source.close()
    if sql:
        target.executescript(sql)
    target.close()
    return path


@pytest.mark.parametrize("damage", DAMAGE)
def test_inspect_fails_on_a_partial_library(tmp_path, reference, damage):
    with pytest.raises((AssertionError, sqlite3.DatabaseError)):
        inspect(damaged_copy(reference, tmp_path / "damaged.db", DAMAGE[damage]), reference)


def test_inspect_tells_missing_vectors_from_a_complete_library(tmp_path, reference):
    assert inspect(damaged_copy(reference, tmp_path / "copy.db", None), reference) == "complete"
    missing = "DELETE FROM embeddings WHERE rowid IN (SELECT rowid FROM embeddings LIMIT 5)"
    assert inspect(damaged_copy(reference, tmp_path / "unembedded.db", missing), reference) == "unembedded"


BAD_POLLS = {
    "a server error": [Poll("/api/people", 500, "Internal Server Error", True)],
    "no answer": [Poll("/api/episodes", None, "ConnectionRefusedError(111)", True)],
    "some of the episodes": [Poll("/api/episodes", 200, [{"id": 1}], True)],
    "search refused after episodes landed": [
        Poll("/api/episodes", 200, [{"id": i} for i in range(4)], True),
        Poll("/api/search?q=x", 400, '{"error": "the library is empty: run `podtwin ingest PATH` first"}', True),
    ],
    "search refused for another reason": [Poll("/api/search?q=x", 400, '{"error": "bad query"}', False)],
}


@pytest.mark.parametrize("case", BAD_POLLS)
def test_check_polls_fails_on_an_unclean_answer(case):
    with pytest.raises(AssertionError):
        check_polls(BAD_POLLS[case], 4)


def test_check_polls_passes_search_refused_before_episodes_land():
    empty = '{"error": "the library is empty: run `podtwin ingest PATH` first"}'
    check_polls(
        [
            Poll("/api/episodes", 200, [], True),
            Poll("/api/search?q=x", 400, empty, True),
            Poll("/api/episodes", 200, [{"id": i} for i in range(4)], True),
            Poll("/api/search?q=x", 200, {"hits": []}, False),
        ],
        4,
    )


# --- what a killed ingest leaves running ---------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state, parent, group, ...); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def test_reader_processes_exit_when_ingest_is_killed(tmp_path, inbox):
    """An ingest of 4 or more files reads them in a pool of processes. SIGKILLed while they read,
    the ingest cannot shut the pool down: its readers must then stop by themselves, as the
    embedding workers do, rather than wait for ever holding memory (and the ingest's stdout)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "podtwin.cli", "--db", str(tmp_path / "lib.db"), "ingest", "--json", str(inbox)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120

        def busy_readers() -> list[int]:
            """Pool processes that have run for a fifth of a second: started, importing or reading."""
            tick = os.sysconf("SC_CLK_TCK")
            return [
                p
                for p in _group(proc.pid)
                if "spawn_main" in _cmdline(p) and (f := _stat(p)) and int(f[11]) + int(f[12]) >= tick // 5
            ]

        while len(busy_readers()) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the readers did not start")  # a failure, not the expected one
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10  # embedding workers notice within half a second
        while time.monotonic() < deadline and _group(proc.pid):
            time.sleep(0.2)
        left = {p: (_stat(p) or ["?"] * 22)[21] for p in _group(proc.pid)}
        assert not left, f"processes of the killed ingest still there after 10 s (pid: resident pages): {left}"
    finally:
        sweep(proc.pid)

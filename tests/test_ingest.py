"""Ingest behaviour: bad input is reported and skipped, re-ingest changes nothing,
an interrupted ingest (kill -9) leaves the library exactly as it was."""

import os
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.ingest import ingest
from podtwin.store.library import Library

GOOD = (
    "The following is a conversation with Ada Lovelace. This is the Engine Room podcast. "
    "And now, dear friends, here's Ada Lovelace. So what is an engine? An engine is a machine "
    "that weaves algebraic patterns. Why does that matter? Because numbers can stand for anything. "
    "Thanks for listening to this conversation with Ada Lovelace."
)


OTHER = (
    "The following is a conversation with Grace Hopper. This is the Engine Room podcast. "
    "And now, dear friends, here's Grace Hopper. Why do ships stay in port? Because it is safe there, "
    "but that is not what ships are built for. What is a nanosecond? A piece of wire about a foot long. "
    "Thanks for listening to this conversation with Grace Hopper."
)


def dump(path) -> list[str]:
    """The library's contents, less the index generation counter (it counts writes, and a
    re-ingest rewrites the people registry with the same rows)."""
    with Library(path) as library:
        return [line for line in library.db.iterdump() if '"index_generation"' not in line]


def make_folder(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.txt").write_text(GOOD)
    (folder / "nested" / "also-good.txt").write_text(OTHER)
    (folder / "zero.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("   \n\n ")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "latin1.txt").write_bytes("un caf\u00e9 tr\u00e8s cher".encode("latin-1"))
    (folder / "numbers.txt").write_text("12 34 56 -- 78 ... 90")
    os.symlink(folder, folder / "nested" / "loop")
    return folder


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path):
    folder = make_folder(tmp_path)
    with Library(tmp_path / "lib.db") as library:
        report = ingest(library, [folder, tmp_path / "missing.txt"], workers=1)
        episodes = library.episodes()
    assert sorted(os.path.basename(p) for p in report.added) == ["also-good.txt", "good.txt"]
    reasons = {os.path.basename(p): r for p, r in report.failed}
    assert "empty" in reasons["zero.txt"] and "0 bytes" in reasons["zero.txt"]
    assert "empty" in reasons["blank.txt"]
    assert "binary" in reasons["image.png"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "not a transcript" in reasons["numbers.txt"]
    assert "directory loop" in reasons["loop"]
    assert "no such file" in reasons["missing.txt"]
    assert sorted(g for e in episodes for g in e["guests"]) == ["Ada Lovelace", "Grace Hopper"]


def test_cli_reports_failures_with_paths_and_exits_nonzero(tmp_path):
    folder = make_folder(tmp_path)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "cli.db"), "ingest", "--workers", "1", str(folder)])
    assert result.exit_code == 1
    assert str(folder / "zero.txt") in result.output
    assert "episodes added 2" in result.output and "failed 6" in result.output


def test_reingest_changes_nothing_and_a_changed_file_updates(tmp_path):
    path = tmp_path / "ep.txt"
    path.write_text(GOOD)
    db = tmp_path / "lib.db"
    with Library(db) as library:
        assert len(ingest(library, [path]).added) == 1
    before = dump(db)
    with Library(db) as library:
        report = ingest(library, [path])
    assert report.skipped == [str(path)] and not report.added and not report.updated
    assert dump(db) == before
    path.write_text(GOOD + " One more sentence at the very end.")
    with Library(db) as library:
        report = ingest(library, [path])
        assert len(report.updated) == 1
        assert len(library.episodes()) == 1


def test_kill_9_during_ingest_leaves_library_as_before(tmp_path, corpus):
    db = tmp_path / "lib.db"
    seed = tmp_path / "seed.txt"
    seed.write_text(GOOD)
    with Library(db) as library:
        ingest(library, [seed])
    before = dump(db)
    for delay in (0.5, 2.5, 6.0):
        proc = subprocess.Popen(
            # the whole corpus takes ~15 s here, so every kill lands mid-ingest
            [sys.executable, "-m", "podtwin.cli", "--db", str(db), "ingest", "--json", str(corpus)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        assert proc.poll() is None, "ingest finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert dump(db) == before

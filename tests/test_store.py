import sqlite3

import pytest

from podtwin.errors import EpisodeNotFound, LibraryError
from podtwin.store.library import Library, resolve_episode
from podtwin.store.migrations import MIGRATIONS


def test_blank_file_gets_every_migration(tmp_path):
    path = tmp_path / "new.db"
    with Library(path) as library:
        done = [r[0] for r in library.db.execute("SELECT name FROM _migrations ORDER BY rowid")]
        tables = {r[0] for r in library.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert done == [name for name, _ in MIGRATIONS]
    assert {"episodes", "sources", "sentences", "segments", "shows"} <= tables


def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "lib.db"
    Library(path).close()
    with Library(path) as library:
        assert library.db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_library_from_a_newer_podtwin_is_refused(tmp_path):
    path = tmp_path / "lib.db"
    Library(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO _migrations VALUES ('m999_future', 'now')")
    db.commit()
    db.close()
    with pytest.raises(LibraryError, match="newer podtwin"):
        Library(path)


def test_not_a_library(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="not a podtwin library"):
        Library(path)
    with pytest.raises(LibraryError, match="run `podtwin ingest"):
        Library(tmp_path / "missing.db", create=False)
    with pytest.raises(LibraryError, match="does not exist"):
        Library(tmp_path / "no-such-folder" / "lib.db")


def test_atomic_rolls_back_everything_on_error(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        with pytest.raises(RuntimeError):
            with library.atomic() as db:
                db.execute("INSERT INTO shows (name) VALUES ('a')")
                with library.atomic():
                    db.execute("INSERT INTO shows (name) VALUES ('b')")
                raise RuntimeError("boom")
        assert library.db.execute("SELECT count(*) FROM shows").fetchone()[0] == 0


def test_nested_atomic_failure_keeps_outer_work(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        with library.atomic() as db:
            db.execute("INSERT INTO shows (name) VALUES ('kept')")
            with pytest.raises(RuntimeError):
                with library.atomic():
                    db.execute("INSERT INTO shows (name) VALUES ('dropped')")
                    raise RuntimeError
        names = [r[0] for r in library.db.execute("SELECT name FROM shows")]
    assert names == ["kept"]


def _episode(db, title, number=None, guests="[]"):
    return db.execute(
        "INSERT INTO episodes (title, number, guests, created_at, updated_at) VALUES (?, ?, ?, 'now', 'now')",
        [title, number, guests],
    ).lastrowid


def test_resolve_episode_by_id_number_title_and_guest(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        with library.atomic() as db:
            a = _episode(db, "Engines and poetry", 398, '["Ada Lovelace"]')
            b = _episode(db, "Ships in port", 7, '["Grace Hopper"]')
        assert resolve_episode(library, str(a)) == a
        assert resolve_episode(library, "#398") == a
        assert resolve_episode(library, "398") == a
        assert resolve_episode(library, "poetry") == a
        assert resolve_episode(library, "grace") == b
        with pytest.raises(EpisodeNotFound, match="matches 2 episodes"):
            resolve_episode(library, "e")
        with pytest.raises(EpisodeNotFound, match="no episode"):
            resolve_episode(library, "nobody")


def test_index_generation_moves_with_indexed_data_only_and_across_connections(tmp_path):
    from podtwin.search.query import library_generation

    path = tmp_path / "g.db"
    with Library(path) as a, Library(path) as b:
        start = library_generation(a.db)
        a.db.execute(
            "INSERT INTO questions (person, question, reply, channel, asked_at) VALUES ('P', 'q', '{}', 'api', 'now')"
        )
        a.db.execute("INSERT INTO api_keys (name, digest, created_at) VALUES ('k', 'd', 'now')")
        assert library_generation(a.db) == start  # logging questions must not reload search indexes
        b.db.execute("INSERT INTO people (name) VALUES ('Someone')")
        assert library_generation(a.db) == start + 1  # seen by the other connection


def test_episode_rows_round_trip_in_the_callers_transaction(tmp_path):
    from podtwin.store.episodes import (
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
    )

    with Library(tmp_path / "lib.db") as library:
        with library.atomic() as db:
            episode = add_episode(db, "2024-01-01T00:00:00+00:00")
            source = add_source(
                db,
                episode,
                path="/t/a.txt",
                content_hash="abc",
                format="text",
                text="Hello there.",
                metadata={"k": "v"},
                fingerprint=b"\x01\x02",
                ingested_at="2024-01-01T00:00:00+00:00",
            )
            assert source_at(db, "/t/a.txt") == (source, episode)
            assert source_at(db, "/t/missing.txt") is None
            assert known_hashes(db) == {"abc"}
            assert shows_of(db, [episode]) == {None}
            assert shows_of(db, []) == set()
            assert episode_sources(db, episode) == [(source, "/t/a.txt", "Hello there.")]
            assert [tuple(f) for f in source_fingerprints(db)] == [(episode, b"\x01\x02", None, None)]
            assert episode_has_sources(db, episode)
            remove_source(db, source)
            assert not episode_has_sources(db, episode)
            delete_episode(db, episode)
            assert library.db.in_transaction  # nothing committed on its own
        assert library.db.execute("SELECT count(*) FROM episodes").fetchone()[0] == 0


def test_persona_row_round_trip(tmp_path):
    from podtwin.store.personas import persona_row, write_persona

    with Library(tmp_path / "lib.db") as library:
        with library.atomic() as db:
            assert persona_row(db, "Ada Lovelace") is None
            write_persona(
                db,
                "Ada Lovelace",
                disclosure=None,
                off_limits=["engines"],
                decline="No.",
                style="verbatim",
                max_words=50,
                episodes=None,
                updated_at="2024-01-01T00:00:00+00:00",
            )
            write_persona(
                db,
                "Ada Lovelace",
                disclosure="Hi.",
                off_limits=["engines", "poetry"],
                decline=None,
                style="conversational",
                max_words=80,
                episodes="1,2",
                updated_at="2024-01-02T00:00:00+00:00",
            )
            assert persona_row(db, "Ada Lovelace") == ("Hi.", ["engines", "poetry"], None, "conversational", 80, "1,2")

"""`podtwin tune`: the library's query adapter, learnt from its own questions and answers."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.errors import TuneError
from podtwin.ingest import ingest
from podtwin.search.index import embed_missing
from podtwin.search.query import Filters, search, search_index
from podtwin.search.tune import MIN_PAIRS, adapter_for, library_pairs, tune
from podtwin.store.library import Library

FILES = 6


@pytest.fixture(scope="module")
def lenny_small(tmp_path_factory, corpus):
    """A few labelled lenny episodes, embedded: sure speakers, a few hundred questions."""
    folder = tmp_path_factory.mktemp("lenny-small")
    for f in sorted((corpus / "lenny").glob("*.md"))[:FILES]:
        shutil.copy(f, folder)
    path = tmp_path_factory.mktemp("lenny-small-db") / "lenny.db"
    with Library(path) as library:
        assert ingest(library, [folder]).ok
        embed_missing(library)
    return path


def _copy(src, tmp_path):
    db = tmp_path / "library.db"
    shutil.copy(src, db)
    return db


def test_pairs_are_the_hosts_questions_and_the_start_of_the_guests_answers(lenny_small, tmp_path):
    with Library(_copy(lenny_small, tmp_path)) as library:
        pairs = library_pairs(library)
        n = len(pairs.questions)
        assert n >= MIN_PAIRS
        assert all(q.rstrip().endswith("?") for q in pairs.questions)
        # each answer passage is spoken by a guest, in the episode of its question
        ids = library.db.execute("SELECT id FROM passages p ORDER BY id").fetchall()
        assert len(pairs.vectors) <= len(ids)
        assert np.allclose(np.linalg.norm(pairs.vectors[pairs.positive], axis=1), 1.0, atol=2e-2)
        # unsure speakers give no pairs: a pair the wrong way round would teach the wrong thing
        with library.atomic():
            library.db.execute("UPDATE sentences SET speaker_confidence = 0.5")
        assert len(library_pairs(library).questions) == 0


def test_tune_learns_an_adapter_that_search_then_uses(lenny_small, tmp_path):
    db = _copy(lenny_small, tmp_path)
    with Library(db) as library:
        assert adapter_for(library.db) is None
        result = tune(library, epochs=8)
        assert result.pairs == result.train_pairs + result.held_out_pairs >= MIN_PAIRS
        assert 0.0 <= result.recall_before <= 1.0 and result.recall_after >= result.recall_before
        if result.kept:
            W = adapter_for(library.db)
            assert W is not None and W.shape == (384, 384) and not np.allclose(W, np.eye(384))
            assert search_index(library).adapter is not None  # the index reloaded with it
        else:
            assert adapter_for(library.db) is None
        assert library.db.execute("SELECT count(*) FROM retriever_tuning").fetchone()[0] == 0
        hits = search(library, "how do you hire a great product manager?", Filters(), mode="dense").hits
        assert hits


def test_an_interrupted_tune_leaves_the_library_as_it_was_and_resumes(lenny_small, tmp_path):
    db = _copy(lenny_small, tmp_path)
    with Library(db) as library:
        partial = tune(library, epochs=6, stop_after=2)
        assert not partial.kept and partial.epochs == 2
        assert adapter_for(library.db) is None  # the library searches as before
        assert library.db.execute("SELECT epoch FROM retriever_tuning").fetchone()[0] == 2
        done = tune(library, epochs=6)
        assert done.resumed_from == 2 and done.epochs == 6
        assert library.db.execute("SELECT count(*) FROM retriever_tuning").fetchone()[0] == 0


def test_a_library_without_sure_answers_has_nothing_to_tune_on(corpus, tmp_path):
    db = tmp_path / "one.db"
    with Library(db) as library:
        ingest(library, [sorted((corpus / "lenny").glob("*.md"))[0]])
        embed_missing(library)
        with library.atomic():
            library.db.execute("UPDATE sentences SET speaker_confidence = 0.2")
        with pytest.raises(TuneError, match=f"nothing to tune on.*0 sure.*at least {MIN_PAIRS}"):
            tune(library)
    result = CliRunner().invoke(app, ["--db", str(db), "tune"])
    assert result.exit_code != 0 and "nothing to tune on" in result.output and "Traceback" not in result.output


def test_the_tune_command_reports_the_held_out_gain(lenny_small, tmp_path):
    db = _copy(lenny_small, tmp_path)
    result = CliRunner().invoke(app, ["--db", str(db), "tune", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert "held-out recall@5" in result.output and "pairs" in result.output

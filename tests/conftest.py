from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from podtwin.corpus import corpus_dir
from podtwin.ingest import ingest
from podtwin.search.index import embed_missing
from podtwin.store.library import Library

# CI replays the same examples every run (a red CI must be reproducible);
# HYPOTHESIS_PROFILE=explore searches new ones while developing.
settings.register_profile("replay", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "replay"))

# A cache of our own, so every run exports the embedding model to ONNX afresh (and tests
# that path) instead of using one a developer's machine already holds.
os.environ["PODTWIN_CACHE"] = tempfile.mkdtemp(prefix="podtwin-test-cache-")
atexit.register(shutil.rmtree, os.environ["PODTWIN_CACHE"], ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_library(tmp_path, monkeypatch):
    """Every test gets its own library path; nothing touches ./podtwin.db."""
    monkeypatch.setenv("PODTWIN_DB", str(tmp_path / "library.db"))
    return tmp_path / "library.db"


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_dir()
    assert (root / "lex").is_dir() and (root / "lenny").is_dir(), (
        f"the shared corpus is not at {root}: set PODTWIN_CORPUS"
    )
    return root


@pytest.fixture(scope="session")
def lex_library(tmp_path_factory, corpus) -> Path:
    """A library holding the five real lex transcripts, indexed for search (built once per test run)."""
    path = tmp_path_factory.mktemp("lex") / "lex.db"
    with Library(path) as library:
        report = ingest(library, [corpus / "lex"])
        assert report.ok, report.failed
        embed_missing(library)
    return path

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


class LiveServer:
    """The web app and API served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, db: Path, key: str) -> None:
        import socket
        import threading
        import time

        import uvicorn

        from podtwin.api.service import Service
        from podtwin.server import create_app

        self.db, self.key = db, key
        self.service = Service(db)
        self.service.warm()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(self.service), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.service.close()


@pytest.fixture(scope="session")
def lex_copy(tmp_path_factory, lex_library):
    """make(name) -> (path, API key): a copy of the lex library of its own, for tests that write
    (questions logged, personas, uploads). SQLite's backup, so the copy holds what the WAL holds."""
    from podtwin.store.keys import create_key

    def make(name: str) -> tuple[Path, str]:
        db = tmp_path_factory.mktemp(name) / f"{name}.db"
        with Library(lex_library) as source, Library(db) as target:
            source.db.backup(target.db)
            key = create_key(target.db, "tests")
        return db, key

    return make


@pytest.fixture(scope="session")
def live_server(lex_copy):
    """A running server over a copy of the lex library (tests may write to it), with an API key."""
    db, key = lex_copy("served")
    server = LiveServer(db, key)
    yield server
    server.stop()

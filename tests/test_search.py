"""Search: passages, the FTS5 and MiniLM indexes, fusion, filters, bad input, incremental indexing."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.errors import PodtwinError
from podtwin.ingest import ingest
from podtwin.search.embed import (
    EMBEDDER_FILE,
    MODEL_NAME,
    Embedder,
    EmbeddingModelError,
    default_embedder,
    model_file,
    models_dir,
)
from podtwin.search.index import embed_missing, index_status
from podtwin.search.lexical import decode_terms, tokens
from podtwin.search.passages import MAX_WORDS, SentenceRow, build_passages
from podtwin.search.query import (
    CONTEXT_WEIGHT,
    Filters,
    SearchError,
    lexical_query,
    query_phrases,
    resolve_filters,
    search,
    search_index,
)
from podtwin.store.library import Library, resolve_episode

# --- passages ---------------------------------------------------------------------------------

sentence_rows = st.lists(
    st.tuples(
        st.integers(1, 40),  # words
        st.sampled_from(["conversation", "sponsor", "intro"]),
        st.integers(0, 3),  # turn step
        st.integers(0, 1),  # source
    ),
    max_size=60,
)


@given(sentence_rows)
def test_passages_cover_every_sentence_once_and_never_cross_a_turn_kind_or_source(spec):
    rows, turn = [], 0
    for i, (n, kind, step, source) in enumerate(spec):
        turn += step > 1
        rows.append(SentenceRow(i, " ".join(f"w{i}x{j}" for j in range(n)), kind, turn, source))
    passages = build_passages(rows)
    covered = [i for p in passages for i in range(p.first, p.last + 1)]
    assert covered == list(range(len(rows)))
    for p in passages:
        inside = rows[p.first : p.last + 1]
        assert len({(r.turn, r.kind, r.source) for r in inside}) == 1
        words = sum(len(r.text.split()) for r in inside)
        # a window only goes past MAX_WORDS by one long sentence or a short leftover merged in
        assert words <= MAX_WORDS + 40 or len(inside) == 1 or words - len(inside[-1].text.split()) < MAX_WORDS


def test_passage_context_is_the_previous_turn():
    rows = [
        SentenceRow(0, "What got you into sailing?", "conversation", 0),
        SentenceRow(1, "My father had a boat.", "conversation", 1),
        SentenceRow(2, "We sailed every summer.", "conversation", 1),
    ]
    passages = build_passages(rows)
    assert [p.text for p in passages] == ["What got you into sailing?", "My father had a boat. We sailed every summer."]
    assert passages[1].context == "What got you into sailing?"
    assert passages[0].context == ""


# --- lexical query safety -----------------------------------------------------------------------


@given(st.text(max_size=200))
def test_any_query_text_is_a_valid_fts5_expression(text):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t VALUES ('open sourcing models released openly')")
    match = lexical_query(text)
    if match is not None:
        db.execute("SELECT * FROM t WHERE t MATCH ?", [match]).fetchall()


def test_word_forms_match_through_their_root():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO t VALUES (?)", [("I am in favor of open sourcing",), ("we sail at dawn",)])
    rows = db.execute("SELECT x FROM t WHERE t MATCH ?", [lexical_query("released openly")]).fetchall()
    assert rows == [("I am in favor of open sourcing",)]


# --- the real lex library -----------------------------------------------------------------------


@pytest.fixture
def lex(lex_library):
    with Library(lex_library) as library:
        yield library


def _rank(hits, needle: str) -> int | None:
    return next((i for i, h in enumerate(hits, 1) if needle in h.text), None)


# Elon Musk's answer on open-sourcing AI, as the lex transcript garbles it, spans two passages.
OPEN_SOURCE = ("You can open source a model", "generally in favor of open sourcing")


def test_elon_on_open_sourcing_is_found_within_his_words(lex):
    # The issue asks for top 3 with the speaker filter and top 5 without; measured: 7th and
    # 39th (docs/benchmarks.md). This holds the ground that is won: his answer in his top 10.
    query = "should AI models be released openly"
    filtered = search(lex, query, resolve_filters(lex, speaker="Elon Musk"), limit=10).hits
    assert all(h.speaker == "Elon Musk" for h in filtered)
    assert any(_rank(filtered, needle) for needle in OPEN_SOURCE), [h.text[:80] for h in filtered]


def test_filters_restrict_speaker_episode_and_kind(lex):
    zuck = search(lex, "virtual reality avatars", resolve_filters(lex, speaker="Mark Zuckerberg"), limit=20).hits
    assert zuck and {h.speaker for h in zuck} == {"Mark Zuckerberg"}
    episode_id = resolve_episode(lex, "#398")
    in_episode = search(lex, "codec avatars", resolve_filters(lex, episode="#398"), limit=20).hits
    assert in_episode and {h.episode_id for h in in_episode} == {episode_id}
    ads = search(lex, "sponsor discount code", resolve_filters(lex, kinds=["sponsor"]), limit=10).hits
    assert ads and {h.kind for h in ads} == {"sponsor"}
    # by default sponsor reads are left out
    default = search(lex, "sponsor discount code", limit=50).hits
    assert "sponsor" not in {h.kind for h in default}


def test_hits_point_at_the_quoted_words_in_the_source(lex):
    hits = search(lex, "open sourcing", limit=5, mode="lexical").hits
    assert hits
    for h in hits:
        (text,) = lex.db.execute("SELECT text FROM sources WHERE path = ?", [h.source_file]).fetchone()
        span = " ".join(text[h.start_char : h.end_char].split()).lower()
        assert span.split()[:3] == h.text.lower().split()[:3] or h.text.split()[0].lower() in span
        assert h.highlights and all(h.text[a:b].lower().startswith(("open", "sourc")) for a, b in h.highlights)


def test_modes_each_find_results_and_hybrid_fuses_them(lex):
    query = "how do you keep a company from racing ahead with dangerous AI"
    lexical = search(lex, query, limit=10, mode="lexical").hits
    dense = search(lex, query, limit=10, mode="dense").hits
    hybrid = search(lex, query, limit=10).hits
    assert lexical and dense and hybrid
    assert all(h.dense_rank is None for h in lexical) and all(h.lexical_rank is None for h in dense)
    assert any(h.lexical_rank and h.dense_rank for h in hybrid)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "empty"), ("   ", "empty"), ("x" * 10_000, "10,000 characters")],
)
def test_bad_queries_are_clear_errors(lex, query, message):
    with pytest.raises(SearchError, match=message):
        search(lex, query)


def test_operator_soup_and_quotes_are_just_words(lex):
    for query in ['"open AND', "NEAR(a b) OR NOT *", "col:open", "'); DROP TABLE passages; --", "(((", "^*"]:
        search(lex, query)  # no FTS5 syntax error


def test_unknown_filters_are_clear_errors(lex):
    with pytest.raises(PodtwinError, match="no person"):
        resolve_filters(lex, speaker="Nobody Atall")
    with pytest.raises(PodtwinError, match="episode"):
        resolve_filters(lex, episode="#99999")
    with pytest.raises(SearchError, match="no show"):
        resolve_filters(lex, show="Radio Nowhere")
    with pytest.raises(SearchError, match="unknown kind"):
        resolve_filters(lex, kinds=["adverts"])


# --- index lifecycle ----------------------------------------------------------------------------


def test_library_without_index_or_episodes_says_what_to_do(tmp_path):
    with Library(tmp_path / "empty.db") as library:
        with pytest.raises(SearchError, match="empty"):
            search(library, "anything")
        library.db.execute(
            "INSERT INTO episodes (id, created_at, updated_at) VALUES (1, 'now', 'now')"
        )  # an episode from before the index existed
        with pytest.raises(SearchError, match="podtwin index"):
            search(library, "anything")


def test_adding_an_episode_embeds_only_its_passages(tmp_path, lex_library, corpus):
    path = tmp_path / "grow.db"
    shutil.copy(lex_library, path)
    with Library(path) as library:
        before = index_status(library.db)
        assert before.passages == before.embedded > 0
        assert embed_missing(library) == 0
        report = ingest(library, [corpus / "lenny" / "albert-cheng.md"])
        assert len(report.added) == 1
        grown = index_status(library.db)
        new = grown.passages - before.passages
        # passages whose text is already embedded (a "Yeah." heard before) reuse that vector
        assert new > 0 and 0.9 * new <= grown.missing <= new
        lexical_only = search(library, "albert cheng", limit=3, mode="lexical")
        assert lexical_only.hits  # the lexical index is current before any embedding
        notes = search(library, "albert cheng", limit=3).notes
        assert notes and "podtwin index" in notes[0]
        assert 0 < embed_missing(library) <= grown.missing
        assert index_status(library.db).missing == 0


def test_cli_search_json_rows_and_errors(lex_library):
    runner = CliRunner()
    result = runner.invoke(app, ["--db", str(lex_library), "search", "open sourcing", "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 3
    for key in ("episode_id", "speaker", "start_char", "end_char", "start_s", "text", "score"):
        assert key in rows[0]
    table = runner.invoke(app, ["--db", str(lex_library), "search", "open sourcing", "--limit", "2"])
    assert table.exit_code == 0, table.output
    assert "Elon Musk" in table.stdout or "Mark Zuckerberg" in table.stdout
    for args in (["search", ""], ["search", "x", "--speaker", "Nobody Atall"], ["search", "x", "--kind", "ads"]):
        bad = runner.invoke(app, ["--db", str(lex_library), *args])
        assert bad.exit_code != 0
        assert "Traceback" not in bad.output and "Error" in bad.output


# --- the model ------------------------------------------------------------------------------------


def test_model_is_checked_before_use(tmp_path):
    """A missing or corrupt model file is found by its checksum, named, and the fix given."""
    assert model_file(EMBEDDER_FILE) == models_dir() / EMBEDDER_FILE  # the shipped files match models.json
    folder = tmp_path / "models"
    shutil.copytree(models_dir(), folder)
    graph = folder / EMBEDDER_FILE
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    graph.write_bytes(bytes(data))
    with pytest.raises(EmbeddingModelError, match="corrupt.*sha256.*make train") as corrupt:
        Embedder(folder)
    assert str(graph) in str(corrupt.value)
    graph.unlink()
    with pytest.raises(EmbeddingModelError, match="missing.*git checkout"):
        Embedder(folder)
    (folder / "models.json").write_text("{not json")
    with pytest.raises(EmbeddingModelError, match="checksums cannot be read"):
        Embedder(folder)


def test_embeddings_place_paraphrases_near_each_other():
    e = default_embedder()
    v = e.embed(["How do I price my product?", "What should I charge customers?", "My dog likes the beach."])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


# --- speed-minded parts keep their answers ------------------------------------------------------


def test_bm25_in_memory_gives_fts5_bm25_scores(lex):
    """The lexical side scores FTS5's terms itself; its scores must be FTS5's bm25()."""
    index = search_index(lex)
    queries = [
        "should AI models be released openly",
        "what do people think about quantum physics and consciousness",
        "Zuckerberg's avatars: don't they look real?",
        'open-sourcing OR NOT "weights" *',
        "a naïve café society",
    ]
    for query in queries:
        match = lexical_query(query)
        expected = dict(
            lex.db.execute(
                f"SELECT rowid, bm25(passages_fts, 1.0, {CONTEXT_WEIGHT}) FROM passages_fts WHERE passages_fts MATCH ?",
                [match],
            ).fetchall()
        )
        rows, scores = index.lexical.scores(query_phrases(query), (1.0, CONTEXT_WEIGHT))
        ours = dict(zip(index.ids[rows].tolist(), (-scores).tolist(), strict=True))
        assert expected, query
        assert ours.keys() == expected.keys(), query
        assert max(abs(ours[k] - expected[k]) for k in expected) < 1e-4, query


def test_stored_word_counts_are_fts5s_own(lex):
    """Each passage's stored term counts are what FTS5 indexed for it, column by column."""
    lex.db.execute("CREATE VIRTUAL TABLE temp.instances USING fts5vocab(main, passages_fts, 'instance')")
    indexed: dict[int, dict[str, list[int]]] = {}
    for term, doc, col in lex.db.execute("SELECT term, doc, col FROM temp.instances"):
        indexed.setdefault(doc, {}).setdefault(term, [0, 0])[col == "context"] += 1
    names = dict(lex.db.execute("SELECT id, term FROM lexical_terms"))
    stored = {
        pid: {names[int(r["term"])]: [int(r["text"]), int(r["context"])] for r in decode_terms(blob)}
        for pid, blob in lex.db.execute("SELECT id, terms FROM passages")
    }
    assert len(stored) > 1000
    assert stored == {pid: indexed.get(pid, {}) for pid in stored}


def _filter_sql(f: Filters) -> tuple[str, list]:
    """The filters as SQL over passages p, sentences se, episodes e: the reference ranking."""
    clauses, args = [], []
    for column, value in (("se.speaker", f.speaker), ("p.episode_id", f.episode_id), ("e.show_id", f.show_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    for column, values in (("se.speaker", f.speakers), ("se.kind", f.kinds)):
        if values is not None:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)
    return "".join(" AND " + c for c in clauses), args


def test_lexical_ranking_is_fts5_order_within_filters(lex):
    index = search_index(lex)
    query = "virtual reality avatars and the metaverse"
    for f in (resolve_filters(lex, speaker="Mark Zuckerberg"), resolve_filters(lex, episode="#398"), Filters()):
        where, args = _filter_sql(f)
        expected = [
            r[0]
            for r in lex.db.execute(
                f"""SELECT p.id FROM passages_fts m JOIN passages p ON p.id = m.rowid
                    JOIN sentences se ON se.episode_id = p.episode_id AND se.idx = p.first_sentence
                    JOIN episodes e ON e.id = p.episode_id
                    WHERE passages_fts MATCH ? {where}
                    ORDER BY round(bm25(passages_fts, 1.0, {CONTEXT_WEIGHT}), 6), p.id LIMIT 30""",
                [lexical_query(query), *args],
            )
        ]
        assert expected
        assert index.lexical_ranking(query_phrases(query), f, 30) == expected


def test_word_counts_follow_the_passages(tmp_path, lex_library):
    """A library from before the counts says so when searched, and `index` fills them in."""
    db = tmp_path / "lex.db"
    shutil.copy(lex_library, db)
    with Library(db) as library:
        library.db.execute("UPDATE passages SET terms = NULL WHERE id % 2 = 0")
        library.db.commit()
        assert search_index(library).lexical.missing > 0
        result = search(library, "avatars", mode="lexical")
        assert any("no word counts" in n for n in result.notes)
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "index"]).exit_code == 0
    with Library(db) as library:
        assert search_index(library).lexical.missing == 0
        assert search(library, "avatars", mode="lexical").notes == []


def test_vectors_of_an_earlier_model_serve_until_index_replaces_them(tmp_path, lex_library):
    db = tmp_path / "lex.db"
    shutil.copy(lex_library, db)
    with Library(db) as library:
        with library.atomic():
            library.db.execute("UPDATE embeddings SET model = 'all-MiniLM-L6-v2' WHERE rowid % 10 = 0")
        stale = library.db.execute("SELECT count(*) FROM embeddings WHERE model = 'all-MiniLM-L6-v2'").fetchone()[0]
        assert stale and index_status(library.db).missing
        result = search(library, "virtual reality avatars", mode="dense")
        assert result.hits and any("current model" in n for n in result.notes)
        assert embed_missing(library) == stale
        assert index_status(library.db).missing == 0
        assert [r[0] for r in library.db.execute("SELECT DISTINCT model FROM embeddings")] == [MODEL_NAME]
        assert search(library, "virtual reality avatars", mode="dense").notes == []


def test_porter_terms_come_from_sqlite():
    assert tokens(["released", "openly", "don't", "Lütke"]) == [["releas"], ["openli"], ["don", "t"], ["lutk"]]


def test_narrow_filters_rank_like_the_whole_matrix_masked(lex):
    index = search_index(lex)
    vector = default_embedder().embed_query("virtual reality avatars")
    for f in (resolve_filters(lex, speaker="Mark Zuckerberg"), resolve_filters(lex, episode="#398"), Filters()):
        rows = index.rows(f)
        scores = index.vectors @ vector
        if rows is not None:
            keep = np.zeros(len(index), bool)
            keep[rows] = True
            scores = np.where(keep, scores, -np.inf)
        expected = [int(index.ids[i]) for i in np.argsort(-scores, kind="stable")[:20] if np.isfinite(scores[i])]
        assert index.dense_ranking(vector, f, 20) == expected


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state, parent, ...); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields and int(fields[1]) == pid:
            out.add(int(entry.name))
    return out


def test_embedding_workers_stop_when_their_parent_is_killed(tmp_path, lex_library):
    db = tmp_path / "lex.db"
    shutil.copy(lex_library, db)
    with Library(db) as library:
        with library.atomic():
            library.db.execute("DELETE FROM embeddings")
    script = (
        "import sys; from podtwin.store.library import Library; from podtwin.search.index import embed_missing\n"
        "with Library(sys.argv[1]) as lib: embed_missing(lib, chunk=16, workers=2)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(db)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_children(parent.pid)) < 2:
            time.sleep(0.2)
        time.sleep(3)  # workers are loading the model or embedding
        workers = _children(parent.pid)
        assert len(workers) >= 2, "the embedding workers did not start"
        parent.send_signal(signal.SIGTERM)
        parent.wait(30)
        deadline = time.monotonic() + 20

        def alive() -> list[int]:
            return [w for w in workers if (fields := _stat(w)) and fields[0] != "Z"]  # a zombie has exited

        while time.monotonic() < deadline and alive():
            time.sleep(0.2)
        assert not alive(), f"workers still running after their parent was killed: {alive()}"
    finally:
        parent.kill()


def test_rerank_reorders_the_fused_candidates_with_the_cross_encoder(lex_library):
    """--rerank scores the top RERANK_DEPTH of the fused ranking with the cross-encoder and
    fuses the two orders; the results are the same candidates, each with its score."""
    from podtwin.search.query import RERANK_WEIGHT, RRF_K
    from podtwin.search.rerank import RERANK_DEPTH, default_reranker

    query = "what are codec avatars and how do they feel?"
    with Library(lex_library) as library:
        plain = search(library, query, limit=RERANK_DEPTH).hits
        reranked = search(library, query, limit=RERANK_DEPTH, rerank=True).hits
    assert {h.passage_id for h in reranked} == {h.passage_id for h in plain}
    assert all(h.rerank_score is not None for h in reranked) and all(h.rerank_score is None for h in plain)
    scores = [round(float(s), 4) for s in default_reranker().scores(query, [h.text for h in plain])]
    by_score = {h.passage_id: r for r, (h, _) in enumerate(sorted(zip(plain, scores), key=lambda x: -x[1]), 1)}
    fused = {
        h.passage_id: 1 / (RRF_K + r) + RERANK_WEIGHT / (RRF_K + by_score[h.passage_id])
        for r, h in enumerate(plain, 1)
    }
    assert [h.passage_id for h in reranked] == sorted(fused, key=lambda p: -fused[p])
    cli = CliRunner().invoke(app, ["--db", str(lex_library), "search", query, "--rerank", "--limit", "3"])
    assert cli.exit_code == 0 and "Mark Zuckerberg" in cli.stdout

"""Hybrid search: BM25 over FTS5's terms and MiniLM cosine, fused by reciprocal rank.

Both sides rank passages independently (each with the same filters), then each passage
scores sum(weight / (RRF_K + rank)) over the sides that found it. Vectors and term counts
live in the library file; a process keeps them in memory (one float32 matrix, one sparse
term matrix) and reloads them only when the library's passages or embeddings change.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import SearchError
from podtwin.search.dense import QuantisedVectors, top_rows
from podtwin.search.embed import DIMENSIONS, Embedder
from podtwin.search.lexical import LexicalIndex, Phrase, tokens
from podtwin.search.rerank import RERANK_DEPTH, Reranker
from podtwin.search.tune import adapter_for

if TYPE_CHECKING:
    from podtwin.store.library import Library

__all__ = [
    "KINDS",
    "MAX_QUERY_CHARS",
    "Filters",
    "Hit",
    "SearchError",
    "SearchResult",
    "highlight_spans",
    "lexical_query",
    "resolve_filters",
    "search",
]

KINDS = ("cold_open", "intro", "sponsor", "handoff", "conversation", "outro")
DEFAULT_KINDS = ("conversation", "cold_open", "handoff")  # what people said to each other
MAX_QUERY_CHARS = 1000
CANDIDATES = 100  # per side, before fusion
RRF_K = 60
# Weights of each side in the fusion, chosen on the tune questions (eval/search, split "tune").
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 3.0  # dense finds paraphrases that share no word with the query: trust it more
CONTEXT_WEIGHT = 0.25  # BM25 weight of the previous turn's words against the passage's own
RERANK_WEIGHT = 0.5  # the re-ranker's order against the fused one's, chosen on the tune questions

# Words too common to carry meaning in a query; dropping them keeps FTS5 posting lists short.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves um uh like yeah oh
    okay really think know thing things get got going say said tell talk talked one also much many
    s t d ll re ve m don didn doesn isn wasn aren weren haven hasn couldn wouldn shouldn""".split()
)
_WORD = re.compile(r"[^\W_]+")  # as FTS5's unicode61 tokenizer splits words


@dataclass
class Filters:
    speaker: str | None = None  # canonical person name
    speakers: tuple[str, ...] | None = None  # any of these (people a query names)
    episode_id: int | None = None
    episode_ids: tuple[int, ...] | None = None  # any of these (a persona's episodes)
    show_id: int | None = None
    kinds: tuple[str, ...] | None = DEFAULT_KINDS  # None: every kind


@dataclass
class Hit:
    passage_id: int
    episode_id: int
    episode_number: int | None
    title: str | None
    show: str | None
    speaker: str | None
    kind: str
    source_file: str
    start_char: int
    end_char: int
    start_s: float | None
    end_s: float | None
    first_sentence: int
    last_sentence: int
    text: str
    context: str
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans of query words in text
    rerank_score: float | None = None  # the re-ranker's logit, when it ordered the results

    def as_json(self) -> dict:
        # field by field: dataclasses.asdict deep-copies (a tenth of a served search, measured)
        d = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["highlights"] = [list(h) for h in self.highlights]
        return d


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    notes: list[str] = field(default_factory=list)


def clock(seconds: float) -> str:
    """A time in an episode as H:MM:SS."""
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --- filters ----------------------------------------------------------------------------


def resolve_filters(
    library: Library,
    *,
    speaker: str | None = None,
    episode: str | None = None,
    show: str | None = None,
    kinds: list[str] | None = None,
) -> Filters:
    """Filters from what a user typed; unknown names raise a clear error."""
    from podtwin.store.library import resolve_episode
    from podtwin.store.people import person_id

    f = Filters()
    if speaker is not None:
        if not speaker.strip():
            raise SearchError("--speaker is empty")
        f.speaker = person_id(library.db, speaker.strip())[1]
    if episode is not None:
        f.episode_id = resolve_episode(library, episode)
    if show is not None:
        rows = library.db.execute(
            "SELECT id, name FROM shows WHERE lower(name) LIKE '%' || lower(?) || '%'", [show.strip()]
        ).fetchall()
        exact = [r for r in rows if r[1].lower() == show.strip().lower()]
        rows = exact or rows
        if not show.strip() or not rows:
            raise SearchError(f"no show matches {show!r}")
        if len(rows) > 1:
            raise SearchError(f"{show!r} matches several shows: {', '.join(r[1] for r in rows)}")
        f.show_id = rows[0][0]
    if kinds:
        wanted = [k.strip().replace("-", "_") for k in kinds]
        if "all" in wanted:
            f.kinds = None
        else:
            bad = [k for k in wanted if k not in KINDS]
            if bad:
                raise SearchError(f"unknown kind {bad[0]!r}; choose from {', '.join(KINDS)} or all")
            f.kinds = tuple(dict.fromkeys(wanted))
    return f


# --- the two sides ------------------------------------------------------------------------


def query_words(query: str) -> list[str]:
    """Meaningful lowercase words of a query (all its words if every one is common)."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(kept or words))


_SUFFIXES = ("ingly", "edly", "ings", "ness", "ment", "ions", "ing", "ion", "ers", "ies", "ly", "ed", "es", "er", "s")


def word_root(word: str) -> str:
    """The word without a common English ending ("openly" -> "open", "released" -> "releas")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


MAX_QUERY_WORDS = 64


def _query_parts(query: str) -> list[tuple[str, bool]]:
    """(word, is a prefix) for each phrase of the query: every word, and the root of each
    word with a common ending as a prefix, so "openly" finds "open sourcing" and "released"
    finds "releasing" (ASR text and speech vary word forms more than porter joins)."""
    parts: list[tuple[str, bool]] = []
    for w in query_words(query)[:MAX_QUERY_WORDS]:
        parts.append((w, False))
        root = word_root(w)
        if root != w:
            parts.append((root, True))
    return list(dict.fromkeys(parts))


def lexical_query(query: str) -> str | None:
    """The query as an FTS5 MATCH expression: every phrase quoted (so no word is read as an
    operator), OR-ed. Search scores the same phrases in memory (search/lexical.py)."""
    parts = _query_parts(query)
    if not parts:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' + ("*" if prefix else "") for w, prefix in parts)


def query_phrases(query: str) -> list[Phrase]:
    """The phrases of lexical_query, as the FTS5 tokenizer turns them into terms."""
    parts = _query_parts(query)
    terms = tokens([w for w, _ in parts])
    return [Phrase(t[0], prefix) for (_, prefix), t in zip(parts, terms, strict=True) if len(t) == 1]


class SearchIndex:
    """Every passage of one library in memory: the columns filters need, the MiniLM vectors
    as one float32 matrix, and the BM25 term matrix."""

    def __init__(self, db: sqlite3.Connection) -> None:
        rows = db.execute(
            """SELECT p.id, p.episode_id, e.show_id, se.speaker, se.kind, em.vector, p.terms
               FROM passages p
               LEFT JOIN embeddings em ON em.text_hash = p.text_hash
               JOIN sentences se ON se.episode_id = p.episode_id AND se.idx = p.first_sentence
               JOIN episodes e ON e.id = p.episode_id
               ORDER BY p.id"""
        ).fetchall()
        n = len(rows)
        self.ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        self.episode = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
        self.show = np.fromiter((r[2] if r[2] is not None else -1 for r in rows), dtype=np.int64, count=n)
        self.speakers, self.speaker = np.unique(np.array([r[3] or "" for r in rows], dtype=object), return_inverse=True)
        self.kinds, self.kind = np.unique(np.array([r[4] for r in rows], dtype=object), return_inverse=True)
        empty = bytes(2 * DIMENSIONS)
        blob = b"".join(r[5] or empty for r in rows)
        self.vectors = np.frombuffer(blob, dtype=np.float16).reshape(n, DIMENSIONS).astype(np.float32)
        embedded = np.fromiter((r[5] is not None for r in rows), dtype=bool, count=n)
        self.embedded = None if embedded.all() else np.flatnonzero(embedded)
        self.lexical = LexicalIndex(db, [r[6] for r in rows])
        self.adapter = adapter_for(db)  # `podtwin tune`'s query map, if the library has one
        self._rows: dict[tuple, tuple[np.ndarray | None, np.ndarray | None]] = {}  # (rows, mask)
        self._quantised: QuantisedVectors | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, f: Filters) -> np.ndarray | None:
        """Indices of the rows the filters let through (None: all), kept per filter."""
        return self._filtered(f)[0]

    def mask(self, f: Filters) -> np.ndarray | None:
        """The same rows as a boolean mask over every row (None: all), kept per filter."""
        return self._filtered(f)[1]

    def _filtered(self, f: Filters) -> tuple[np.ndarray | None, np.ndarray | None]:
        key = (f.speaker, f.speakers, f.episode_id, f.episode_ids, f.show_id, f.kinds)
        if key in self._rows:
            return self._rows[key]
        m = None

        def both(a, b):
            return b if a is None else a & b

        for names in ([f.speaker] if f.speaker is not None else None, f.speakers):
            if names is not None:
                codes = [i for i, s in enumerate(self.speakers) if s in names]
                m = both(m, np.isin(self.speaker, codes))
        if f.episode_id is not None:
            m = both(m, self.episode == f.episode_id)
        if f.episode_ids is not None:
            m = both(m, np.isin(self.episode, f.episode_ids))
        if f.show_id is not None:
            m = both(m, self.show == f.show_id)
        if f.kinds is not None:
            codes = [i for i, k in enumerate(self.kinds) if k in f.kinds]
            m = both(m, np.isin(self.kind, codes))
        if len(self._rows) >= 256:  # one entry per speaker or episode asked about; bounded
            self._rows.clear()
        self._rows[key] = (None if m is None else np.flatnonzero(m), m)
        return self._rows[key]

    def lexical_ranking(self, phrases: list[Phrase], f: Filters, limit: int = CANDIDATES) -> list[int]:
        """Passage ids by BM25, best first (as FTS5's bm25(passages_fts, 1, CONTEXT_WEIGHT))."""
        return self.lexical_rankings(phrases, [f], limit)[0]

    def lexical_rankings(
        self, phrases: list[Phrase], filters: list[Filters], limit: int = CANDIDATES
    ) -> list[list[int]]:
        """lexical_ranking for each set of filters, the phrases scored once."""
        if not phrases:
            return [[] for _ in filters]
        tops = self.lexical.rankings(phrases, (1.0, CONTEXT_WEIGHT), [self.mask(f) for f in filters], limit)
        return [[int(x) for x in self.ids[top]] for top in tops]

    def dense_rankings(self, vector: np.ndarray, filters: list[Filters], limit: int = CANDIDATES) -> list[list[int]]:
        """Passage ids by cosine, best first (equal scores in passage order), for each set of filters.

        A narrow filter (a speaker, an episode) scores only its own rows; wider ones share
        one int8 first pass over every row, which leaves a few hundred rows to score exactly
        (search/dense.py). Passages not yet embedded are left out.
        """
        first = None
        out = []
        for f in filters:
            rows = self.rows(f)
            if self.embedded is not None:
                rows = self.embedded if rows is None else np.intersect1d(rows, self.embedded, assume_unique=True)
            wide = rows is None or len(rows) >= len(self) // 4
            if wide and first is None:
                first = self.quantised().first_pass(vector)
            top = top_rows(self.vectors, vector, limit, rows, first if wide else None)
            out.append([int(x) for x in self.ids[top]])
        return out

    def quantised(self) -> QuantisedVectors:
        """The int8 first pass, made when a search first needs it (twins use only the floats)."""
        with self._lock:
            if self._quantised is None:
                self._quantised = QuantisedVectors(self.vectors)
            return self._quantised

    def dense_ranking(self, vector: np.ndarray, f: Filters, limit: int = CANDIDATES) -> list[int]:
        return self.dense_rankings(vector, [f], limit)[0]


_index_cache: dict[str, tuple[int, SearchIndex]] = {}  # by Library.key: (generation, index)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="podtwin-dense")
_cache_lock = threading.Lock()


_overlap = True


def overlap_sides(on: bool) -> None:
    """Whether a search runs its dense side on another thread while BM25 scores on its own
    (the default). A lone search finishes sooner; a server running one search per core
    turns it off, since handing work between threads then only adds switching (measured,
    docs/benchmarks.md)."""
    global _overlap
    _overlap = on


def library_generation(db: sqlite3.Connection) -> int:
    """Changes whenever anything the search index holds may have changed, by any connection
    (a counter that triggers move, migration m009), and not when other tables are written."""
    return db.execute("SELECT n FROM index_generation").fetchone()[0]


_facts_cache: dict[str, tuple[int, dict]] = {}


def library_facts(library: Library) -> dict:
    """Index status and speaker names, recomputed only when the library changed."""
    from podtwin.search.index import index_status

    key = library.key
    state = library_generation(library.db)
    cached = _facts_cache.get(key)
    if cached and cached[0] == state:
        return cached[1]
    facts = {
        "status": index_status(library.db),
        "people": People([r[0] for r in library.db.execute("SELECT name FROM people")]),
    }
    _facts_cache[key] = (state, facts)
    return facts


def search_index(library: Library) -> SearchIndex:
    """The library's passages in memory, loaded once and again only after the library changed."""
    key = library.key
    state = library_generation(library.db)
    with _cache_lock:
        cached = _index_cache.get(key)
        if cached and cached[0] == state:
            return cached[1]
        index = SearchIndex(library.db)
        _index_cache[key] = (state, index)
        return index


# --- people a query names -----------------------------------------------------------------

_NAME_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


class People:
    """The library's speaker names, split once, for finding the ones a query names."""

    def __init__(self, names: list[str]) -> None:
        self.names = [(name, [w.lower() for w in _NAME_TOKEN.findall(name)]) for name in names]
        self.firsts: dict[str, int] = {}
        self.lasts: dict[str, int] = {}
        for _, parts in self.names:
            if len(parts) >= 2:
                self.firsts[parts[0]] = self.firsts.get(parts[0], 0) + 1
                self.lasts[parts[-1]] = self.lasts.get(parts[-1], 0) + 1

    def mentioned(self, query: str) -> list[str]:
        """People the query names ("what does Zuckerberg think ...").

        A full name matches in any casing. A single capitalised word matches a person when
        it is that person's last (or first) name and no other speaker shares it, so "Mark"
        alone names nobody when two Marks have spoken.
        """
        tokens = [t[:-2] if t.lower().endswith(("'s", "’s")) else t for t in _NAME_TOKEN.findall(query)]
        lowered = {t.lower() for t in tokens}
        capitalised = {t.lower() for t in tokens if t[:1].isupper()}
        text = " " + " ".join(t.lower() for t in tokens) + " "
        found = []
        for name, parts in self.names:
            if not parts or parts[0] not in lowered and parts[-1] not in lowered:
                continue
            if len(parts) >= 2 and " " + " ".join(parts) + " " in text:
                found.append(name)
                continue
            for part, counts in ((parts[-1], self.lasts), (parts[0], self.firsts)):
                if len(parts) >= 2 and len(part) >= 3 and part in capitalised and counts.get(part) == 1:
                    found.append(name)
                    break
        return found


# --- search -------------------------------------------------------------------------------


def validate_query(query: str) -> str:
    if query is None or not query.strip():
        raise SearchError("the query is empty; type some words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    return query.strip()


def search(
    library: Library,
    query: str,
    filters: Filters | None = None,
    *,
    limit: int = 10,
    mode: str = "hybrid",
    embedder: Embedder | None = None,
    vector: np.ndarray | None = None,
    rerank: bool = False,
    reranker: Reranker | None = None,
    index: SearchIndex | None = None,
) -> SearchResult:
    """Ranked passages for a query. mode: hybrid, lexical or dense. `vector`: the query's
    embedding when the caller has it already. rerank: the cross-encoder re-orders the top
    RERANK_DEPTH of the ranking (podtwin.search.rerank). index: the library's search index
    when the caller holds it already (one reply reads one index, not one per step)."""
    query = validate_query(query)
    if mode not in ("hybrid", "lexical", "dense"):
        raise SearchError(f"unknown mode {mode!r}; choose hybrid, lexical or dense")
    if not 1 <= limit <= 1000:
        raise SearchError("--limit must be between 1 and 1000")
    f = filters or Filters()
    db = library.db
    facts = library_facts(library)
    status = facts["status"]
    if status.episodes == 0:
        raise SearchError("the library is empty: run `podtwin ingest PATH` first")
    if status.passages == 0:
        raise SearchError("the library has no search index yet: run `podtwin index`")
    index = index or search_index(library)
    notes = []
    if status.missing and mode != "lexical":
        notes.append(
            f"{status.missing} of {status.passages} passages have no embedding from the current model yet: "
            "run `podtwin index`"
        )
    if index.lexical.missing and mode != "dense":
        notes.append(f"{index.lexical.missing} passages have no word counts yet: run `podtwin index`")
    candidates = max(CANDIDATES, limit)
    # a query that names people also ranks within their words, so "what does Musk think
    # about X" favours Musk's passages without hiding what others said about X
    named = None
    if f.speaker is None and f.speakers is None:
        people = facts["people"].mentioned(query)
        if people:
            named = replace(f, speakers=tuple(people))
    wanted = [f, named] if named else [f]
    dense_job = None
    # vectors of an earlier model still serve until `podtwin index` replaces them
    if mode != "lexical" and (index.embedded is None or len(index.embedded)):
        if vector is None and embedder is None:
            from podtwin.search.embed import default_embedder

            embedder = default_embedder()

        def dense_job():
            v = embedder.embed_query(query) if vector is None else vector
            if index.adapter is not None:
                v = index.adapter @ v
                v = (v / max(float(np.linalg.norm(v)), 1e-9)).astype(np.float32)
            return index.dense_rankings(v, wanted, candidates)

    # one ranking per filter in `wanted` on each side
    nothing: list[list[int]] = [[] for _ in wanted]
    # ONNX Runtime and numpy release the GIL, so the other core embeds and multiplies
    pending = _pool.submit(dense_job) if dense_job is not None and _overlap else None
    lexical = nothing
    if mode != "dense":
        phrases = query_phrases(query)
        lexical = index.lexical_rankings(phrases, wanted, candidates)
    if pending is not None:
        dense = pending.result()
    else:
        dense = dense_job() if dense_job is not None else nothing
    scores = fuse([*lexical, *dense], [LEXICAL_WEIGHT] * len(lexical) + [DENSE_WEIGHT] * len(dense))
    lex_rank = {pid: r for r, pid in enumerate(lexical[0], 1)}
    dense_rank = {pid: r for r, pid in enumerate(dense[0], 1)}
    ranked = list(scores)
    if rerank and ranked:
        hits = _reranked(query, _hits(db, ranked[: max(limit, RERANK_DEPTH)]), reranker)[:limit]
    else:
        hits = _hits(db, ranked[:limit])
    words = query_words(query)
    for h in hits:
        h.score = round(scores[h.passage_id], 6)
        h.lexical_rank = lex_rank.get(h.passage_id)
        h.dense_rank = dense_rank.get(h.passage_id)
        h.highlights = highlight_spans(h.text, words)
    return SearchResult(query, mode, hits, notes)


def _reranked(query: str, hits: list[Hit], reranker: Reranker | None = None) -> list[Hit]:
    if reranker is None:
        from podtwin.search.rerank import default_reranker

        reranker = default_reranker()
    scores = reranker.scores(query, [h.text for h in hits])
    for h, s in zip(hits, scores):
        h.rerank_score = round(float(s), 4)
    # the re-ranker's order is fused with the first ranking's, by reciprocal rank: trained on
    # a few hundred questions, it is a second opinion rather than the judge (weight chosen on
    # the tune questions, docs/benchmarks.md)
    by_rerank = {id(h): r for r, h in enumerate(sorted(hits, key=lambda h: -h.rerank_score), 1)}
    fused = {id(h): 1.0 / (RRF_K + r) + RERANK_WEIGHT / (RRF_K + by_rerank[id(h)]) for r, h in enumerate(hits, 1)}
    return sorted(hits, key=lambda h: -fused[id(h)])


def fuse(rankings: list[list[int]], weights: list[float]) -> dict[int, float]:
    """Reciprocal-rank fusion: each passage scores sum(weight / (RRF_K + rank)) over the
    rankings that hold it; best first, equal scores by passage id. (In numpy: a Python loop
    over a few hundred ids was a tenth of a served search's own Python time.)"""
    ids = [np.asarray(r, dtype=np.int64) for r in rankings if r]
    if not ids:
        return {}
    terms = [w / (RRF_K + np.arange(1, len(r) + 1, dtype=np.float64)) for r, w in zip(rankings, weights) if r]
    unique, at = np.unique(np.concatenate(ids), return_inverse=True)
    # bincount adds in array order, the rankings' order: the same sums as adding them one by one
    total = np.bincount(at, weights=np.concatenate(terms), minlength=len(unique))
    order = np.lexsort((unique, -total))
    return dict(zip(unique[order].tolist(), total[order].tolist()))


def _hits(db: sqlite3.Connection, ids: list[int]) -> list[Hit]:
    if not ids:
        return []
    rows = db.execute(
        f"""SELECT p.id, p.episode_id, e.number, e.title, sh.name AS show, a.speaker, a.kind, so.path,
                   a.start_char, b.end_char, a.start_s, b.end_s, p.first_sentence, p.last_sentence,
                   p.text, p.context
            FROM passages p
            JOIN episodes e ON e.id = p.episode_id
            LEFT JOIN shows sh ON sh.id = e.show_id
            JOIN sentences a ON a.episode_id = p.episode_id AND a.idx = p.first_sentence
            JOIN sentences b ON b.episode_id = p.episode_id AND b.idx = p.last_sentence
            JOIN sources so ON so.id = a.source_id
            WHERE p.id IN ({", ".join("?" * len(ids))})""",
        ids,
    ).fetchall()
    by_id = {r[0]: Hit(*r, score=0.0) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def highlight_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Character spans of the words in text that match a query word (same word or same stem)."""
    if not words:
        return []
    return [(m.start(), m.end()) for m in _highlighter(tuple(words)).finditer(text)]


@lru_cache(maxsize=256)
def _highlighter(words: tuple[str, ...]) -> re.Pattern:
    # a word of more than four letters also matches its stem (the word less up to three
    # letters) with other endings, up to four letters longer than the word itself
    forms = []
    for w in words:
        if len(w) <= 4:
            forms.append(re.escape(w))
        else:
            stem = w[: max(4, len(w) - 3)]
            forms.append(f"{re.escape(stem)}[^\\W_]{{0,{len(w) + 4 - len(stem)}}}")
    return re.compile(r"(?<![^\W_])(?:" + "|".join(forms) + r")(?![^\W_])", re.IGNORECASE)

"""BM25 over the library's passages: FTS5's terms and formula, scored in memory.

SQLite's FTS5 tokenises the passages (porter, unicode61) and its bm25() ranks them, but
bm25() visits every row an OR query matches, one at a time: a question with one common
word matches a third of the corpus and takes about 55 ms. So each passage's terms are
counted once, at index time, by the same FTS5 tokenizer (``term_counts``) and stored with
the passage; a search loads them as a term-major sparse matrix and scores with the formula
of FTS5's bm25() (k1 1.2, b 0.75, weighted columns), in about 2 ms. Tests check
that the scores and the counts are FTS5's own.

A query is a list of phrases, each one term or a prefix (``"releas"*``): every phrase is
OR-ed, as in the FTS5 expression ``lexical_query`` writes.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import sqlite3
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

__all__ = [
    "TOKENIZER",
    "LexicalIndex",
    "Phrase",
    "RECORD",
    "decode_terms",
    "encode_terms",
    "store_terms",
    "term_blobs",
    "term_counts",
    "tokens",
]

TOKENIZER = "porter unicode61 remove_diacritics 2"  # as passages_fts (migration m003)
K1, B = 1.2, 0.75  # FTS5's bm25() constants (fts5_aux.c)

_local = threading.local()
# Runs of characters between whitespace and ASCII punctuation, which unicode61 always
# separates on; a run may still hold several tokens ("rock’n’roll"), so FTS5 splits each.
_RUN = re.compile(r"[^\s!-/:-@\[-`{-~]+")
_CACHE_LIMIT = 500_000


def _tokenizer_db() -> sqlite3.Connection:
    db = getattr(_local, "db", None)
    if db is None:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(text, tokenize='{TOKENIZER}')")
        db.execute("CREATE VIRTUAL TABLE doc_terms USING fts5vocab(docs, 'instance')")
        _local.db = db
        _local.terms = {}
    return db


def _run_terms(runs: set[str]) -> dict[str, tuple[str, ...]]:
    """The FTS5 terms of each run, from SQLite's own tokenizer, remembered per thread."""
    db = _tokenizer_db()
    known: dict[str, tuple[str, ...]] = _local.terms
    new = [r for r in runs if r not in known]
    if new:
        if len(known) + len(new) > _CACHE_LIMIT:
            known.clear()
        db.executemany("INSERT INTO docs (rowid, text) VALUES (?, ?)", enumerate(new))
        found: list[list[str]] = [[] for _ in new]
        for term, doc in db.execute("SELECT term, doc FROM doc_terms ORDER BY doc, offset"):
            found[doc].append(term)
        db.execute("DELETE FROM docs")
        known.update(zip(new, map(tuple, found), strict=True))
    return known


def term_counts(texts: Sequence[tuple[str, str]]) -> list[tuple[Counter[str], Counter[str]]]:
    """For each (text, context): how often each FTS5 term occurs in the text, and in the context.

    The same terms FTS5 indexes: every distinct run of characters goes through SQLite's
    tokenizer once (a test compares the counts with FTS5's own index).
    """
    split = [(_RUN.findall(text), _RUN.findall(context)) for text, context in texts]
    terms = _run_terms({r for pair in split for runs in pair for r in runs}).__getitem__
    by_context: dict[tuple[str, ...], Counter[str]] = {}  # the windows of a turn share one context
    out = []
    for text_runs, context_runs in split:
        key = tuple(context_runs)
        if key not in by_context:
            by_context[key] = Counter(chain.from_iterable(map(terms, context_runs)))
        out.append((Counter(chain.from_iterable(map(terms, text_runs))), by_context[key]))
    return out


def tokens(words: Sequence[str]) -> list[list[str]]:
    """The terms FTS5 indexes for each word (lowercased, diacritics removed, porter-stemmed)."""
    return [list(text) for text, _ in term_counts([(w, "") for w in words])]


# --- storage: term ids and counts in a blob per passage ---------------------------------


# one record per term of a passage: its id, its count in the text and in the context
RECORD = np.dtype([("term", "<u4"), ("text", "<u2"), ("context", "<u2")])


def encode_terms(ids: Sequence[int], text: Sequence[int], context: Sequence[int]) -> bytes:
    """RECORDs for the terms ids with their counts in the text and in the context."""
    if max(text, default=0) > 65535 or max(context, default=0) > 65535:
        text, context = [min(n, 65535) for n in text], [min(n, 65535) for n in context]
    return struct.pack("<" + "IHH" * len(ids), *chain.from_iterable(zip(ids, text, context)))


def decode_terms(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=RECORD)


def term_blobs(db: sqlite3.Connection, texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """The stored form of each (text, context)'s term counts; new terms join lexical_terms."""
    counted = term_counts(texts)
    wanted = set().union(*(text.keys() | context.keys() for text, context in counted))
    known: dict[str, int] = dict(
        db.execute(
            "SELECT term, id FROM lexical_terms WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(wanted))],
        )
    )
    for term in sorted(wanted - known.keys()):
        known[term] = db.execute("INSERT INTO lexical_terms (term) VALUES (?)", [term]).lastrowid
    blobs = []
    for text, context in counted:
        both = list(text.keys() | context.keys())
        blobs.append(encode_terms([known[t] for t in both], [text[t] for t in both], [context[t] for t in both]))
    return blobs


def store_terms(db: sqlite3.Connection, passages: Sequence[tuple[int, str, str]]) -> None:
    """Count and store the terms of (passage id, text, context) rows."""
    blobs = term_blobs(db, [(text, context) for _, text, context in passages])
    db.executemany(
        "UPDATE passages SET terms = ? WHERE id = ?", ((b, pid) for b, (pid, _, _) in zip(blobs, passages, strict=True))
    )


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    term: str  # an FTS5 term, as stored
    prefix: bool = False  # match every term that starts with it


class LexicalIndex:
    """Every passage's term counts as one sparse matrix, sorted by term.

    Rows are the passages in the search index's order, so both sides share their filter masks.
    """

    def __init__(self, db: sqlite3.Connection, blobs: Sequence[bytes | None]) -> None:
        """blobs: each row's stored terms (None: not counted yet)."""
        self.n_rows = len(blobs)
        terms = db.execute("SELECT id, term FROM lexical_terms ORDER BY term").fetchall()
        self.term_names = [t for _, t in terms]  # sorted: prefixes are ranges
        self.term_ids = np.array([i for i, _ in terms], dtype=np.int64)
        # passages whose terms are not counted yet (libraries from before m005)
        self.missing = sum(blob is None for blob in blobs)
        lengths = [len(blob or b"") // RECORD.itemsize for blob in blobs]
        records = decode_terms(b"".join(blob or b"" for blob in blobs))
        rows = np.repeat(np.arange(self.n_rows, dtype=np.int32), lengths)
        ids = records["term"].astype(np.int64)
        counts = np.stack([records["text"], records["context"]], axis=1)
        self.length = np.bincount(rows, weights=counts.sum(axis=1), minlength=self.n_rows).astype(np.float32)
        self.avgdl = float(self.length.sum()) / self.n_rows if self.n_rows else 1.0
        order = np.argsort(ids, kind="stable")
        self.rows = rows[order]
        self.counts = counts[order]
        size = max(int(self.term_ids.max(initial=0)), int(ids.max(initial=0))) + 1
        self.start = np.zeros(size + 1, dtype=np.int64)  # term t's postings: start[t]:start[t + 1]
        np.cumsum(np.bincount(ids, minlength=size), out=self.start[1:])
        self._scored: dict[tuple[float, float], np.ndarray] = {}
        self._lock = threading.Lock()

    def _postings(self, phrase: Phrase) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding the phrase and its count per column in each (summed over prefix terms)."""
        if phrase.prefix:
            lo = bisect.bisect_left(self.term_names, phrase.term)
            hi = bisect.bisect_left(self.term_names, phrase.term + "\U0010ffff")
            ids = self.term_ids[lo:hi]
        else:
            i = bisect.bisect_left(self.term_names, phrase.term)
            ids = self.term_ids[i : i + 1] if i < len(self.term_names) and self.term_names[i] == phrase.term else []
        slices = [slice(self.start[t], self.start[t + 1]) for t in ids]
        if not slices:
            return np.zeros(0, np.int32), np.zeros((0, 2), np.float32)
        if len(slices) == 1:
            return self.rows[slices[0]], self.counts[slices[0]].astype(np.float32)
        # several terms (a prefix): add their counts up per row
        rows = np.concatenate([self.rows[s] for s in slices])
        counts = np.concatenate([self.counts[s] for s in slices]).astype(np.float64)
        text = np.bincount(rows, weights=counts[:, 0], minlength=self.n_rows)
        context = np.bincount(rows, weights=counts[:, 1], minlength=self.n_rows)
        hit = np.flatnonzero((text + context) != 0)  # a bool array: nonzero runs 5x as fast
        return hit.astype(np.int32), np.stack([text[hit], context[hit]], axis=1).astype(np.float32)

    def _term_scores(self, weights: tuple[float, float]) -> np.ndarray:
        """Every posting's BM25 score for its term alone, for these column weights: a phrase of
        one term is then a slice of this (its idf, from its posting count, is fixed)."""
        with self._lock:
            if weights not in self._scored:
                counts = np.diff(self.start)
                idf = np.log((self.n_rows - counts + 0.5) / (counts + 0.5))
                idf[idf <= 0.0] = 1e-6
                # as scores() computes a prefix phrase, in float32, operation for operation
                per_posting = np.repeat(idf.astype(np.float32), counts)
                freq = self.counts.astype(np.float32) @ np.array(weights, dtype=np.float32)
                norm = K1 * (1 - B + B * self.length[self.rows] / self.avgdl)
                self._scored[weights] = per_posting * (freq * (K1 + 1.0)) / (freq + norm)
            return self._scored[weights]

    def scores(self, phrases: Sequence[Phrase], weights: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """(rows matching any phrase, their BM25 score), as FTS5's bm25() computes it, negated.

        idf and the mean length are over every passage, whatever a search filters (as FTS5).
        """
        total = np.zeros(self.n_rows, dtype=np.float64)
        n = self.n_rows
        w = np.array(weights, dtype=np.float32)
        term_scores = self._term_scores(weights)
        for phrase in dict.fromkeys(phrases):
            if not phrase.prefix:
                i = bisect.bisect_left(self.term_names, phrase.term)
                if i < len(self.term_names) and self.term_names[i] == phrase.term:
                    t = self.term_ids[i]
                    span = slice(self.start[t], self.start[t + 1])
                    total[self.rows[span]] += term_scores[span]
                continue
            rows, counts = self._postings(phrase)
            if not len(rows):
                continue
            idf = math.log((n - len(rows) + 0.5) / (len(rows) + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            freq = counts @ w
            norm = K1 * (1 - B + B * self.length[rows] / self.avgdl)
            total[rows] += idf * (freq * (K1 + 1.0)) / (freq + norm)
        # every term found adds more than 0 (idf is at least 1e-6, a count at least 1)
        hit = np.flatnonzero(total != 0)
        return hit, total[hit]

    def rankings(
        self,
        phrases: Sequence[Phrase],
        weights: tuple[float, float],
        allowed: Sequence[np.ndarray | None],
        limit: int,
    ) -> list[np.ndarray]:
        """Rows of the best passages, best first, for each filter (a boolean mask of the rows it
        lets through; None: all), the phrases scored once."""
        matched, matched_score = self.scores(phrases, weights)
        out = []
        for mask in allowed:
            rows, score = matched, matched_score
            if mask is not None:
                keep = mask[rows]
                rows, score = rows[keep], score[keep]
            k = min(limit, len(rows))
            if k == 0:
                out.append(np.zeros(0, np.int64))
                continue
            top = np.argpartition(-score, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
            # best first; equal scores by passage order, so a ranking is reproducible
            top = top[np.lexsort((rows[top], -score[top]))]
            out.append(rows[top])
        return out

"""Tuning the retriever to one library: a query adapter learnt from its own questions and answers.

`podtwin tune` pairs each question a host asked (the last question of a host turn) with
the start of the guest turn that answers it, for turns whose speakers are sure (labelled,
corrected, or attributed at or above the quoting threshold). It then learns a linear map W
of question vectors (384 x 384, starting from the identity) so that W q lies nearest its
own answer passage: in-batch negatives plus passages of other guest turns of the same
episode, softmax cross-entropy, Adam, with a pull towards the identity so that a small
library cannot drag the space far. Passage vectors do not change, so nothing is
re-embedded; search applies W to the query before the dense ranking.

Why an adapter and not a new model: it trains in seconds with numpy on what the library
already stores, needs neither torch nor a GPU, and a user's library of a few hundred
answers is too small to move a transformer's weights safely.

A fifth of the episodes is held out: the adapter is kept only if it ranks their answers
better than no adapter (recall@5 among all the library's passages), and the epoch that did
best there is the one written. Progress is saved after every epoch in the library
(`retriever_tuning`), so an interrupted run resumes; the adapter in use
(`retriever_adapters`) is replaced in one transaction at the end, so until then the
library searches as before.
"""

from __future__ import annotations

import hashlib
import random
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import TuneError
from podtwin.search.embed import DIMENSIONS, MODEL_NAME, Embedder

if TYPE_CHECKING:
    from podtwin.store.library import Library

__all__ = ["MIN_PAIRS", "TuneError", "TuneResult", "adapter_for", "library_pairs", "tune"]

MIN_PAIRS = 40  # below this, a held-out fifth is too small to tell a gain from noise
MIN_QUESTION_WORDS = 5
HARD_NEGATIVES = 4  # passages of other guest turns of the same episode, per question
EPOCHS = 40
BATCH = 32
SCALE = 20.0  # cosine -> logit, as the retriever was trained
LEARNING_RATE = 2e-3
IDENTITY_PULL = 0.5  # weight of |W - I|^2: a small library must not drag the space far
HELD_OUT_EVERY = 5  # every 5th episode (by id) measures, the others train
SEED = 0


@dataclass
class TunePairs:
    questions: list[str]
    episodes: np.ndarray  # episode id per pair
    positive: np.ndarray  # row in `vectors` of each question's answer passage
    negatives: np.ndarray  # pairs x HARD_NEGATIVES rows (-1: none)
    vectors: np.ndarray  # the library's passage vectors (float32, unit length)


@dataclass
class TuneResult:
    pairs: int
    train_pairs: int
    held_out_pairs: int
    recall_before: float  # recall@5 of the held-out answers among every passage, no adapter
    recall_after: float  # ... with the adapter
    epochs: int
    kept: bool  # written to the library (it did better on the held-out pairs)
    resumed_from: int = 0


def _turns(db: sqlite3.Connection) -> list[tuple]:
    return db.execute(
        """SELECT t.episode_id, t.idx, t.role, t.first_sentence, t.last_sentence,
                  (SELECT min(coalesce(s.speaker_confidence, 1.0)) FROM sentences s
                    WHERE s.episode_id = t.episode_id AND s.idx BETWEEN t.first_sentence AND t.last_sentence),
                  t.origin
           FROM turns t WHERE t.role IS NOT NULL ORDER BY t.episode_id, t.idx"""
    ).fetchall()


_WORDS = re.compile(r"\S+")


def library_pairs(library: Library, threshold: float | None = None) -> TunePairs:
    """The library's sure (question, answer passage) pairs, with the passage vectors."""
    from podtwin.speakers.calibration import default_calibration

    threshold = default_calibration().threshold if threshold is None else threshold
    db = library.db
    rows = db.execute(
        """SELECT p.id, p.episode_id, p.first_sentence, p.last_sentence, s.role, e.vector
           FROM passages p
           JOIN sentences s ON s.episode_id = p.episode_id AND s.idx = p.first_sentence
           LEFT JOIN embeddings e ON e.text_hash = p.text_hash AND e.model = ?
           WHERE s.kind = 'conversation' ORDER BY p.id""",
        [MODEL_NAME],
    ).fetchall()
    unembedded = sum(r[5] is None for r in rows)
    if rows and unembedded == len(rows):
        raise TuneError("the library's passages have no vectors of the current model: run `podtwin index` first")
    rows = [r for r in rows if r[5] is not None]
    vectors = (
        np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float16).reshape(-1, DIMENSIONS).astype(np.float32)
        if rows
        else np.zeros((0, DIMENSIONS), np.float32)
    )
    by_episode: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_episode.setdefault(r[1], []).append(i)

    def passage_at(episode: int, sentence: int) -> int | None:
        for i in by_episode.get(episode, ()):
            if rows[i][2] <= sentence <= rows[i][3]:
                return i
        return None

    rng = random.Random(SEED)
    questions, episodes, positive, negatives = [], [], [], []
    turns = _turns(db)
    for asked, answer in zip(turns, turns[1:]):
        if asked[0] != answer[0] or asked[2] != "host" or answer[2] != "guest":
            continue
        if asked[5] < threshold or answer[5] < threshold:
            continue  # a speaker the model is unsure of: the pair may be the wrong way round
        texts = db.execute(
            """SELECT text FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ? AND kind = 'conversation'
               ORDER BY idx DESC""",
            [asked[0], asked[3], asked[4]],
        ).fetchall()
        question = next(
            (t for (t,) in texts if t.rstrip().endswith("?") and len(_WORDS.findall(t)) >= MIN_QUESTION_WORDS), None
        )
        target = passage_at(answer[0], answer[3])
        if question is None or target is None:
            continue
        others = [
            i for i in by_episode[answer[0]] if rows[i][4] == "guest" and not answer[3] <= rows[i][2] <= answer[4]
        ]
        picked = rng.sample(others, min(HARD_NEGATIVES, len(others)))
        questions.append(question)
        episodes.append(answer[0])
        positive.append(target)
        negatives.append(picked + [-1] * (HARD_NEGATIVES - len(picked)))
    return TunePairs(
        questions,
        np.array(episodes, dtype=np.int64),
        np.array(positive, dtype=np.int64),
        np.array(negatives, dtype=np.int64).reshape(-1, HARD_NEGATIVES),
        vectors,
    )


def recall_at(queries: np.ndarray, positive: np.ndarray, vectors: np.ndarray, k: int = 5) -> float:
    """Share of queries whose answer passage is among the k nearest of all passages."""
    if not len(queries):
        return 0.0
    scores = queries @ vectors.T
    own = scores[np.arange(len(queries)), positive]
    better = (scores > own[:, None]).sum(axis=1)
    return float((better < k).mean())


def _loss_and_grad(W, Q, pos, neg, vectors):
    """Softmax cross-entropy of each question over its batch's answers and its hard negatives."""
    A = Q @ W.T  # adapted questions
    docs = np.concatenate([vectors[pos], vectors[np.where(neg >= 0, neg, pos[:, None]).reshape(-1)]])
    logits = SCALE * A @ docs.T
    n = len(Q)
    # a question's missing negatives (-1) and other questions' hard negatives stay in: more negatives
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), np.arange(n)] + 1e-12).mean()
    g = p
    g[np.arange(n), np.arange(n)] -= 1.0
    g *= SCALE / n
    dA = g @ docs
    dW = dA.T @ Q
    eye = np.eye(W.shape[0], dtype=W.dtype)
    loss += IDENTITY_PULL * float(((W - eye) ** 2).sum()) / W.shape[0]
    dW += 2 * IDENTITY_PULL * (W - eye) / W.shape[0]
    return loss, dW


def fingerprint(pairs: TunePairs) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(MODEL_NAME.encode())
    for q in pairs.questions:
        h.update(q.encode())
    h.update(pairs.positive.tobytes())
    return h.hexdigest()


def tune(
    library: Library,
    embedder: Embedder | None = None,
    *,
    epochs: int = EPOCHS,
    threshold: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    stop_after: int | None = None,
) -> TuneResult:
    """Learn the library's query adapter and write it (if it helps on held-out episodes).

    stop_after: stop after this many epochs as if interrupted (progress is kept)."""
    if embedder is None:
        from podtwin.search.embed import default_embedder

        embedder = default_embedder()
    pairs = library_pairs(library, threshold)
    n = len(pairs.questions)
    if n < MIN_PAIRS:
        raise TuneError(
            f"nothing to tune on: the library has {n} sure question-and-answer pairs (a host's question, then a "
            f"guest's answer, both with sure speakers); tuning needs at least {MIN_PAIRS}. Ingest more episodes, "
            "or correct speakers with `podtwin speakers`."
        )
    held = (pairs.episodes % HELD_OUT_EVERY) == HELD_OUT_EVERY - 1
    if held.all() or not held.any():  # too few episodes to split by episode: split by pair
        held = np.arange(n) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    Q = embedder.embed(pairs.questions)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    before = recall_at(Q[test], pairs.positive[test], pairs.vectors)
    key = fingerprint(pairs)
    db = library.db
    state = db.execute(
        "SELECT epoch, matrix, first_moment, second_moment, best_matrix, best_recall FROM retriever_tuning "
        "WHERE fingerprint = ?",
        [key],
    ).fetchone()
    d = DIMENSIONS
    if state:
        start = state[0]
        W, m, v, best_W = (np.frombuffer(b, dtype=np.float32).reshape(d, d).copy() for b in state[1:5])
        best = state[5]
    else:
        start = 0
        W = np.eye(d, dtype=np.float32)
        m, v = np.zeros_like(W), np.zeros_like(W)
        best_W, best = W.copy(), before
    rng = np.random.default_rng(SEED)
    orders = [rng.permutation(train) for _ in range(epochs)]  # the same batches when resumed
    batches = max(1, -(-len(train) // BATCH))
    step = start * batches  # Adam's bias correction goes on from where the run stopped
    for epoch in range(start, epochs):
        for b in range(batches):
            idx = orders[epoch][b * BATCH : (b + 1) * BATCH]
            if len(idx) < 2:
                continue
            _, g = _loss_and_grad(W, Q[idx], pairs.positive[idx], pairs.negatives[idx], pairs.vectors)
            step += 1
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            W -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        recall = recall_at(Q[test] @ W.T, pairs.positive[test], pairs.vectors)
        if recall > best:
            best, best_W = recall, W.copy()
        with library.atomic():
            db.execute("DELETE FROM retriever_tuning")
            db.execute(
                "INSERT INTO retriever_tuning VALUES (?, ?, ?, ?, ?, ?, ?)",
                [key, epoch + 1, W.tobytes(), m.tobytes(), v.tobytes(), best_W.tobytes(), best],
            )
        if on_progress:
            on_progress(epoch + 1, epochs)
        if stop_after is not None and epoch + 1 - start >= stop_after and epoch + 1 < epochs:
            return TuneResult(n, len(train), len(test), before, best, epoch + 1, False, start)
    kept = best > before
    with library.atomic():
        if kept:
            db.execute("DELETE FROM retriever_adapters WHERE model = ?", [MODEL_NAME])
            db.execute(
                "INSERT INTO retriever_adapters VALUES (?, ?, ?, ?, ?, datetime('now'))",
                [MODEL_NAME, best_W.tobytes(), n, before, best],
            )
        db.execute("DELETE FROM retriever_tuning")
    return TuneResult(n, len(train), len(test), before, best, epochs, kept, start)


def adapter_for(db: sqlite3.Connection) -> np.ndarray | None:
    """The library's query adapter for the current model, or None."""
    row = db.execute("SELECT matrix FROM retriever_adapters WHERE model = ?", [MODEL_NAME]).fetchone()
    if row is None:
        return None
    return np.frombuffer(row[0], dtype=np.float32).reshape(DIMENSIONS, DIMENSIONS)

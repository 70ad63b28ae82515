"""Learn a show's host from the show's own library, and spread a creator's corrections.

The host of a show speaks in every episode; the guests change. So a small model of "this
show's host against everyone else", fitted on the show's own episodes, hears the host's
own way of speaking (Lex's "beautifully put", his long framed questions) that the general
model never learnt:

1. every episode is attributed by the general model;
2. sentences it is sure of (at least CONFIDENT either way) and every sentence a creator
   corrected (weighted CORRECTION_WEIGHT) are the host model's training data;
3. the host model is a logistic regression over hashed words and word pairs, fitted per
   fold of episodes: an episode's own sentences never teach the model that scores them
   (so it cannot just agree with itself), and words that only one episode uses (a
   guest's topic) carry no weight;
4. its log-odds, times BIAS_WEIGHT, are added to the general model's host evidence and
   every episode is attributed again; ROUNDS times.

The weights were chosen on the train split of the labelled shows, never on lex-labelled.
Runtime is numpy only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from podtwin.formats.base import Transcript
    from podtwin.speakers.attribution import SpeakerAttributor
    from podtwin.speakers.calibration import Calibration
    from podtwin.speakers.metadata import EpisodeInfo
    from podtwin.speakers.turns import SentenceSpeakers
    from podtwin.text.segmenter import Sentence

__all__ = ["HostModel", "adapt_show", "feature_lists", "fit_host_model"]

DIM = 1 << 18
CONFIDENT = 0.9
CORRECTION_WEIGHT = 5.0
BIAS_WEIGHT = 1.0
ROUNDS = 2
FOLDS = 4
L2 = 1.0
STEPS = 60
MIN_EPISODES = 2
MAX_SENTENCES = 40_000  # training sentences per round: enough for a show's host, bounded time
BALANCED = True  # a word must be used in this many training episodes to carry weight
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def feature_lists(texts: list[str]) -> list[np.ndarray]:
    """Per sentence, its hashed words and word pairs, lowercased, as feature columns
    (computed once per show, reused by every round and fold of adapt_prepared)."""
    out = []
    for text in texts:
        toks = _TOKEN.findall(text.lower().replace("’", "'"))
        feats = {zlib.crc32(t.encode()) for t in toks}
        feats |= {zlib.crc32(f"{a} {b}".encode()) for a, b in zip(["<s>", *toks], [*toks, "</s>"])}
        out.append(np.fromiter(feats, dtype=np.int64, count=len(feats)) % DIM)
    return out


def _stack(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not lists:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(lists)), [len(c) for c in lists])
    return rows, np.concatenate(lists)


class HostModel:
    """Log-odds that a sentence is the host's, from the show's own words."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = weights
        self.bias = bias

    def log_odds(self, texts: list[str], features: list[np.ndarray] | None = None) -> np.ndarray:
        """`features`: feature_lists(texts), when the caller has them already."""
        rows, cols = _stack(feature_lists(texts) if features is None else features)
        z = np.bincount(rows, weights=self.weights[cols], minlength=len(texts))
        return z  # the class prior (bias) is left out: the general model has its own


def fit_host_model(
    texts: list[str],
    y: np.ndarray,
    weight: np.ndarray,
    episode: np.ndarray,
    min_episodes: int = MIN_EPISODES,
    features: list[np.ndarray] | None = None,
) -> HostModel | None:
    """Logistic regression (L2, full-batch gradient descent with Adam steps) on hashed
    features; features used in fewer than MIN_EPISODES episodes are dropped. `features`:
    feature_lists(texts), when the caller has them already."""
    if len(texts) == 0 or len(set(y.tolist())) < 2:
        return None
    rows, cols = _stack(feature_lists(texts) if features is None else features)
    # episodes per feature
    pairs = np.unique(cols * 4096 + (episode[rows] % 4096))
    used = np.bincount(pairs // 4096, minlength=DIM) >= min(min_episodes, len(np.unique(episode)))
    keep = used[cols]
    rows, cols = rows[keep], cols[keep]
    # optimise only the columns in use (the others stay 0: their gradient is 0)
    active, cols = np.unique(cols, return_inverse=True)
    k = len(active)
    n = len(texts)
    w = np.zeros(k)
    b = 0.0
    m = np.zeros(k)
    v = np.zeros(k)
    lr, b1, b2 = 0.05, 0.9, 0.999
    total = weight.sum()
    for step in range(1, STEPS + 1):
        z = np.bincount(rows, weights=w[cols], minlength=n) + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g_row = (p - y) * weight / total
        g = np.bincount(cols, weights=g_row[rows], minlength=k) + L2 * w / total
        b -= lr * 10 * g_row.sum()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + 1e-8)
    full = np.zeros(DIM)
    full[active] = w
    return HostModel(full, b)


def _prepare(transcript: Transcript, sentences: list[Sentence]) -> tuple[list[str], list[str], EpisodeInfo]:
    from podtwin.clean.segments import tag_kinds
    from podtwin.clean.sponsors import default_sponsor_tagger
    from podtwin.speakers.metadata import infer_episode_info

    texts = [s.text for s in sentences]
    sponsor = default_sponsor_tagger().predict(texts, [s.paragraph_start for s in sentences])
    return texts, tag_kinds(sentences, sponsor), infer_episode_info(transcript, sentences)


def adapt_show(
    episodes: Sequence[tuple[Transcript, list[Sentence]]],
    attributor: SpeakerAttributor | None = None,
    corrections: list[dict[int, str]] | None = None,
    rounds: int = ROUNDS,
    bias_weight: float = BIAS_WEIGHT,
    calibration: Calibration | None = None,
) -> list[SentenceSpeakers]:
    """SentenceSpeakers of every episode of one show, after learning the show's host from
    the show itself. `episodes`: (transcript, sentences) pairs; `corrections`: per episode,
    sentence index -> person."""
    prepared = [_prepare(t, s) for t, s in episodes]
    return adapt_prepared(prepared, attributor, corrections, rounds, bias_weight, calibration)


def adapt_prepared(
    prepared: Sequence[tuple[list[str], list[str], EpisodeInfo]],
    attributor: SpeakerAttributor | None = None,
    corrections: list[dict[int, str]] | None = None,
    rounds: int = ROUNDS,
    bias_weight: float = BIAS_WEIGHT,
    calibration: Calibration | None = None,
) -> list[SentenceSpeakers]:
    """As adapt_show, on (texts, kinds, info) per episode."""
    from podtwin.speakers.turns import HOST_KINDS, attribute_sentences

    corrections = corrections or [{} for _ in prepared]
    biases: list[np.ndarray | None] = [None] * len(prepared)
    features: list[list[np.ndarray]] | None = None
    whos = []
    for round_ in range(rounds + 1):
        whos = [
            attribute_sentences(texts, [None] * len(texts), kinds, info, attributor, bias, fixes, calibration)
            for (texts, kinds, info), bias, fixes in zip(prepared, biases, corrections)
        ]
        if round_ == rounds or len(prepared) < 2 and not any(corrections):
            break
        # training data: confident and corrected sentences of the conversation
        data: list[tuple[int, str, float, float, int]] = []  # (episode, text, y, weight, sentence)
        for e, ((texts, kinds, _), who) in enumerate(zip(prepared, whos)):
            for i, text in enumerate(texts):
                if kinds[i] in HOST_KINDS:
                    continue
                if who.origin[i] == "correction":
                    data.append((e, text, 1.0 if who.roles[i] == "host" else 0.0, CORRECTION_WEIGHT, i))
                elif who.origin[i] == "model" and who.confidence[i] >= CONFIDENT:
                    data.append((e, text, 1.0 if who.roles[i] == "host" else 0.0, 1.0, i))
        if not data:
            break
        if len(data) > MAX_SENTENCES:  # a big show: a fixed sample of the model's sentences, every correction
            fixed_rows = [d for d in data if d[3] > 1.0]
            rest = [d for d in data if d[3] <= 1.0]
            pick = np.random.default_rng(0).choice(len(rest), max(0, MAX_SENTENCES - len(fixed_rows)), replace=False)
            data = fixed_rows + [rest[j] for j in np.sort(pick)]
        if features is None:
            features = [feature_lists(texts) for texts, _, _ in prepared]
        ep = np.array([d[0] for d in data])
        texts_all = [d[1] for d in data]
        feats_all = [features[d[0]][d[4]] for d in data]
        y = np.array([d[2] for d in data])
        wt = np.array([d[3] for d in data])
        if BALANCED:  # the guests' side is most of the talk; self-training must not drift to it
            for label in (0.0, 1.0):
                sel = y == label
                if sel.any():
                    wt[sel] *= 0.5 * wt.sum() / wt[sel].sum()
        folds = min(FOLDS, len(prepared))
        new_biases: list[np.ndarray | None] = []
        models: dict[int, HostModel | None] = {}
        for f in range(folds):
            train = ep % folds != f
            if len(prepared) == 1:  # one episode: only its corrections teach
                train = np.array([d[3] > 1.0 for d in data])
            idx = np.flatnonzero(train)
            models[f] = fit_host_model(
                [texts_all[i] for i in idx], y[idx], wt[idx], ep[idx], features=[feats_all[i] for i in idx]
            )
        for e, (texts, _, _) in enumerate(prepared):
            model = models[e % folds]
            new_biases.append(None if model is None else bias_weight * model.log_odds(texts, features[e]))
        biases = new_biases
    return whos

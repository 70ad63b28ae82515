"""Sentence-boundary and question-mark restoration for unpunctuated, uncased text.

Some transcripts arrive as one long lowercase run of words with no punctuation at
all; the rule-based splitter in podtwin.text.sentences cannot cut those. This module
holds the runtime side of a small trained tagger: for each word it says whether a
sentence ends after it, and whether that sentence is a question.

The model (trained by podtwin.lab.train_punctuator on the lenny train split) is a
word embedding followed by a stack of dilated 1-d convolutions (residual, ReLU) and
a per-word softmax over {"", ".", "?"}; each prediction sees about 17 words either
side. Inference is pure numpy and almost all of it is large matrix products, so it
runs at hundreds of thousands of words per second. Weights are int8 with one scale
per output unit.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["LABELS", "Punctuator", "default_punctuator", "normalise_word", "normalise_words"]

LABELS = ("", ".", "?")
DEFAULT_WEIGHTS = Path(__file__).with_name("punctuator.npz")

PAD, UNK, NUM = 0, 1, 2  # reserved ids in front of the vocabulary
N_RESERVED = 3
OOV_BUCKETS = 256  # unknown words are hashed by their 3-letter suffix into this many ids
CHUNK = 32768  # words per forward pass (bounds memory on very long inputs)

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})
_NOT_WORD = re.compile(r"[^\w']+|_")


def normalise_word(token: str) -> str:
    """Lowercase, drop all punctuation except apostrophes inside the word.

    "Don't," -> "don't"; "sprig.com/lenny" -> "sprigcomlenny"; "—" -> "" (dropped).
    """
    t = _NOT_WORD.sub("", token.lower().translate(_APOSTROPHES))
    return t.strip("'")


def normalise_words(tokens: list[str]) -> list[str]:
    """Normalised tokens, empty ones dropped."""
    out = []
    for tok in tokens:
        t = normalise_word(tok)
        if t:
            out.append(t)
    return out


def oov_id(word: str, vocab_size: int) -> int:
    """Id for a word outside the vocabulary: a bucket chosen by its last three characters."""
    return vocab_size + zlib.crc32(word[-3:].encode("utf-8")) % OOV_BUCKETS


def encode(words: list[str], index: dict[str, int]) -> np.ndarray:
    """Model ids for already-normalised words; index maps vocabulary words to ids."""
    n_ids = N_RESERVED + len(index)
    ids = np.empty(len(words), dtype=np.int64)
    get = index.get
    for i, w in enumerate(words):
        j = get(w)
        if j is None:
            j = NUM if w.isdigit() else oov_id(w, n_ids)
        ids[i] = j
    return ids


class Punctuator:
    """Predicts, per word, "" / "." / "?": whether (and how) a sentence ends after it."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        # ids: 0 pad, 1 unk, 2 number, then the vocabulary, then the OOV suffix buckets
        vocab = [str(w) for w in arrays["vocab"]]
        self.index = {w: i + N_RESERVED for i, w in enumerate(vocab)}
        self.emb = _dequantise(arrays["emb_q"], arrays["emb_scale"])
        self.emb[PAD] = 0.0
        self.convs = []
        for i in range(int(arrays["n_convs"])):
            p = f"c{i}_"
            w = _dequantise(arrays[p + "w_q"], arrays[p + "w_scale"])  # (k, in, out)
            self.convs.append((w, arrays[p + "b"].astype(np.float32), int(arrays[p + "dilation"])))
        self.out_w = arrays["out_w"].astype(np.float32)  # (C, 3)
        self.out_b = arrays["out_b"].astype(np.float32)
        self.threshold = float(arrays["threshold"])
        self.question_bias = float(arrays["question_bias"])
        self.context = sum(w.shape[0] // 2 * d for w, _, d in self.convs)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Punctuator:
        path = DEFAULT_WEIGHTS if path is None else Path(path)
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    # -- model ---------------------------------------------------------------------

    @staticmethod
    def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
        """'Same' 1-d convolution over time, zero padded. x: (T, in), w: (k, in, out)."""
        k = w.shape[0]
        t = x.shape[0]
        pad = dilation * (k // 2)
        xp = np.pad(x, ((pad, pad), (0, 0)))
        out = xp[0:t] @ w[0]
        for j in range(1, k):
            out += xp[j * dilation : j * dilation + t] @ w[j]
        out += b
        return out

    def _logits(self, ids: np.ndarray) -> np.ndarray:
        """ids: (T,) -> logits (T, 3)."""
        h = self.emb[ids]
        for i, (w, b, d) in enumerate(self.convs):
            y = np.maximum(self._conv(h, w, b, d), 0.0)
            h = y if i == 0 else h + y
        return h @ self.out_w + self.out_b

    def encode(self, words: list[str]) -> np.ndarray:
        """Ids for already-normalised words."""
        return encode(words, self.index)

    def probabilities(self, words: list[str]) -> np.ndarray:
        """(n, 3) class probabilities for already-normalised, non-empty words."""
        n = len(words)
        if n == 0:
            return np.zeros((0, 3), dtype=np.float32)
        ids = self.encode(words)
        logits = np.empty((n, 3), dtype=np.float32)
        # long inputs in chunks; each chunk sees `context` extra words on both sides,
        # which covers the receptive field, so chunking does not change the result
        ctx = self.context
        for s in range(0, n, CHUNK):
            e = min(n, s + CHUNK)
            a, z = max(0, s - ctx), min(n, e + ctx)
            logits[s:e] = self._logits(ids[a:z])[s - a : s - a + (e - s)]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, words: list[str]) -> list[str]:
        """Per input token: "" (no boundary), "." or "?" (a sentence ends after it).

        Tokens may be raw (any casing, stray punctuation); they are normalised here, and
        tokens that normalise to nothing (e.g. "—") never end a sentence themselves.
        """
        kept: list[int] = []
        norm: list[str] = []
        seen: dict[str, str] = {}
        for i, tok in enumerate(words):
            t = seen.get(tok)
            if t is None:
                t = seen[tok] = normalise_word(tok)
            if t:
                kept.append(i)
                norm.append(t)
        out = [""] * len(words)
        if not norm:
            return out
        p = self.probabilities(norm)
        boundary = (p[:, 1] + p[:, 2]) > self.threshold
        question = p[:, 2] + self.question_bias > p[:, 1]
        for j in np.flatnonzero(boundary):
            out[kept[j]] = "?" if question[j] else "."
        return out


def _dequantise(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int8 weights with one float scale per output unit (the last axis of q)."""
    return q.astype(np.float32) * scale.astype(np.float32)


@lru_cache(maxsize=1)
def default_punctuator() -> Punctuator:
    """The packaged model, loaded once."""
    return Punctuator.load()

"""Which sentences of a transcript are sponsor reads (ads read by the host).

Model (trained by :mod:`podtwin.lab.train_sponsors` on the labelled Lenny train split; ground-truth
rule in :mod:`podtwin.lab.evaluate_sponsors`):

1. *Sentence scorer*: logistic regression over word unigrams and bigrams (including a
   sentence-start marker), sentence-length bins and relative-position bins. Text is normalised so
   that written and spoken forms meet: lowercased, "vanta.com/lenny" and "vanta dot com slash
   lenny" both become ``vanta dot com slash <slug>`` (the show-specific path after "slash" is
   replaced, so "slash lenny" carries over to "slash lex"), spelled-out names ("E-P-P-O") become
   one marker, every digit becomes 0. Punctuation and case are otherwise ignored, so
   unpunctuated lowercase sentences work.
2. *Context stage*: a small logistic regression over each sentence's neighbourhood of scores
   (own logit; max logit over the 3/10/25 sentences before and after, and the smaller of the
   two; share of positive sentences within 10), fitted on held-out scores: the middle of a
   read, bracketed by an announcement and a call to action, scores higher than alone.
3. *Smoothing*: a 2-state HMM (content / sponsor) decoded with Viterbi. Emissions are the
   context posterior divided by the class prior, raised to a tuned power, plus a tuned sponsor
   bias; transition probabilities are counted on the train split, separately for sentences that
   start a source paragraph, sentences inside a paragraph, and for the no-structure case
   (``paragraph_starts`` is None), so switching is cheap at paragraph starts when they are known.

Everything at run time is numpy plus bytes operations: one translate/split pass tokenises the
whole transcript, tokens are looked up in a vocabulary dict, bigrams through a multiplicative
hash index over pair keys, sentence sums with ``bincount``; Viterbi is a plain 2-state loop.
A 15,000-sentence transcript takes about 40-60 ms.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import numpy as np

__all__ = ["SponsorTagger", "default_sponsor_tagger", "sentence_tokens", "DEFAULT_WEIGHTS"]

DEFAULT_WEIGHTS = Path(__file__).with_name("sponsors.npz")

SEP = "\x01"  # sentence-start token; its unigram weight is the bias
LENGTH_BINS = np.array([4, 8, 16, 32])  # token counts -> 5 bins
POSITION_BINS = np.array([0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9])  # -> 10 bins
N_DENSE = len(LENGTH_BINS) + 1 + len(POSITION_BINS) + 1

# one byte-level pass: ASCII letters lowercased, digits -> "0", apostrophe/$/%/SEP kept, all else space
_TABLE = bytearray(b" " * 256)
for _c in range(ord("a"), ord("z") + 1):
    _TABLE[_c] = _c
    _TABLE[_c - 32] = _c
for _c in range(ord("0"), ord("9") + 1):
    _TABLE[_c] = ord("0")
for _c in b"'$%.\x01":
    _TABLE[_c] = _c
_TABLE = bytes(_TABLE)
_LOWER = bytes(range(65)) + bytes(range(97, 123)) + bytes(range(91, 256))
SLASH, SLUG, SPELLED = "slash", "zzslug", "zzspelled"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
TLDS = ("com", "io", "ai", "dev", "co", "org", "app", "net", "run", "tech", "trade", "fm", "tv")
SPECIAL_TOKENS = (SEP, SLASH, SLUG, SPELLED, ".", "dot", *LETTERS, *TLDS)


def _token_bytes(sentences: list[str]) -> list[bytes]:
    """All tokens in order, each sentence opened by SEP; "." and "slash" are tokens of their own.

    "vanta.com/lenny" -> vanta . com slash lenny. :func:`map_ids` then turns "." before a
    top-level domain into "dot" (so written and spoken addresses meet) and drops other dots,
    replaces the token after "slash" with the slug marker and runs of single letters
    ("E-P-P-O") with the spelled-out marker. Plain bytes operations only: this is the hot path.
    """
    joined = (" " + SEP + " ").join(sentences)
    if joined.count(SEP) != max(len(sentences) - 1, 0):  # a sentence holds the separator itself
        joined = (" " + SEP + " ").join(s.replace(SEP, " ") for s in sentences)
    text = (SEP + " " + joined).replace("\u2019", "'").encode("ascii", "replace").translate(_LOWER)
    text = text.replace(b"/", b" slash ").replace(b".", b" . ")
    return text.translate(_TABLE).split()


def sentence_tokens(sentences: list[str]) -> list[str]:
    """Tokens as text (before the id-level replacements); for vocabularies and inspection."""
    return [t.decode("ascii") for t in _token_bytes(sentences)]


def map_ids(
    tokens: list[bytes], vocab: dict[bytes, int], special: dict[str, int], tables: dict[str, np.ndarray]
) -> np.ndarray:
    """Vocabulary ids (-1 unknown) with the id-level replacements applied (see _token_bytes).

    tables["letter"], tables["tld"]: bool tables over ids plus a trailing False for id -1.
    """
    ids = np.fromiter(map(vocab.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
    if len(ids) < 2:
        return ids[ids != special["."]]
    period = ids == special["."]
    before_tld = np.zeros(len(ids), dtype=bool)
    before_tld[:-1] = tables["tld"][ids[1:]]
    ids[period & before_tld] = special["dot"]
    ids = ids[~(period & ~before_tld)]
    if len(ids) > 2:
        one = tables["letter"][ids]
        run = one[:-2] & one[1:-1] & one[2:]
        mark = np.zeros(len(ids), dtype=bool)
        mark[:-2] |= run
        mark[1:-1] |= run
        mark[2:] |= run
        ids[mark] = special[SPELLED]
    after = np.flatnonzero(ids[:-1] == special[SLASH]) + 1
    after = after[ids[after] != special[SEP]]
    ids[after] = special[SLUG]
    return ids


_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


class PairIndex:
    """Position of int64 keys in a key array, by multiplicative hashing with linear probing.

    The table is kept at most 1/8 full, so nearly every absent query stops at an empty slot on
    the first probe: much faster than searchsorted for ~10^5 random queries.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.bits = max(10, int(np.ceil(np.log2(max(len(self.keys), 1) * 8))))
        self.mask = (1 << self.bits) - 1
        self.table = np.full(1 << self.bits, -1, dtype=np.int64)
        home = self._slots(self.keys)
        pending = np.arange(len(self.keys))
        offset = 0
        while len(pending):
            slots = (home[pending] + offset) & self.mask
            free = np.flatnonzero(self.table[slots] == -1)
            used, first = np.unique(slots[free], return_index=True)
            self.table[used] = pending[free[first]]
            placed = np.zeros(len(pending), dtype=bool)
            placed[free[first]] = True
            pending = pending[~placed]
            offset += 1
        self.max_probe = offset
        # empty slots point at a sentinel key (-1) that no query equals: no masks in the hot path
        self._empty = len(self.keys)
        self._probe_keys = np.append(self.keys, -1)
        self._probe_table = np.where(self.table < 0, self._empty, self.table)

    def _slots(self, q: np.ndarray) -> np.ndarray:
        return ((q.astype(np.uint64) * _HASH_MULT) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, q: np.ndarray) -> np.ndarray:
        """Index into keys of each query, -1 when absent."""
        q = np.asarray(q, dtype=np.int64)
        if not len(self.keys) or not len(q):
            return np.full(len(q), -1, dtype=np.int64)
        empty, keys, table = self._empty, self._probe_keys, self._probe_table
        slots = self._slots(q)
        cand = table[slots]
        match = keys[cand] == q
        out = np.where(match, cand, -1)
        todo = np.flatnonzero((cand != empty) & ~match)  # collided: keep probing
        for offset in range(1, self.max_probe):
            if not len(todo):
                break
            cand = table[(slots[todo] + offset) & self.mask]
            match = keys[cand] == q[todo]
            out[todo[match]] = cand[match]
            todo = todo[(cand != empty) & ~match]
        return out


CONTEXT_WINDOWS = (3, 10, 25)
N_CONTEXT = 1 + 3 * len(CONTEXT_WINDOWS) + 1


def context_features(z: np.ndarray) -> np.ndarray:
    """(n, N_CONTEXT) features of each sentence's neighbourhood of sentence logits.

    A read is bracketed by an announcement and a call to action, so the middle of a read
    (sentences that alone look like conversation) shows as strong scores both before and
    after: own logit; for k in CONTEXT_WINDOWS the max logit over the k sentences before, over
    the k after, and the smaller of the two; the fraction of positive logits within 10 each side.
    """
    z = np.clip(np.asarray(z, dtype=np.float64), -10.0, 10.0)
    n = len(z)
    cols = [z]
    for k in CONTEXT_WINDOWS:
        padded = np.concatenate([np.full(k, -10.0), z, np.full(k, -10.0)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, k).max(axis=1)  # windows[j] = max padded[j:j+k]
        before = windows[:n]  # z[i-k:i]
        after = windows[k + 1 : k + 1 + n]  # z[i+1:i+k+1]
        cols += [before, after, np.minimum(before, after)]
    pos = np.concatenate([[0], np.cumsum(z > 0)])
    lo = np.clip(np.arange(n) - 10, 0, n)
    hi = np.clip(np.arange(n) + 11, 0, n)
    cols.append((pos[hi] - pos[lo]) / 21.0)
    return np.stack(cols, axis=1)


def dense_features(n_tokens: np.ndarray) -> np.ndarray:
    """(n, 2) indices into the dense block: length bin, position bin (offset by the length bins)."""
    n = len(n_tokens)
    length_bin = np.searchsorted(LENGTH_BINS, n_tokens, side="right")
    rel = (np.arange(n) + 0.5) / max(n, 1)
    pos_bin = np.searchsorted(POSITION_BINS, rel, side="right") + len(LENGTH_BINS) + 1
    return np.stack([length_bin, pos_bin], axis=1)


class SponsorTagger:
    """Sentence-level sponsor-read tagger: logistic regression scorer + 2-state Viterbi smoothing."""

    def __init__(
        self,
        vocab: list[str],
        unigram_w: np.ndarray,
        bigram_keys: np.ndarray,
        bigram_w: np.ndarray,
        dense_w: np.ndarray,
        log_trans: np.ndarray,
        prior: float,
        emission_power: float,
        sponsor_bias: float,
        context_w: np.ndarray | None = None,
    ) -> None:
        self.words = list(vocab)
        self.vocab = {w.encode("ascii"): i for i, w in enumerate(vocab)}
        self.vocab_size = len(vocab)
        self.unigram_w = np.asarray(unigram_w, dtype=np.float64)
        self.bigram_keys = np.asarray(bigram_keys, dtype=np.int64)
        self.bigram_index = PairIndex(self.bigram_keys)
        self.bigram_w = np.asarray(bigram_w, dtype=np.float64)
        self.dense_w = np.asarray(dense_w, dtype=np.float64)
        self._unigram_w0 = np.append(self.unigram_w, 0.0)
        self._bigram_w0 = np.append(self.bigram_w, 0.0)
        # log_trans[c] (c: 0 = inside paragraph, 1 = paragraph start, 2 = structure unknown) is a
        # 2x2 matrix of log P(state_i | state_{i-1}); row = previous state.
        self.log_trans = np.asarray(log_trans, dtype=np.float64)
        self.prior = float(prior)
        self.emission_power = float(emission_power)
        self.sponsor_bias = float(sponsor_bias)
        # second stage: logistic regression over context_features (N_CONTEXT weights + bias);
        # None means decode the sentence logits directly
        self.context_w = None if context_w is None else np.asarray(context_w, dtype=np.float64)
        self._sep = self.vocab[SEP.encode()]
        self._special = {w: self.vocab[w.encode()] for w in SPECIAL_TOKENS}
        # bool tables indexed by id; index -1 (unknown token) hits the trailing False
        self._tables = {}
        for name, words in (("letter", LETTERS), ("tld", TLDS)):
            table = np.zeros(self.vocab_size + 1, dtype=bool)
            table[[self.vocab[w.encode()] for w in words]] = True
            self._tables[name] = table

    # ----------------------------------------------------------------- persistence
    @classmethod
    def load(cls, path: str | Path | None = None) -> SponsorTagger:
        with np.load(Path(path) if path is not None else DEFAULT_WEIGHTS, allow_pickle=False) as z:
            vocab = str(z["vocab"]).split("\n")
            return cls(
                vocab=vocab,
                unigram_w=z["unigram_w"].astype(np.float64) * float(z["unigram_scale"]),
                bigram_keys=z["bigram_keys"],
                bigram_w=z["bigram_w"].astype(np.float64) * float(z["bigram_scale"]),
                dense_w=z["dense_w"],
                log_trans=z["log_trans"],
                prior=float(z["prior"]),
                emission_power=float(z["emission_power"]),
                sponsor_bias=float(z["sponsor_bias"]),
                context_w=z["context_w"] if "context_w" in z.files else None,
            )

    def save(self, path: str | Path) -> None:
        vocab = self.words
        uq, us = _quantise(self.unigram_w)
        bq, bs = _quantise(self.bigram_w)
        np.savez_compressed(
            path,
            vocab=np.array("\n".join(vocab)),
            unigram_w=uq,
            unigram_scale=us,
            bigram_keys=self.bigram_keys.astype(np.int64),
            bigram_w=bq,
            bigram_scale=bs,
            dense_w=self.dense_w.astype(np.float32),
            log_trans=self.log_trans.astype(np.float32),
            prior=np.float64(self.prior),
            emission_power=np.float64(self.emission_power),
            sponsor_bias=np.float64(self.sponsor_bias),
            **({} if self.context_w is None else {"context_w": self.context_w}),
        )

    # ----------------------------------------------------------------- scoring
    def token_ids(self, sentences: list[str]) -> np.ndarray:
        return map_ids(_token_bytes(sentences), self.vocab, self._special, self._tables)

    def sentence_logits(self, sentences: list[str]) -> np.ndarray:
        """Logistic-regression logit of P(sponsor) for each sentence (no smoothing)."""
        n = len(sentences)
        if n == 0:
            return np.zeros(0)
        ids = self.token_ids(sentences)
        sent = np.cumsum(ids == self._sep) - 1
        # id -1 (unknown) and bigram index -1 (absent) pick the trailing 0 weight: no masking
        logit = np.bincount(sent, weights=self._unigram_w0[ids], minlength=n)
        # bigrams within a sentence (the pair (SEP, first word) marks the sentence start)
        prev, cur = ids[:-1], ids[1:]
        ok = (prev >= 0) & (cur >= 0) & (cur != self._sep)
        if len(self.bigram_keys) and len(cur):
            pos = self.bigram_index.find(np.where(ok, prev * self.vocab_size + cur, -2))
            logit += np.bincount(sent[1:], weights=self._bigram_w0[pos], minlength=n)
        n_tokens = np.bincount(sent, minlength=n) - 1
        dense = dense_features(n_tokens)
        logit += self.dense_w[dense[:, 0]] + self.dense_w[dense[:, 1]]
        return logit

    def read_logits(self, sentences: list[str]) -> np.ndarray:
        """Logit of P(sentence is in a sponsor read), from the sentence and its neighbourhood."""
        return self.context_logits(self.sentence_logits(sentences))

    def context_logits(self, z: np.ndarray) -> np.ndarray:
        if self.context_w is None or len(z) == 0:
            return z
        return context_features(z) @ self.context_w[:-1] + self.context_w[-1]

    def sentence_probabilities(self, sentences: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.read_logits(sentences)))

    # ----------------------------------------------------------------- decoding
    def predict(self, sentences: list[str], paragraph_starts: list[bool] | None = None) -> list[bool]:
        """True for each sentence that belongs to a sponsor read."""
        n = len(sentences)
        if n == 0:
            return []
        if paragraph_starts is not None and len(paragraph_starts) != n:
            raise ValueError("paragraph_starts must have one entry per sentence")
        return self.decode(self.read_logits(sentences), paragraph_starts)

    def decode(self, logit: np.ndarray, paragraph_starts: list[bool] | None = None) -> list[bool]:
        """Viterbi path given read logits."""
        n = len(logit)
        # log p(s|x) - log p(s) for both states, as scaled likelihoods
        log_p1 = -np.logaddexp(0.0, -logit)
        log_p0 = -np.logaddexp(0.0, logit)
        e1 = self.emission_power * (log_p1 - math.log(self.prior)) + self.sponsor_bias
        e0 = self.emission_power * (log_p0 - math.log(1.0 - self.prior))
        if paragraph_starts is None:
            kind = np.full(n, 2, dtype=np.int64)
        else:
            kind = np.asarray(paragraph_starts, dtype=bool).astype(np.int64)
        return viterbi2(e0, e1, kind, self.log_trans)


def viterbi2(e0: np.ndarray, e1: np.ndarray, kind: np.ndarray, log_trans: np.ndarray) -> list[bool]:
    """Most likely 0/1 state path of a 2-state HMM; kind[i] picks the transition matrix into i."""
    n = len(e0)
    if n == 0:
        return []
    t = log_trans[kind]  # (n, 2, 2)
    t00, t01, t10, t11 = (t[:, 0, 0].tolist(), t[:, 0, 1].tolist(), t[:, 1, 0].tolist(), t[:, 1, 1].tolist())
    a0, a1 = e0.tolist(), e1.tolist()
    # start: the transition out of a virtual "content" state before the first sentence
    s0 = t00[0] + a0[0]
    s1 = t01[0] + a1[0]
    back = bytearray(2 * n)  # back[2i + s] = previous state on the best path into state s at i
    for i in range(1, n):
        f00 = s0 + t00[i]
        f10 = s1 + t10[i]
        f01 = s0 + t01[i]
        f11 = s1 + t11[i]
        if f10 > f00:
            n0 = f10
            back[2 * i] = 1
        else:
            n0 = f00
        if f11 > f01:
            n1 = f11
            back[2 * i + 1] = 1
        else:
            n1 = f01
        s0 = n0 + a0[i]
        s1 = n1 + a1[i]
    state = 1 if s1 > s0 else 0
    out = [False] * n
    for i in range(n - 1, -1, -1):
        out[i] = state == 1
        state = back[2 * i + state]
    return out


def _quantise(w: np.ndarray) -> tuple[np.ndarray, np.float64]:
    """int16 weights and the scale that restores them (keeps the packaged file small)."""
    w = np.asarray(w, dtype=np.float64)
    scale = float(np.abs(w).max()) / 32000.0 if len(w) and np.abs(w).max() > 0 else 1.0
    return np.round(w / scale).astype(np.int16), np.float64(scale)


@lru_cache(maxsize=1)
def default_sponsor_tagger() -> SponsorTagger:
    """The packaged tagger, loaded once."""
    return SponsorTagger.load()

"""Who said what in an unlabelled two-person conversation: host or guest, per sentence.

Each sentence is described by hashed features of its own words (words, word pairs,
first and last words, end mark, length) and of its seam with the sentence before (the
end of one and the start of the next, whole short sentences such as back-channels
"Yeah." / "Right."). A small network reads the whole conversation at once:

* each sentence's two feature bags are summed embeddings, mixed by a linear layer;
* residual dilated convolutions over the sentence sequence let every sentence see about
  15 sentences either side (a long answer after a question, a host's multi-sentence
  question, an interjection inside someone else's answer);
* two heads: P(host) per sentence, and P(the speaker changes) between neighbours.

A two-state hidden Markov decoding turns those into roles: forward-backward gives each
sentence's posterior P(host), Viterbi the most likely role sequence; turns are its runs,
with the mean posterior of their role as confidence.

Trained by podtwin.lab.train_attribution (torch); runtime is numpy only. Features
are hashed with a stable hash (crc32), so the packaged weights work in any process.
Names are not features: training replaced the host's and guests' names with a
placeholder; callers that know the names pass them (``names=``) to get the same
treatment.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["Analysis", "SpeakerAttributor", "Turn", "default_attributor", "emission_features", "transition_features"]

DEFAULT_WEIGHTS = Path(__file__).with_name("attribution.npz")
ROLES = ("host", "guest")  # state 0 = host, 1 = guest
LOGITS_CACHE = 512  # conversations whose network logits are kept (a show's episodes, re-decoded)

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})
_CLOSERS = "\"'”’)] "
NAME = "<name>"

# hashing constants (uint64 arithmetic wraps)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SHIFT = np.uint64(29)
# pseudo-tokens padding each sentence: two before, three after
_B2, _B1, _E1, _E2, _E3 = (np.uint64(zlib.crc32(t.encode())) for t in ("<b2>", "<b1>", "<e1>", "<e2>", "<e3>"))
PAD_BEFORE, PAD_AFTER = 2, 3
SHORT_WORDS = 4  # sentences this short also get a whole-sentence feature

_MARKS = {"?": 1, ".": 2, "!": 3, "…": 2}
_LEN_EDGES = np.array([1, 2, 3, 4, 6, 9, 13, 21, 36])  # length bin = number of edges <= n


@dataclass
class Analysis:
    p_host: np.ndarray  # (n,) posterior P(host) per sentence
    path: np.ndarray  # (n,) Viterbi role per sentence: 0 host, 1 guest
    p_change: np.ndarray  # (n-1,) P(the speaker changes between i and i+1)
    host_logit: np.ndarray  # (n,) the network's host evidence, before decoding


@dataclass
class Turn:
    first: int  # sentence index, inclusive
    last: int  # inclusive
    role: str  # "host" or "guest"
    confidence: float  # mean posterior of the role over the turn, 0..1


# -- tokens and features --------------------------------------------------------------------

_token_ids: dict[str, int] = {}


def _tid(tok: str) -> int:
    h = _token_ids.get(tok)
    if h is None:
        h = zlib.crc32(tok.encode())
        if len(_token_ids) < 500_000:
            _token_ids[tok] = h
    return h


def _name_words(names: Sequence[str] | None) -> set[str]:
    out: set[str] = set()
    for name in names or ():
        for w in _TOKEN.findall(str(name).lower().translate(_APOSTROPHES)):
            if len(w) > 1:
                out.add(w)
                out.add(w + "'s")
    return out


@dataclass
class Encoded:
    """Sentences as padded token-id sequences plus per-sentence facts."""

    ids: np.ndarray  # uint64, all sentences' padded sequences, concatenated
    starts: np.ndarray  # int64, where each sentence's padded sequence starts in ids
    n_words: np.ndarray  # int64
    mark: np.ndarray  # int64: 0 none, 1 "?", 2 ".", 3 "!"
    short: np.ndarray  # uint64: hash of the whole sentence (meaningful when short)


UNKNOWN = "<w>"


def encode_sentences(
    sentences: list[str], names: Sequence[str] | None = None, vocab: frozenset[int] | None = None
) -> Encoded:
    """`vocab`: token ids the model knows; any other word is read as UNKNOWN, so a model
    with a vocabulary of words common to every show cannot learn one show's topics."""
    name_words = _name_words(names)
    name_id = _tid(NAME)
    unknown_id = _tid(UNKNOWN)
    ids: list[int] = []
    starts = np.empty(len(sentences), dtype=np.int64)
    n_words = np.empty(len(sentences), dtype=np.int64)
    mark = np.zeros(len(sentences), dtype=np.int64)
    short = np.zeros(len(sentences), dtype=np.uint64)
    b2, b1, e1, e2, e3 = (int(x) for x in (_B2, _B1, _E1, _E2, _E3))
    for i, s in enumerate(sentences):
        low = s.lower().translate(_APOSTROPHES)
        toks = _TOKEN.findall(low)
        if name_words:
            toks = [NAME if t in name_words else t for t in toks]
        stripped = low.rstrip(_CLOSERS)
        if stripped:
            mark[i] = _MARKS.get(stripped[-1], 0)
        starts[i] = len(ids)
        n_words[i] = len(toks)
        ids.append(b2)
        ids.append(b1)
        if vocab is None:
            ids.extend(name_id if t == NAME else _tid(t) for t in toks)
        else:
            for t in toks:
                h = name_id if t == NAME else _tid(t)
                ids.append(h if h in vocab or h == name_id else unknown_id)
        ids.append(e1)
        ids.append(e2)
        ids.append(e3)
        if len(toks) <= SHORT_WORDS:
            short[i] = zlib.crc32(" ".join(toks).encode())
    return Encoded(np.array(ids, dtype=np.uint64), starts, n_words, mark, short)


def _mix(kind: int, *parts: np.ndarray) -> np.ndarray:
    seed = (kind * 0x165667B19E3779F9 + 1) & 0xFFFFFFFFFFFFFFFF
    h = np.full(np.shape(parts[0]), seed, dtype=np.uint64)
    for p in parts:
        h = (h ^ np.asarray(p, dtype=np.uint64)) * _M1
        h ^= h >> _SHIFT
    h *= _M2
    h ^= h >> _SHIFT
    return h


def _len_bin(n: np.ndarray) -> np.ndarray:
    return np.searchsorted(_LEN_EDGES, n, side="right").astype(np.uint64)


def emission_features(enc: Encoded, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): hashed feature indexes of each sentence (binary features, repeats add)."""
    n = len(enc.starts)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.append(enc.starts[1:], len(enc.ids))
    lengths = ends - enc.starts
    row_of_pos = np.repeat(np.arange(n), lengths)
    pos_in = np.arange(len(enc.ids)) - np.repeat(enc.starts, lengths)
    inner = (pos_in >= PAD_BEFORE) & (pos_in < np.repeat(lengths, lengths) - PAD_AFTER)
    ids = enc.ids
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    # unigrams
    rows.append(row_of_pos[inner])
    cols.append(_mix(1, ids[inner]))
    # bigrams, including <b1> w1 and wn <e1>
    j = np.flatnonzero((pos_in[:-1] >= PAD_BEFORE - 1) & (pos_in[1:] < np.repeat(lengths, lengths)[1:] - PAD_AFTER + 1))
    j = j[row_of_pos[j] == row_of_pos[j + 1]]
    rows.append(row_of_pos[j])
    cols.append(_mix(2, ids[j], ids[j + 1]))
    r = np.arange(n)
    f1 = ids[enc.starts + 2]
    f2 = ids[enc.starts + 3]
    last = ends - PAD_AFTER - 1
    l1 = ids[last]
    l2 = ids[last - 1]
    mark = enc.mark.astype(np.uint64)
    lb = _len_bin(enc.n_words)
    for kind, parts in (
        (3, (f1,)),
        (4, (f1, f2)),
        (5, (l1, mark)),
        (6, (l2, l1, mark)),
        (7, (mark,)),
        (8, (lb,)),
        (9, (lb, mark)),
        (10, (np.zeros(n, np.uint64),)),
        (12, (f1, mark)),
    ):
        rows.append(r)
        cols.append(_mix(kind, *parts))
    sh = enc.n_words <= SHORT_WORDS
    rows.append(r[sh])
    cols.append(_mix(11, enc.short[sh], mark[sh]))
    return np.concatenate(rows), (np.concatenate(cols) % np.uint64(dim)).astype(np.int64)


def transition_features(enc: Encoded, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): hashed feature indexes of each seam (i, i+1), i = 0..n-2, as row i."""
    n = len(enc.starts) - 1
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.append(enc.starts[1:], len(enc.ids))
    a_last = ends[:-1] - PAD_AFTER - 1
    b_start = enc.starts[1:]
    ids = enc.ids
    la1, la2 = ids[a_last], ids[a_last - 1]
    fb1, fb2, fb3 = ids[b_start + 2], ids[b_start + 3], ids[b_start + 4]
    ma, mb = enc.mark[:-1].astype(np.uint64), enc.mark[1:].astype(np.uint64)
    lba, lbb = _len_bin(enc.n_words[:-1]), _len_bin(enc.n_words[1:])
    sha, shb = enc.short[:-1], enc.short[1:]
    short_a = enc.n_words[:-1] <= SHORT_WORDS
    short_b = enc.n_words[1:] <= SHORT_WORDS
    # after a short b, what comes next (c) says whether b was an interjection
    if n >= 2:
        fc1 = np.append(ids[enc.starts[2:] + 2], _E1)
        lbc = np.append(_len_bin(enc.n_words[2:]), np.uint64(0))
    else:
        fc1 = np.full(n, _E1, dtype=np.uint64)
        lbc = np.zeros(n, dtype=np.uint64)
    r = np.arange(n)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for kind, parts in (
        (1, (la1, ma)),
        (2, (la2, la1, ma)),
        (3, (fb1,)),
        (4, (fb1, fb2)),
        (5, (fb1, fb2, fb3)),
        (6, (ma,)),
        (7, (mb,)),
        (8, (lba,)),
        (9, (lbb,)),
        (10, (ma, lbb)),
        (13, (np.zeros(n, np.uint64),)),
        (14, (ma, fb1)),
        (15, (lba, lbb)),
        (16, (ma, mb, lbb)),
    ):
        rows.append(r)
        cols.append(_mix(kind, *parts))
    rows.append(r[short_a])
    cols.append(_mix(11, sha[short_a], ma[short_a]))
    rows.append(r[short_b])
    cols.append(_mix(12, shb[short_b], mb[short_b]))
    rows.append(r[short_b])
    cols.append(_mix(17, shb[short_b], fc1[short_b]))
    rows.append(r[short_b])
    cols.append(_mix(18, shb[short_b], lbc[short_b], lba[short_b]))
    return np.concatenate(rows), (np.concatenate(cols) % np.uint64(dim)).astype(np.int64)


# -- decoding -------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def forward_backward(p_host: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Posterior P(host) per sentence. p_host: (n,) emission P(host|x) as likelihood odds;
    change: (n-1,) P(the speaker changes between i and i+1)."""
    n = len(p_host)
    eh = np.clip(p_host.astype(np.float64), 1e-12, 1.0 - 1e-12).tolist()
    ch = np.clip(change.astype(np.float64), 1e-12, 1.0 - 1e-12).tolist()
    fh = [0.0] * n
    fg = [0.0] * n
    fh[0], fg[0] = eh[0], 1.0 - eh[0]
    for i in range(1, n):
        h, g, c, e = fh[i - 1], fg[i - 1], ch[i - 1], eh[i]
        a = (h * (1.0 - c) + g * c) * e
        b = (h * c + g * (1.0 - c)) * (1.0 - e)
        s = a + b
        fh[i], fg[i] = a / s, b / s
    post = [0.0] * n
    bh = bg = 1.0
    post[n - 1] = fh[n - 1]
    for i in range(n - 2, -1, -1):
        e, c = eh[i + 1], ch[i]
        xh = bh * e
        xg = bg * (1.0 - e)
        nbh = (1.0 - c) * xh + c * xg
        nbg = c * xh + (1.0 - c) * xg
        s = nbh + nbg
        bh, bg = nbh / s, nbg / s
        a = fh[i] * bh
        post[i] = a / (a + fg[i] * bg)
    return np.array(post)


def viterbi(p_host: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Most likely role per sentence (0 host, 1 guest); arguments as for forward_backward."""
    n = len(p_host)
    p = p_host.astype(np.float64)
    le_h = np.log(np.clip(p, 1e-12, 1.0)).tolist()
    le_g = np.log(np.clip(1.0 - p, 1e-12, 1.0)).tolist()
    c = np.clip(change.astype(np.float64), 1e-12, 1.0 - 1e-12)
    stay, move = np.log(1.0 - c).tolist(), np.log(c).tolist()
    back_h = bytearray(n)  # previous state of the best path into host at i
    back_g = bytearray(n)
    vh, vg = le_h[0], le_g[0]
    for i in range(1, n):
        s, m = stay[i - 1], move[i - 1]
        a, b = vh + s, vg + m
        if a >= b:
            nh = a
        else:
            nh = b
            back_h[i] = 1
        a, b = vh + m, vg + s
        if a >= b:
            ng = a
        else:
            ng = b
            back_g[i] = 1
        vh, vg = nh + le_h[i], ng + le_g[i]
    out = np.zeros(n, dtype=np.int64)
    state = 0 if vh >= vg else 1
    for i in range(n - 1, -1, -1):
        out[i] = state
        state = back_h[i] if state == 0 else back_g[i]
    return out


# -- the network ----------------------------------------------------------------------------


def _dequantise(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int8 weights with one float scale per row (embeddings) or output unit (matrices)."""
    return q.astype(np.float32) * scale.astype(np.float32)


def bag_sums(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """(n, D): per row, the sum of the table rows its features index."""
    out = np.zeros((n, table.shape[1]), dtype=np.float32)
    if len(rows):
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
        firsts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[rows[firsts]] = np.add.reduceat(table[cols], firsts, axis=0)
    return out


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
    """'Same' dilated 1-d convolution over the sentence axis, zero padded. x: (T, in), w: (k, in, out)."""
    k, t = w.shape[0], x.shape[0]
    pad = dilation * (k // 2)
    xp = np.pad(x, ((pad, pad), (0, 0)))
    out = xp[0:t] @ w[0]
    for j in range(1, k):
        out += xp[j * dilation : j * dilation + t] @ w[j]
    return out + b


class SpeakerAttributor:
    """The packaged network plus its decoding settings (chosen on validation files)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.emit_table = _dequantise(arrays["emit_q"], arrays["emit_scale"])
        self.seam_table = _dequantise(arrays["seam_q"], arrays["seam_scale"])
        self.emit_dim, self.seam_dim = len(self.emit_table), len(self.seam_table)
        self.in_w = arrays["in_w"].astype(np.float32)  # (2D, C)
        self.in_b = arrays["in_b"].astype(np.float32)
        self.convs = [
            (
                _dequantise(arrays[f"c{i}_w_q"], arrays[f"c{i}_w_scale"]),
                arrays[f"c{i}_b"].astype(np.float32),
                int(arrays[f"c{i}_dilation"]),
            )
            for i in range(int(arrays["n_convs"]))
        ]
        self.host_w = arrays["host_w"].astype(np.float32)  # (C,)
        self.host_b = float(arrays["host_b"])
        self.change_w = arrays["change_w"].astype(np.float32)  # (2C,): [left, right]
        self.change_b = float(arrays["change_b"])
        self.vocab = frozenset(int(x) for x in arrays["vocab"]) if "vocab" in arrays else None
        self.emit_scale = float(arrays["emit_scale_logit"])  # how far decoding trusts P(host)
        self.change_bias = float(arrays["change_bias"])
        # per-show adaptation decodes each episode several times with new host evidence;
        # the network's own logits do not change, so they are kept (by a digest of the text)
        self._logits_cache: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpeakerAttributor:
        path = DEFAULT_WEIGHTS if path is None else Path(path)
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def logits(self, enc: Encoded) -> tuple[np.ndarray, np.ndarray]:
        """(host logit per sentence (n,), change logit per seam (n-1,)), before decoding."""
        n = len(enc.starts)
        er, ec = emission_features(enc, self.emit_dim)
        sr, sc = transition_features(enc, self.seam_dim)
        # the seam (i, i+1) is an input of sentence i+1
        x = np.concatenate([bag_sums(self.emit_table, er, ec, n), bag_sums(self.seam_table, sr + 1, sc, n)], 1)
        h = np.maximum(x @ self.in_w + self.in_b, 0.0)
        for w, b, d in self.convs:
            h = h + np.maximum(conv(h, w, b, d), 0.0)
        c = h.shape[1]
        host = h @ self.host_w + self.host_b
        change = h[:-1] @ self.change_w[:c] + h[1:] @ self.change_w[c:] + self.change_b
        return host, change

    def cached_logits(self, sentences: list[str], names=None) -> tuple[np.ndarray, np.ndarray]:
        """logits() of these sentences, computed once for the last LOGITS_CACHE conversations."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (*sentences, "\x00", *(str(n) for n in names or ())):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x1f")
        key = digest.digest()
        with self._cache_lock:
            hit = self._logits_cache.get(key)
            if hit is not None:
                self._logits_cache.move_to_end(key)
                return hit
        got = self.logits(encode_sentences(sentences, names, self.vocab))
        with self._cache_lock:
            self._logits_cache[key] = got
            while len(self._logits_cache) > LOGITS_CACHE:
                self._logits_cache.popitem(last=False)
        return got

    def posteriors(self, sentences: list[str], names=None) -> tuple[np.ndarray, np.ndarray]:
        """(P(host) per sentence, Viterbi role per sentence: 0 host / 1 guest)."""
        a = self.analyse(sentences, names)
        return a.p_host, a.path

    def analyse(
        self,
        sentences: list[str],
        names=None,
        host_bias: np.ndarray | None = None,
        clamp: np.ndarray | None = None,
    ) -> Analysis:
        """Posterior P(host), Viterbi roles and P(speaker change) of a conversation.

        `host_bias`: log-odds added to each sentence's host evidence (a show's own host
        model, see podtwin.speakers.adapt); `clamp`: per sentence 0 (known host), 1 (known
        guest) or -1 (unknown), e.g. turns a creator corrected."""
        host, change = self.cached_logits(sentences, names)
        z = self.emit_scale * host
        if host_bias is not None:
            z = z + host_bias
        p_host = _sigmoid(z)
        if clamp is not None:
            p_host = np.where(clamp == 0, 1.0 - 1e-9, np.where(clamp == 1, 1e-9, p_host))
        p_change = _sigmoid(change + self.change_bias)
        return Analysis(forward_backward(p_host, p_change), viterbi(p_host, p_change), p_change, host)

    def attribute(self, sentences: list[str], paragraph_starts: list[bool] | None = None, names=None) -> list[Turn]:
        """Turns (runs of one role) over all sentence indexes, in order.

        `paragraph_starts` is accepted for callers that have it; the model does not use it
        (source paragraphs are not speaker turns in most unlabelled files). `names`: the
        host's and guests' names, if known, so they are read as name placeholders.
        """
        del paragraph_starts
        if not sentences:
            return []
        post, path = self.posteriors(sentences, names)
        turns: list[Turn] = []
        n = len(sentences)
        i = 0
        while i < n:
            j = i
            while j + 1 < n and path[j + 1] == path[i]:
                j += 1
            p = post[i : j + 1]
            conf = float(np.mean(p if path[i] == 0 else 1.0 - p))
            turns.append(Turn(i, j, ROLES[int(path[i])], round(conf, 4)))
            i = j + 1
        return turns


@lru_cache(maxsize=1)
def default_attributor() -> SpeakerAttributor:
    """The packaged model, loaded once."""
    return SpeakerAttributor.load()

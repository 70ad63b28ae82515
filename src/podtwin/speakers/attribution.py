"""Who said what in an unlabelled two-person conversation: host or guest, per sentence.

The conversation's sentences, in order, are decoded by a two-state hidden Markov model:

* emission: a logistic regression P(host | sentence) on hashed features of the sentence
  alone (words, word pairs, first and last words, end mark, length);
* transition: a logistic regression P(the speaker changes between sentence i and i+1 |
  the speaker of i) on the end of i and the start of i+1 (last/first words, end marks,
  lengths, whole short sentences such as back-channels "Yeah." / "Right.");
* forward-backward gives each sentence's posterior P(host); Viterbi gives the most
  likely role sequence; turns are its runs, with the mean posterior of their role as
  confidence.

Runtime is numpy only. Features are hashed with a stable hash (crc32), so the packaged
weights work in any process. Names are not features: training replaced the host's and
guests' names with placeholders; callers that know the names can pass them
(``names=``) to get the same treatment.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["SpeakerAttributor", "Turn", "default_attributor", "emission_features", "transition_features"]

DEFAULT_WEIGHTS = Path(__file__).with_name("attribution.npz")
ROLES = ("host", "guest")  # state 0 = host, 1 = guest

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


def _name_words(names) -> set[str]:
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


def encode_sentences(sentences: list[str], names=None) -> Encoded:
    name_words = _name_words(names)
    name_id = _tid(NAME)
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
        ids.extend(name_id if t == NAME else _tid(t) for t in toks)
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
    """(rows, cols) for each pair (i, i+1), i = 0..n-2, *without* the role of i.

    The role of i is mixed in by `role_cols` (each feature exists plain and per role)."""
    n = len(enc.starts) - 1
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
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
    return np.concatenate(rows), np.concatenate(cols)


def role_cols(cols: np.ndarray, role: int, dim: int) -> np.ndarray:
    """Feature indexes for the plain features and their copies specific to `role` (0 host, 1 guest)."""
    plain = (cols % np.uint64(dim)).astype(np.int64)
    specific = (_mix(100 + role, cols) % np.uint64(dim)).astype(np.int64)
    return np.concatenate([plain, specific])


# -- decoding -------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def forward_backward(p_host: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Posterior P(host) per sentence. p_host: (n,) emission P(host|x) rescaled to likelihood
    odds; change: (n-1, 2) P(change after i | role of i = host, guest)."""
    n = len(p_host)
    eh = p_host.tolist()
    ch = change[:, 0].tolist()
    cg = change[:, 1].tolist()
    fh = [0.0] * n
    fg = [0.0] * n
    a, b = eh[0], 1.0 - eh[0]
    s = a + b
    fh[0], fg[0] = a / s, b / s
    for i in range(1, n):
        h, g = fh[i - 1], fg[i - 1]
        e = eh[i]
        a = (h * (1.0 - ch[i - 1]) + g * cg[i - 1]) * e
        b = (h * ch[i - 1] + g * (1.0 - cg[i - 1])) * (1.0 - e)
        s = a + b
        fh[i], fg[i] = a / s, b / s
    post = [0.0] * n
    bh = bg = 1.0
    post[n - 1] = fh[n - 1]
    for i in range(n - 2, -1, -1):
        e = eh[i + 1]
        xh = bh * e
        xg = bg * (1.0 - e)
        nbh = (1.0 - ch[i]) * xh + ch[i] * xg
        nbg = cg[i] * xh + (1.0 - cg[i]) * xg
        s = nbh + nbg
        bh, bg = nbh / s, nbg / s
        a = fh[i] * bh
        b = fg[i] * bg
        post[i] = a / (a + b)
    return np.array(post)


def viterbi(p_host: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Most likely role per sentence (0 host, 1 guest)."""
    n = len(p_host)
    le_h = np.log(np.clip(p_host, 1e-12, 1.0)).tolist()
    le_g = np.log(np.clip(1.0 - p_host, 1e-12, 1.0)).tolist()
    c = np.clip(change, 1e-12, 1.0 - 1e-12)
    hh, hg = np.log(1.0 - c[:, 0]).tolist(), np.log(c[:, 0]).tolist()
    gh, gg = np.log(c[:, 1]).tolist(), np.log(1.0 - c[:, 1]).tolist()
    back_h = bytearray(n)  # previous state of the best path into host at i
    back_g = bytearray(n)
    vh, vg = le_h[0], le_g[0]
    for i in range(1, n):
        a, b = vh + hh[i - 1], vg + gh[i - 1]
        if a >= b:
            nh = a
        else:
            nh = b
            back_h[i] = 1
        a, b = vh + hg[i - 1], vg + gg[i - 1]
        if a >= b:
            ng = a
            back_g[i] = 0
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


class SpeakerAttributor:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.w_emit = arrays["w_emit"].astype(np.float32)
        self.w_trans = arrays["w_trans"].astype(np.float32)
        self.emit_dim = len(self.w_emit)
        self.trans_dim = len(self.w_trans)
        self.host_prior = float(arrays["host_prior"])  # training base rate of host sentences
        self.emit_scale = float(arrays.get("emit_scale", 1.0))
        self.trans_bias = float(arrays.get("trans_bias", 0.0))
        self.decode = str(arrays.get("decode", "viterbi"))
        # sentences of at most this many words (not questions) are decoded around, not through
        self.bridge_words = int(arrays.get("bridge_words", 0))
        self.bridge_other = float(arrays.get("bridge_other", 0.5))

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpeakerAttributor:
        path = DEFAULT_WEIGHTS if path is None else Path(path)
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    # the two models' raw outputs, exposed for training and diagnosis
    def emission_logits(self, enc: Encoded) -> np.ndarray:
        rows, cols = emission_features(enc, self.emit_dim)
        return np.bincount(rows, weights=self.w_emit[cols], minlength=len(enc.starts))

    def transition_logits(self, enc: Encoded) -> np.ndarray:
        """(n-1, 2): logit of a change after i, given i is the host's / the guest's."""
        rows, cols = transition_features(enc, self.trans_dim)
        m = max(len(enc.starts) - 1, 0)
        out = np.zeros((m, 2))
        if m == 0:
            return out
        rr = np.concatenate([rows, rows])
        for role in (0, 1):
            out[:, role] = np.bincount(rr, weights=self.w_trans[role_cols(cols, role, self.trans_dim)], minlength=m)
        return out

    def posteriors(self, sentences: list[str], names=None) -> tuple[np.ndarray, np.ndarray]:
        """(P(host) per sentence, Viterbi role per sentence: 0 host / 1 guest)."""
        enc = encode_sentences(sentences, names)
        prior_logit = np.log(self.host_prior / (1.0 - self.host_prior))
        z = self.emit_scale * (self.emission_logits(enc) - prior_logit)
        p_host = _sigmoid(z)
        change = _sigmoid(self.transition_logits(enc) + self.trans_bias)
        post = forward_backward(p_host, change)
        if self.bridge_words and len(sentences) > 2:
            short = (enc.n_words <= self.bridge_words) & (enc.mark != 1)
            keep = np.flatnonzero(~short)
            if 0 < len(keep) < len(sentences):
                return self._bridged(sentences, names, keep, p_host, post)
        if self.decode == "posterior":
            path = (post < 0.5).astype(np.int64)
        else:
            path = viterbi(p_host, change)
        return post, path

    def _bridged(self, sentences, names, keep, p_host, post) -> tuple[np.ndarray, np.ndarray]:
        """Decode without the short sentences (back-channels, fillers), then give each short
        sentence the role its own emission prefers among its neighbours' roles."""
        saved, self.bridge_words = self.bridge_words, 0
        try:
            k_post, k_path = self.posteriors([sentences[i] for i in keep], names)
        finally:
            self.bridge_words = saved
        n = len(sentences)
        path = np.empty(n, dtype=np.int64)
        out_post = post.copy()
        path[keep] = k_path
        out_post[keep] = k_post
        pos = np.searchsorted(keep, np.arange(n))
        for i in np.setdiff1d(np.arange(n), keep):
            j = pos[i]
            prev_role = k_path[j - 1] if j > 0 else None
            next_role = k_path[j] if j < len(keep) else None
            if prev_role is None or next_role is None or prev_role != next_role:
                path[i] = 0 if p_host[i] >= 0.5 else 1
            else:
                other = 1 - prev_role
                p_other = p_host[i] if other == 0 else 1.0 - p_host[i]
                path[i] = other if p_other >= self.bridge_other else prev_role
        return out_post, path

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

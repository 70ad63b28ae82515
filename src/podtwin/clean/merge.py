"""Several transcripts of one episode: recognise them by content, merge them into one.

Recognition compares what was said in the conversation (not titles, not file names, not
the intros and sponsor reads that episodes of one show share): word 5-gram shingles,
sampled 1 in 8 by hash, shared as a share of the larger transcript's. Transcripts of one
episode share most of them (0.67 for the two #398 files), different episodes almost none
(at most 0.03 across the corpus), and a clip cut from an episode little of the whole.

Merging walks the longer transcript region by region (runs of sentences of one kind, cut
every REGION_SENTENCES) and, where the other transcript covers the same words, keeps
whichever reads better: punctuated and cased by the source over punctuation the model
restored, fewer unknown (misheard) words. Every sentence still points into one source.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

SHINGLE = 5
SAMPLE = 8
SAME_EPISODE = 0.3
REGION_SENTENCES = 12
_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def fingerprint(conversation: list[str]) -> bytes:
    """Sampled shingle hashes of the conversation's sentences, as a sorted uint32 blob."""
    words = [w for s in conversation for w in words_of(s)]
    hashes = {zlib.crc32(" ".join(words[i : i + SHINGLE]).encode()) for i in range(max(0, len(words) - SHINGLE + 1))}
    sampled = sorted(h for h in hashes if h % SAMPLE == 0)
    return np.asarray(sampled, dtype=np.uint32).tobytes()


def containment(a: bytes, b: bytes) -> float:
    """Shared shingles as a share of the larger fingerprint (0..1): two transcripts of one
    episode score high; a short clip cut from an episode does not (it is its own piece)."""
    x = np.frombuffer(a, dtype=np.uint32)
    y = np.frombuffer(b, dtype=np.uint32)
    if not len(x) or not len(y):
        return 0.0
    return len(np.intersect1d(x, y, assume_unique=True)) / max(len(x), len(y))


@dataclass
class SourceSentence:
    """A sentence as the merge sees it: which source, its text, kind and how it was punctuated."""

    source: int  # index into the list of transcripts being merged
    index: int  # sentence index within that source
    text: str
    kind: str
    restored: bool


def text_quality(sentences: list[SourceSentence]) -> float:
    """Higher reads better: the source's own punctuation and casing, over restored text."""
    if not sentences:
        return 0.0
    restored = sum(s.restored for s in sentences) / len(sentences)
    body = " ".join(s.text[1:] for s in sentences)
    cased = 1.0 if re.search(r"(?<![.?!]\s)\b(?!I\b)[A-Z]", body) else 0.0
    return (1.0 - restored) + 0.5 * cased


def merge_sentences(transcripts: list[list[SourceSentence]]) -> list[SourceSentence]:
    """One sentence sequence for the episode, region by region the best of the transcripts."""
    spine_at = max(range(len(transcripts)), key=lambda i: sum(len(s.text) for s in transcripts[i]))
    merged = transcripts[spine_at]
    for other_at, other in enumerate(transcripts):
        if other_at != spine_at and other:
            merged = _merge_two(merged, other)
    return merged


def _merge_two(spine: list[SourceSentence], other: list[SourceSentence]) -> list[SourceSentence]:
    spine_words, spine_owner = _flatten(spine)
    other_words, other_owner = _flatten(other)
    # Position in `other` of each spine word that the alignment matched.
    aligned = np.full(len(spine_words), -1, dtype=np.int64)
    for block in SequenceMatcher(None, spine_words, other_words).get_matching_blocks():
        aligned[block.a : block.a + block.size] = np.arange(block.b, block.b + block.size)
    first_word = np.searchsorted(spine_owner, np.arange(len(spine)), side="left")
    last_word = np.searchsorted(spine_owner, np.arange(len(spine)), side="right") - 1
    out: list[SourceSentence] = []
    used_other = -1  # last sentence of `other` already emitted
    for start, end in _regions(spine):
        region = spine[start:end]
        lo, hi = first_word[start], last_word[end - 1]
        matched = aligned[lo : hi + 1]
        hits = matched[matched >= 0]
        if hi < lo or len(hits) < 0.6 * (hi - lo + 1):
            out.extend(region)
            continue
        a, b = other_owner[hits.min()], other_owner[hits.max()]
        candidates = [s for s in other[max(a, used_other + 1) : b + 1]]
        if candidates and text_quality(candidates) > text_quality(region) + 0.2:
            out.extend(candidates)
            used_other = b
        else:
            out.extend(region)
    return out


def _flatten(sentences: list[SourceSentence]) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    owner: list[int] = []
    for i, s in enumerate(sentences):
        w = words_of(s.text)
        words.extend(w)
        owner.extend([i] * len(w))
    return words, np.asarray(owner, dtype=np.int64)


def _regions(sentences: list[SourceSentence]) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(sentences) + 1):
        if i == len(sentences) or sentences[i].kind != sentences[start].kind or i - start >= REGION_SENTENCES:
            regions.append((start, i))
            start = i
    return regions

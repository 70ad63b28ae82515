"""Retrieval passages: windows of consecutive sentences inside one speaker's turn.

A passage never crosses a turn (so it has exactly one speaker), a change of segment kind
(so a sponsor read is never glued to an answer) or of source file (so its offsets point
into one file). Long turns are cut at sentence
boundaries into windows of about TARGET_WORDS; a short leftover joins the window before
it. Each passage carries the end of the previous turn as context: usually the question
that the passage answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Passage", "SentenceRow", "build_passages", "text_hash"]

TARGET_WORDS = 60  # about 80 MiniLM tokens: long enough to answer, short enough to be specific
MAX_WORDS = 100
MIN_TAIL_WORDS = 20
CONTEXT_WORDS = 50


@dataclass(frozen=True)
class SentenceRow:
    idx: int
    text: str
    kind: str
    turn: int | None
    source: int = 0  # source file id: a passage's offsets must point into one file


@dataclass(frozen=True)
class Passage:
    first: int  # sentence idx, inclusive
    last: int  # inclusive
    text: str
    context: str

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def build_passages(sentences: Sequence[SentenceRow]) -> list[Passage]:
    """Passages of an episode's sentences, which must be given in order."""
    groups: list[list[SentenceRow]] = []
    for s in sentences:
        prev = groups[-1][-1] if groups else None
        if prev and s.turn is not None and (prev.turn, prev.kind, prev.source) == (s.turn, s.kind, s.source):
            groups[-1].append(s)
        else:
            groups.append([s])
    passages: list[Passage] = []
    previous_turn_text = ""
    for gi, group in enumerate(groups):
        if gi and groups[gi - 1][-1].turn != group[0].turn:
            previous_turn_text = _tail(" ".join(s.text for s in groups[gi - 1]), CONTEXT_WORDS)
        for window in _windows(group):
            text = " ".join(s.text.strip() for s in window).strip()
            if text:
                passages.append(Passage(window[0].idx, window[-1].idx, text, previous_turn_text))
    return passages


def _windows(group: list[SentenceRow]) -> list[list[SentenceRow]]:
    windows: list[list[SentenceRow]] = []
    current: list[SentenceRow] = []
    words = 0
    for s in group:
        n = len(s.text.split())
        if current and words + n > MAX_WORDS:
            windows.append(current)
            current, words = [], 0
        current.append(s)
        words += n
        if words >= TARGET_WORDS:
            windows.append(current)
            current, words = [], 0
    if current:
        last_words = sum(len(s.text.split()) for s in windows[-1]) if windows else 0
        if windows and words < MIN_TAIL_WORDS and last_words + words <= MAX_WORDS + MIN_TAIL_WORDS:
            windows[-1].extend(current)
        else:
            windows.append(current)
    return windows


def _tail(text: str, n_words: int) -> str:
    words = text.split()
    return " ".join(words[-n_words:])

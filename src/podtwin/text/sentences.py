"""Sentence boundaries in punctuated text, as character spans.

Rule-based on purpose: on punctuated transcripts a terminator followed by a capital
is right almost always, and this runs at tens of MB/s. Text without punctuation goes
to the trained punctuator instead (podtwin.text.punctuate).
"""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "split_sentences", "words_with_spans"]

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp e.g i.e a.m p.m u.s u.k no approx dept est fig".split()
)

_TERMINATOR = re.compile(r"(?:[.?!…]+)[\"'”’)\]]*(?=\s|$)")
_WORD = re.compile(r"\S+")


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the '.' ending at `end` closes an abbreviation or an initial (e.g. 'Dr.', 'J.')."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:end].rstrip(".").lower().lstrip("(\"'“‘")
    if token in ABBREVIATIONS:
        return True
    # single capital initial like "J." in "J. R. R. Tolkien"
    return len(token) == 1 and token.isalpha() and text[start:end].rstrip(".").isupper()


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans [a, b) of the sentences in text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _TERMINATOR.finditer(text, start, end):
        mark_end = m.end()
        marks = m.group(0)
        nxt = mark_end
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt >= end:
            break
        following = text[nxt]
        if "?" in marks or "!" in marks:
            boundary = True
        elif following.isupper() or following.isdigit() or following in "\"“'‘([":
            boundary = not (marks == "." and _is_abbreviation(text, m.start() + 1))
        else:
            boundary = False
        if boundary:
            _append(text, cursor, mark_end, spans)
            cursor = nxt
    _append(text, cursor, end, spans)
    return spans


def _append(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))


def words_with_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """Whitespace-separated tokens of text[start:end] with their spans."""
    end = len(text) if end is None else end
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text, start, end)]

"""Turn a transcript's utterances into sentences with exact source offsets and times.

Punctuated stretches are split by rule; stretches that run long without a terminator
(unpunctuated files, or files whose style changes part-way) go to the trained
punctuator, which restores the boundaries and question marks.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podtwin.formats.base import Transcript
from podtwin.text.sentences import split_sentences, words_with_spans

if TYPE_CHECKING:
    from podtwin.text.punctuate import Punctuator

# A punctuated transcript rarely runs this many words without a terminator;
# past it the text is treated as unpunctuated and handed to the punctuator.
UNPUNCTUATED_WORDS = 45

# Punctuated speech has a comma at least every ~25 words; a 150-word sentence is a missing period.
COMMA_EVERY = 25
MAX_SENTENCE_WORDS = 150

_ENDS_SENTENCE = re.compile(r"[.?!…][\"'”’)\]]*\s*$")


@dataclass
class Sentence:
    start: int  # offsets into the transcript's clean text
    end: int
    text: str  # display text: whitespace normalised, restored punctuation added
    speaker: str | None
    start_s: float | None
    end_s: float | None
    paragraph_start: bool  # first sentence of a source utterance/paragraph
    restored: bool  # boundary placed by the punctuator, not by the source's punctuation


def segment_transcript(transcript: Transcript, punctuator: Punctuator | None = None) -> list[Sentence]:
    """All sentences of the transcript, in order."""
    text = transcript.text.text
    utterances = [u for u in transcript.utterances if u.end > u.start]
    if not utterances:
        return []
    sentences: list[Sentence] = []
    u_starts = [u.start for u in utterances]
    u_ends = [u.end for u in utterances]
    for run_start, run_end in _runs(text, utterances):
        for a, b, mark in _split_run(text, run_start, run_end, punctuator):
            first = bisect_right(u_starts, a) - 1
            last = max(first, bisect_left(u_ends, b))
            first_u, last_u = utterances[max(first, 0)], utterances[min(last, len(utterances) - 1)]
            sentences.append(
                Sentence(
                    start=a,
                    end=b,
                    text=_display(text[a:b], mark),
                    speaker=first_u.speaker,
                    start_s=first_u.start_s,
                    end_s=last_u.end_s,
                    paragraph_start=a == first_u.start,
                    restored=mark is not None,
                )
            )
    return sentences


def _runs(text: str, utterances) -> list[tuple[int, int]]:
    """Join consecutive utterances of one speaker when a sentence runs across them
    (subtitle cues split sentences; labelled paragraphs end with a terminator)."""
    runs: list[tuple[int, int]] = []
    start, end, speaker = utterances[0].start, utterances[0].end, utterances[0].speaker
    for u in utterances[1:]:
        if u.speaker == speaker and not _ENDS_SENTENCE.search(text, max(end - 8, start), end):
            end = u.end
            continue
        runs.append((start, end))
        start, end, speaker = u.start, u.end, u.speaker
    runs.append((start, end))
    return runs


def _split_run(text: str, start: int, end: int, punctuator: Punctuator | None) -> list[tuple[int, int, str | None]]:
    """(start, end, restored_mark) for each sentence of text[start:end]."""
    out: list[tuple[int, int, str | None]] = []
    for a, b in split_sentences(text, start, end):
        if text.count(" ", a, b) < UNPUNCTUATED_WORDS or not _unpunctuated(text, a, b):
            out.append((a, b, None))
            continue
        words = words_with_spans(text, a, b)
        if punctuator is None:
            from podtwin.text.punctuate import default_punctuator

            punctuator = default_punctuator()
        marks = punctuator.predict([w for w, _, _ in words])
        begin = 0
        for i, mark in enumerate(marks):
            if mark and i < len(words) - 1:
                out.append((words[begin][1], words[i][2], mark))
                begin = i + 1
        last_mark = marks[-1] if marks and marks[-1] else "."
        out.append((words[begin][1], words[-1][2], None if _ENDS_SENTENCE.search(text[b - 4 : b]) else last_mark))
    return out


def _unpunctuated(text: str, a: int, b: int) -> bool:
    """A long span is unpunctuated text, not a long punctuated sentence, when it has
    hardly any commas either, or is far longer than any spoken sentence."""
    words = text.count(" ", a, b) + 1
    return words > MAX_SENTENCE_WORDS or text.count(",", a, b) * COMMA_EVERY < words


def _display(raw: str, mark: str | None) -> str:
    shown = " ".join(raw.split())
    if mark is None:
        return shown
    shown = shown.rstrip(",;:-–— ")
    if not shown or shown[-1] not in ".?!…":
        shown += mark
    return shown[0].upper() + shown[1:]

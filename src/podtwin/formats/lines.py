"""Speaker-labelled lines: one turn a line, the label at its start.

Two shapes, both common in published transcripts:

* ``Speaker Name: text`` (a show's own transcript, one turn per line);
* ``Speaker Name (hh:mm:ss) text``, where a line ``(hh:mm:ss) text`` continues the
  previous speaker (the Lex Fridman Podcast's transcript pages).

A line without a label continues the previous speaker. The file is claimed only when
most of its lines carry a label and at least two names speak, so prose with the odd
"Note: ..." stays with the plain reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance
from podtwin.formats.markdown import seconds
from podtwin.formats.markup import copy_unescaped

# A name: up to six words, each starting with a letter or digit, no sentence punctuation.
_NAME = r"[^\W_][\w.'’\-]*(?:[ \t]+[\w.'’\-&]+){0,5}?"
# "Waxwing (Adam Gibson): text": a name may be followed by another in brackets (not a time).
_ALSO = r"(?:[ \t]*\([^():\r\n]{1,40}\))?"
_TIME = r"\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d+)?"
_LINE = re.compile(
    rf"^[ \t]*+(?:"
    rf"(?P<name_t>{_NAME})?[ \t]*\((?P<time>{_TIME})\)[ \t]*+(?::[ \t]*+)?"  # Name (hh:mm:ss)[:] text
    rf"|(?P<name>{_NAME}{_ALSO}):[ \t]++(?=\S)"  # Name: text
    rf")",
    re.MULTILINE,
)
_ANY_LINE = re.compile(r"[^\r\n]+")
SNIFF_LINES = 400
MIN_LABELLED_SHARE = 0.6


def _label(line: str) -> re.Match[str] | None:
    m = _LINE.match(line)
    if m and not (m.group("name_t") or m.group("name") or m.group("time")):
        return None
    return m


class LabelledLinesReader:
    name = "lines"

    def sniff(self, source: str, path: Path) -> float:
        lines = [m.group(0) for _, m in zip(range(SNIFF_LINES), _ANY_LINE.finditer(source)) if m.group(0).strip()]
        if len(lines) < 3:
            return 0.0
        names: set[str] = set()
        labelled = 0
        for line in lines:
            m = _label(line)
            if m:
                labelled += 1
                name = m.group("name_t") or m.group("name")
                if name:
                    names.add(name.strip().lower())
        if len(names) >= 2 and labelled >= MIN_LABELLED_SHARE * len(lines):
            return 0.9
        return 0.0

    def read(self, source: str, path: Path) -> Transcript:
        builder = TextBuilder(source)
        utterances: list[Utterance] = []
        speaker: str | None = None
        label_time: float | None = None  # of a label alone on its line ("Name (00:01:02):")
        for line in _ANY_LINE.finditer(source):
            la, lb = line.start(), line.end()
            if not line.group(0).strip():
                continue
            m = _label(line.group(0))
            start_s = None
            text_start = la
            if m:
                name = m.group("name_t") or m.group("name")
                if name:
                    speaker = " ".join(name.split())
                if m.group("time"):
                    start_s = seconds(m.group("time"))
                text_start = la + m.end()
            while text_start < lb and source[text_start].isspace():
                text_start += 1
            end = lb
            while end > text_start and source[end - 1].isspace():
                end -= 1
            if end <= text_start:
                label_time = start_s
                continue
            if start_s is None:
                start_s = label_time
            label_time = None
            if len(builder):
                builder.put("\n\n", la - 1, la)
            start = len(builder)
            copy_unescaped(builder, text_start, end)
            utterances.append(Utterance(start, len(builder), speaker, start_s))
        for prev, nxt in zip(utterances, utterances[1:]):
            if prev.start_s is not None and nxt.start_s is not None and nxt.start_s >= prev.start_s:
                prev.end_s = nxt.start_s
        return Transcript(str(path), self.name, source, builder.build(), utterances, {})


def register_readers(register: Callable[[Reader], None]) -> None:
    register(LabelledLinesReader())

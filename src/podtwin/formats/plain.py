"""Plain ASR text: one line or loose paragraphs, punctuated or not, any casing.

The fallback reader: anything that is text and no other reader claims.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance
from podtwin.formats.markup import copy_unescaped

_LETTER = re.compile(r"[^\W\d_]")


class PlainTextReader:
    name = "plain"

    def sniff(self, source: str, path: Path) -> float:
        return 0.1 if _LETTER.search(source, 0, 20000) else 0.0

    def read(self, source: str, path: Path) -> Transcript:
        builder = TextBuilder(source)
        copy_unescaped(builder, 0, len(source))
        text = builder.build()
        return Transcript(
            path=str(path),
            format=self.name,
            source=source,
            text=text,
            utterances=[Utterance(*_trimmed(text.text, 0, len(text.text)))],
        )


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def register_readers(register: Callable[[Reader], None]) -> None:
    register(PlainTextReader())

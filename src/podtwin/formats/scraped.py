"""A transcript scraped from a web page: paragraphs plus a header line that the page
repeats every few thousand characters, often in the middle of a sentence.

The header is metadata (show, episode number, title). Its repeats are removed and the
text on both sides of each cut is joined with one space, so no sentence breaks there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance
from podtwin.formats.markup import copy_unescaped

MIN_REPEATS = 3
_HEADER_SHAPE = re.compile(r"^\[[^\]\n]{1,40}\]\s+\S.{3,300}$")
_NUMBER = re.compile(r"(?:#|\b(?:episode|ep\.?)\s*)(\d{1,5})\b", re.IGNORECASE)


def find_header(source: str) -> str | None:
    """The line this page repeats as a header, or None."""
    lines = [line.strip() for line in source.splitlines()]
    counts = Counter(line for line in lines if 8 <= len(line) <= 300)
    repeated = [(n, line) for line, n in counts.items() if n >= MIN_REPEATS and _header_shaped(line)]
    if repeated:
        return max(repeated)[1]
    first = next((line for line in lines if line), "")
    if _HEADER_SHAPE.match(first) and len(lines) > 2:
        return first
    return None


def _header_shaped(line: str) -> bool:
    # A sentence said three times ("This episode is brought to you by Acme.") is speech, not a header:
    # a header carries a tag, a show/title separator or an episode number.
    return bool(_HEADER_SHAPE.match(line) or re.search(r"\s[/|]\s", line) or _NUMBER.search(line))


def parse_header(header: str) -> dict[str, Any]:
    """Show, number and title from a header like '[Transcript] Show / #398 - Guest: Title'."""
    meta: dict[str, Any] = {"header": header}
    rest = re.sub(r"^\[[^\]]*\]\s*", "", header).strip()
    parts = re.split(r"\s+[/|]\s+", rest, maxsplit=1)
    if len(parts) == 2:
        meta["show"] = parts[0].strip()
        rest = parts[1].strip()
    number = _NUMBER.search(rest)
    if number:
        meta["number"] = int(number.group(1))
        rest = (rest[: number.start()] + rest[number.end() :]).strip(" -–—:|")
    if rest:
        meta["title"] = rest
        head, sep, _ = rest.partition(":")
        if sep and 1 < len(head.split()) <= 4:
            meta["guests"] = [head.strip()]
    return meta


class ScrapedPageReader:
    name = "scraped"

    def sniff(self, source: str, path: Path) -> float:
        return 0.8 if find_header(source) else 0.0

    def read(self, source: str, path: Path) -> Transcript:
        header = find_header(source)
        builder = TextBuilder(source)
        cursor = 0
        if header:
            pattern = re.compile(r"(?<!\s)\s*^[ \t]*" + re.escape(header) + r"[ \t]*$\s*", re.MULTILINE)
            for m in pattern.finditer(source):
                copy_unescaped(builder, cursor, m.start())
                # One space stands for the whole cut (header and the blank lines around it).
                if len(builder) and m.end() < len(source):
                    builder.put(" ", m.start(), m.end())
                cursor = m.end()
        copy_unescaped(builder, cursor, len(source))
        text = builder.build()
        start, end = 0, len(text.text)
        while start < end and text.text[start].isspace():
            start += 1
        while end > start and text.text[end - 1].isspace():
            end -= 1
        return Transcript(
            path=str(path),
            format=self.name,
            source=source,
            text=text,
            utterances=[Utterance(start, end)],
            metadata=parse_header(header) if header else {},
        )


def register_readers(register: Callable[[Reader], None]) -> None:
    register(ScrapedPageReader())

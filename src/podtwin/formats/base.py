"""What every transcript reader produces: readable text that remembers where each
character came from in the source file, split into utterances."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class MappedText:
    """Clean text derived from a source string; every character maps back to a source offset.

    Built from pieces: verbatim copies of a source slice, or replacement text that
    stands for a source slice (an unescaped `\\$`, a link's text, a removed header).
    """

    __slots__ = ("text", "_starts", "_pieces")

    def __init__(self, text: str, pieces: list[tuple[int, int, int, bool]]) -> None:
        self.text = text
        # (clean_start, src_start, src_end, verbatim), ordered by clean_start
        self._pieces = pieces
        self._starts = [p[0] for p in pieces]

    def __len__(self) -> int:
        return len(self.text)

    def _piece(self, pos: int) -> tuple[int, int, int, bool]:
        i = bisect_right(self._starts, pos) - 1
        return self._pieces[max(i, 0)]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets [a, b) covering clean text [start, end)."""
        if not self._pieces:
            return (0, 0)
        if end <= start:
            c, s, e, verbatim = self._piece(start)
            a = s + (start - c) if verbatim else s
            return (a, a)
        c, s, e, verbatim = self._piece(start)
        a = min(s + (start - c), e) if verbatim else s
        c, s, e, verbatim = self._piece(end - 1)
        b = min(s + (end - 1 - c) + 1, e) if verbatim else e
        return (a, max(a, b))


class TextBuilder:
    """Assembles a MappedText from a source string, piece by piece, in source order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: list[str] = []
        self._pieces: list[tuple[int, int, int, bool]] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def copy(self, start: int, end: int) -> None:
        """Append source[start:end] verbatim."""
        if end <= start:
            return
        self._pieces.append((self._length, start, end, True))
        self._parts.append(self.source[start:end])
        self._length += end - start

    def put(self, text: str, start: int, end: int) -> None:
        """Append `text` standing for source[start:end] (which it replaces)."""
        if not text:
            return
        self._pieces.append((self._length, start, end, False))
        self._parts.append(text)
        self._length += len(text)

    def build(self) -> MappedText:
        return MappedText("".join(self._parts), self._pieces)


@dataclass
class Utterance:
    """A stretch of the clean text that the source presents as one unit of speech.

    `speaker` is the source's own label (None when the source has none); times are
    in seconds where the source gives them.
    """

    start: int
    end: int
    speaker: str | None = None
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Transcript:
    """One source file, read: its decoded text, the clean text, utterances and stated metadata."""

    path: str
    format: str
    source: str
    text: MappedText
    utterances: list[Utterance]
    # Only what the file itself states: title, show, guests, date, number, header, ...
    metadata: dict[str, Any] = field(default_factory=dict)

    def utterance_text(self, u: Utterance) -> str:
        return self.text.text[u.start : u.end]


class Reader(Protocol):
    """A transcript format. `sniff` says how sure it is (0 = not mine); `read` parses."""

    name: str

    def sniff(self, source: str, path: Path) -> float: ...

    def read(self, source: str, path: Path) -> Transcript: ...

"""Subtitle files: SubRip (.srt) and WebVTT (.vtt).

Both are blocks separated by blank lines; a block is an optional identifier (SRT's cue
number), a timing line `start --> end [settings]` and one or more lines of cue text.
WebVTT adds a `WEBVTT` header (whose `Key: value` lines are metadata), NOTE/STYLE/REGION
blocks (skipped), `<v Speaker>` voice tags (the speaker label of an utterance) and other
inline tags (`<i>`, `<c.x>`, `<00:00:01.000>`), removed. HTML entities are unescaped.

Clean text: each cue's lines joined with one space, cues joined with one space. Each cue
becomes one utterance (one per voice when a cue holds several voices). Rolling captions
(YouTube auto-subtitles) repeat the previous cue's last line as the next cue's first
line; such a repeated line is not repeated in the clean text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podtwin.errors import UnknownFormat
from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# hh:mm:ss,mmm (SRT) or [hh:]mm:ss.mmm (VTT); lenient about the separator and digit counts.
_STAMP = r"(?:(\d{1,4}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
# Reading is more lenient than sniffing: the fraction may be missing.
_LENIENT_STAMP = r"(?:(\d{1,4}):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^[ \t]*{_LENIENT_STAMP}[ \t]*-->[ \t]*{_LENIENT_STAMP}(?:[ \t]+.*)?$")
_SRT_TIMING = re.compile(r"^[ \t]*\d{1,4}:\d{1,2}:\d{1,2},\d{1,3}[ \t]*-->")
_ANY_TIMING = re.compile(rf"^[ \t]*{_STAMP}[ \t]*-->", re.MULTILINE)
_VTT_HEADER = re.compile(r"\AWEBVTT(?=[ \t\r\n]|\Z)")
_SKIPPED_BLOCK = re.compile(r"^(?:NOTE|STYLE|REGION)(?=[ \t]|$)")
_META_LINE = re.compile(r"^[ \t]*([A-Za-z][\w -]{0,40}?)[ \t]*:[ \t]*(.*?)[ \t]*$")
# Inside cue text: a WebVTT/HTML tag or timestamp, an entity, or an ASS override like {\an8}.
# Only known tag names: "<laughs>" or "<word>" in a caption is text, kept as written.
_TAG_NAMES = r"(?i:c|i|b|u|v|s|lang|ruby|rt|font|span|em|strong|br|p|sub|sup|small|big)"
_INLINE = re.compile(
    rf"<(?P<tag>/?{_TAG_NAMES}(?=[\s./>])[^<>\r\n]*|\d[\d:.]*)>"
    r"|(?P<entity>&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
    r"|(?P<ass>\{\\[^{}\r\n]*\})"
)
_VOICE = re.compile(r"^v(?:\.[^\s.>]+)*[ \t]+(.*?)\s*$", re.DOTALL | re.IGNORECASE)
_DROPPED_ENTITIES = {"\u200e", "\u200f"}  # &lrm; &rlm;


@dataclass(slots=True)
class _Token:
    text: str
    start: int
    end: int
    verbatim: bool
    voice: str | None
    space: bool = False  # whitespace only

    def __post_init__(self) -> None:
        self.space = self.text.isspace()


@dataclass
class _Cue:
    start_s: float
    end_s: float
    # each line: its clean tokens (no leading/trailing whitespace tokens)
    lines: list[list[_Token]] = field(default_factory=list)


def _split_lines(source: str) -> list[tuple[int, int, int]]:
    """(start, end without the line break, start of next line) for every line."""
    lines = []
    for m in _LINE.finditer(source):
        if m.start() == len(source) and lines:
            break
        text_end = m.end()
        while text_end > m.start() and source[text_end - 1] in "\r\n":
            text_end -= 1
        lines.append((m.start(), text_end, m.end()))
        if m.end() == len(source):
            break
    return lines


def _seconds(groups: tuple[str | None, ...]) -> float:
    hours, minutes, secs, frac = groups
    frac = frac or "0"
    scale = 10 ** len(frac)
    whole = int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
    return (whole * scale + int(frac)) / scale  # one rounding: 2.28, not 2.2800000000000002


def _line_tokens(source: str, start: int, end: int, voice: str | None) -> tuple[list[_Token], str | None]:
    """Clean tokens of one cue-text line, and the voice in force after it."""
    tokens: list[_Token] = []

    def verbatim(a: int, b: int) -> None:
        # a run of source text: its leading whitespace, the rest, its trailing whitespace
        run = source[a:b]
        core = run.strip()
        if not core:
            if run:
                tokens.append(_Token(run, a, b, True, voice))
            return
        lead = len(run) - len(run.lstrip())
        ca, cb = a + lead, a + lead + len(core)
        if ca > a:
            tokens.append(_Token(source[a:ca], a, ca, True, voice))
        tokens.append(_Token(core, ca, cb, True, voice))
        if cb < b:
            tokens.append(_Token(source[cb:b], cb, b, True, voice))

    cursor = start
    for m in _INLINE.finditer(source, start, end):
        verbatim(cursor, m.start())
        cursor = m.end()
        tag = m.group("tag")
        if tag is not None:
            if tag[:1] in "vV" and (voice_m := _VOICE.match(tag)):
                voice = " ".join(voice_m.group(1).split()) or None
            elif tag.rstrip().lower() == "/v":
                voice = None
            continue
        entity = m.group("entity")
        if entity is not None:
            value = html.unescape(entity)
            if value == entity:  # unknown entity: keep as written
                verbatim(m.start(), m.end())
            elif value in _DROPPED_ENTITIES:
                pass
            else:
                if value.isspace():
                    value = " "  # &nbsp; &NewLine; ... read as a plain space
                tokens.append(_Token(value, m.start(), m.end(), False, voice))
        # ASS override blocks are dropped
    verbatim(cursor, end)

    # trim, and collapse whitespace left next to each other by removed tags
    out: list[_Token] = []
    for tok in tokens:
        if tok.space and (not out or out[-1].space):
            continue
        out.append(tok)
    while out and out[-1].space:
        out.pop()
    return out, voice


def _line_key(tokens: list[_Token]) -> tuple[str | None, str]:
    return (tokens[0].voice if tokens else None, "".join(t.text for t in tokens))


class _SubtitleReader:
    name = ""
    vtt = False

    # -- parsing -------------------------------------------------------------------

    def _parse(self, source: str, path: Path) -> tuple[list[_Cue], dict[str, Any]]:
        lines = _split_lines(source)
        meta: dict[str, Any] = {}
        cues: list[_Cue] = []
        n = len(lines)
        i = 0

        def text(k: int) -> str:
            return source[lines[k][0] : lines[k][1]]

        def blank(k: int) -> bool:
            return not text(k).strip()

        def cue_text_ends(k: int) -> bool:
            # WebVTT: only an empty line ends cue text (YouTube puts " " lines inside cues);
            # SRT: any whitespace-only line.
            line = text(k)
            return (line == "" if self.vtt else not line.strip()) or "-->" in line

        while i < n and blank(i):
            i += 1
        if self.vtt and i < n and _VTT_HEADER.match(text(i).lstrip()):
            rest = text(i).lstrip()[6:].strip()
            if rest:
                meta["header"] = rest
            i += 1
            while i < n and not blank(i) and "-->" not in text(i):
                self._meta_line(text(i), meta)
                i += 1

        while i < n:
            if blank(i):
                i += 1
                continue
            line = text(i)
            if self.vtt and "-->" not in line and _SKIPPED_BLOCK.match(line):
                i += 1
                while i < n and not blank(i) and "-->" not in text(i):
                    i += 1
                continue
            if "-->" in line:
                timing = i
            elif i + 1 < n and "-->" in text(i + 1):
                timing = i + 1  # line i is the cue identifier / number
            else:
                # A block without timing: after a cue, its text continued past a blank
                # line; before any cue, header-ish lines.
                j = i
                while j < n and not blank(j) and "-->" not in text(j):
                    j += 1
                if cues:
                    voice = self._voice_after(cues[-1])
                    for k in range(i, j):
                        tokens, voice = _line_tokens(source, lines[k][0], lines[k][1], voice)
                        if tokens:
                            cues[-1].lines.append(tokens)
                elif self.vtt:
                    for k in range(i, j):
                        self._meta_line(text(k), meta)
                i = j
                continue
            m = _TIMING.match(text(timing))
            if not m:
                shown = text(timing).strip()
                if len(shown) > 60:
                    shown = shown[:57] + "..."
                raise UnknownFormat(path, f"line {timing + 1}: unreadable cue timing {shown!r}")
            cue = _Cue(_seconds(m.group(1, 2, 3, 4)), _seconds(m.group(5, 6, 7, 8)))
            j = timing + 1
            voice: str | None = None
            while j < n and not cue_text_ends(j):
                tokens, voice = _line_tokens(source, lines[j][0], lines[j][1], voice)
                cue.lines.append(tokens)
                j += 1
            number_next = j < n and j > timing + 1 and "-->" in text(j) and text(j - 1).strip().isdigit()
            if number_next and not self.vtt:
                # missing blank line: the last "text" line is the next cue's number
                cue.lines.pop()
                j -= 1
            cue.lines = [tokens for tokens in cue.lines if tokens]
            cues.append(cue)
            i = j
        return cues, meta

    @staticmethod
    def _voice_after(cue: _Cue) -> str | None:
        return cue.lines[-1][-1].voice if cue.lines else None

    @staticmethod
    def _meta_line(line: str, meta: dict[str, Any]) -> None:
        m = _META_LINE.match(line)
        if m and m.group(2):
            meta.setdefault(m.group(1).strip().lower(), m.group(2))

    # -- building ------------------------------------------------------------------

    def read(self, source: str, path: Path) -> Transcript:
        cues, meta = self._parse(source, path)
        if not cues:
            kind = "WebVTT" if self.vtt else "SRT"
            raise UnknownFormat(path, f"no {kind} cues (no 'start --> end' timing lines)")
        builder = TextBuilder(source)
        utterances: list[Utterance] = []
        previous_last: tuple[str | None, str] | None = None
        prev_end: int | None = None  # source offset just after the last emitted token
        for cue in cues:
            lines = cue.lines
            if lines and previous_last is not None and _line_key(lines[0]) == previous_last:
                lines = lines[1:]  # rolling captions: the line was shown by the previous cue
            if cue.lines:
                previous_last = _line_key(cue.lines[-1])
            current: Utterance | None = None
            for tokens in lines:
                if prev_end is not None:
                    builder.put(" ", prev_end, tokens[0].start)
                for tok in tokens:
                    if not tok.space:
                        if current is None or (current.end > current.start and tok.voice != current.speaker):
                            current = Utterance(len(builder), len(builder), tok.voice, cue.start_s, cue.end_s)
                            utterances.append(current)
                    if tok.verbatim:
                        builder.copy(tok.start, tok.end)
                    else:
                        builder.put(tok.text, tok.start, tok.end)
                    if not tok.space and current is not None:
                        current.end = len(builder)
                prev_end = tokens[-1].end
        utterances = [u for u in utterances if u.end > u.start]
        return Transcript(
            path=str(path),
            format=self.name,
            source=source,
            text=builder.build(),
            utterances=utterances,
            metadata=meta,
        )


class SrtReader(_SubtitleReader):
    name = "srt"
    vtt = False

    def sniff(self, source: str, path: Path) -> float:
        head = source[:20000]
        if _VTT_HEADER.match(head.lstrip()):
            return 0.0
        lines = head.lstrip().splitlines()
        if len(lines) >= 2 and lines[0].strip().isdigit() and _SRT_TIMING.match(lines[1]):
            return 0.95
        if any(_SRT_TIMING.match(line) for line in lines[:200]):
            return 0.9
        if _ANY_TIMING.search(head):
            return 0.8  # dots for commas: the WebVTT reader is a little surer
        if path.suffix.lower() == ".srt":
            return 0.5
        if len(lines) >= 2 and lines[0].strip().isdigit() and re.match(r"\s*\d.*-->", lines[1]):
            return 0.5
        return 0.0


class WebVttReader(_SubtitleReader):
    name = "webvtt"
    vtt = True

    def sniff(self, source: str, path: Path) -> float:
        head = source[:20000]
        if _VTT_HEADER.match(head.lstrip()):
            return 0.99
        if path.suffix.lower() == ".vtt":
            return 0.9 if _ANY_TIMING.search(head) else 0.5
        lines = head.lstrip().splitlines()
        if any(_ANY_TIMING.match(line) and not _SRT_TIMING.match(line) for line in lines[:200]):
            return 0.85
        return 0.0

    def read(self, source: str, path: Path) -> Transcript:
        if not _VTT_HEADER.match(source.lstrip()) and not _ANY_TIMING.search(source):
            raise UnknownFormat(path, "not WebVTT: no 'WEBVTT' header and no cue timings")
        return super().read(source, path)


def register_readers(register: Callable[[Reader], None]) -> None:
    register(SrtReader())
    register(WebVttReader())

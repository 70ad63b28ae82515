"""Whisper / whisperX JSON: `{"text": ..., "language": ..., "segments": [{"start", "end",
"text", "speaker"?}, ...]}`.

Each segment with text becomes one utterance. The clean text is the segments' texts,
trimmed and joined with one space, and it maps back to the exact characters inside each
`"text": "..."` string literal: plain runs are copied verbatim, each escape (`\\"`,
`\\n`, `\\u00e9`, a surrogate pair) is put as the character it stands for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podtwin.errors import UnknownFormat
from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_PLAIN_RUN = re.compile(r'[^"\\]+')
_SPACE_RUNS = re.compile(r"\s+|\S+")
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _skip_ws(source: str, i: int) -> int:
    return _WS.match(source, i).end()


def _object_members(source: str, i: int) -> tuple[dict[str, int], int]:
    """Key -> offset of its value (the last one wins, as in json.loads) for the JSON object
    at source[i] (which must be valid JSON); and the offset just past the object."""
    members: dict[str, int] = {}
    i = _skip_ws(source, i)
    assert source[i] == "{"
    i = _skip_ws(source, i + 1)
    if source[i] == "}":
        return members, i + 1
    while True:
        key, i = json.decoder.scanstring(source, i + 1)
        i = _skip_ws(source, i)
        i = _skip_ws(source, i + 1)  # past ':'
        members[key] = i
        _, i = _DECODER.raw_decode(source, i)
        i = _skip_ws(source, i)
        if source[i] == "}":
            return members, i + 1
        i = _skip_ws(source, i + 1)  # past ','


def _array_items(source: str, i: int) -> list[int]:
    """Offsets of the items of the (valid) JSON array at source[i]."""
    items: list[int] = []
    i = _skip_ws(source, i)
    assert source[i] == "["
    i = _skip_ws(source, i + 1)
    if source[i] == "]":
        return items
    while True:
        items.append(i)
        _, i = _DECODER.raw_decode(source, i)
        i = _skip_ws(source, i)
        if source[i] == "]":
            return items
        i = _skip_ws(source, i + 1)


def _string_tokens(source: str, i: int) -> list[tuple[str, int, int, bool]]:
    """(text, start, end, verbatim) pieces of the JSON string literal at source[i] (its
    opening quote): runs of plain characters, split at whitespace, and decoded escapes."""
    tokens: list[tuple[str, int, int, bool]] = []
    i += 1
    while True:
        m = _PLAIN_RUN.match(source, i)
        if m:
            for run in _SPACE_RUNS.finditer(source, m.start(), m.end()):
                tokens.append((run.group(), run.start(), run.end(), True))
            i = m.end()
        ch = source[i]
        if ch == '"':
            return tokens
        # backslash escape
        code = source[i + 1]
        if code == "u":
            value = chr(int(source[i + 2 : i + 6], 16))
            end = i + 6
            if 0xD800 <= ord(value) <= 0xDBFF and source.startswith("\\u", end):
                low = int(source[end + 2 : end + 6], 16)
                if 0xDC00 <= low <= 0xDFFF:
                    value = chr(0x10000 + ((ord(value) - 0xD800) << 10) + (low - 0xDC00))
                    end += 6
        else:
            value = _ESCAPES[code]
            end = i + 2
        if value.isspace():
            value = " "  # an escaped line break or tab reads as a space
        tokens.append((value, i, end, False))
        i = end


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class WhisperJsonReader:
    name = "whisper"

    def sniff(self, source: str, path: Path) -> float:
        head = source.lstrip()
        if head.startswith("{") and '"segments"' in source:
            return 0.95
        if path.suffix.lower() == ".json":
            return 0.5  # JSON, but not a Whisper shape: read() says why
        if head[:1] in ("{", "[") and source.rstrip()[-1:] in ("}", "]"):
            try:
                json.loads(source)
            except ValueError:
                return 0.0
            return 0.5
        return 0.0

    def read(self, source: str, path: Path) -> Transcript:
        try:
            data = json.loads(source)
        except json.JSONDecodeError as e:
            raise UnknownFormat(path, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        except (ValueError, RecursionError) as e:
            raise UnknownFormat(path, f"invalid JSON: {e}") from None
        if not isinstance(data, dict):
            kind = _JSON_KINDS.get(type(data), "value")
            raise UnknownFormat(path, f"JSON {kind}, not a Whisper transcript (an object with 'segments')")
        segments = data.get("segments")
        if segments is None:
            raise UnknownFormat(path, "JSON object without 'segments': not a Whisper transcript")
        if not isinstance(segments, list):
            raise UnknownFormat(path, "'segments' is not a list")
        for n, segment in enumerate(segments):
            if not isinstance(segment, dict):
                raise UnknownFormat(path, f"segment {n} is not an object")
            if not isinstance(segment.get("text"), str):
                raise UnknownFormat(path, f"segment {n} has no 'text' string")

        top, _ = _object_members(source, 0)
        items = _array_items(source, top["segments"])
        builder = TextBuilder(source)
        utterances: list[Utterance] = []
        prev_end: int | None = None
        for segment, item in zip(segments, items, strict=True):
            members, _ = _object_members(source, item)
            tokens = _string_tokens(source, members["text"])
            # trim whitespace; collapse whitespace pieces that follow each other
            kept: list[tuple[str, int, int, bool]] = []
            for tok in tokens:
                if tok[0].isspace() and (not kept or kept[-1][0].isspace()):
                    continue
                kept.append(tok)
            while kept and kept[-1][0].isspace():
                kept.pop()
            if not kept:
                continue
            if prev_end is not None:
                builder.put(" ", prev_end, kept[0][1])
            start = len(builder)
            for text, a, b, verbatim in kept:
                if verbatim:
                    builder.copy(a, b)
                else:
                    builder.put(text, a, b)
            prev_end = kept[-1][2]
            speaker = segment.get("speaker")
            if isinstance(speaker, int | float) and not isinstance(speaker, bool):
                speaker = str(speaker)
            utterances.append(
                Utterance(
                    start,
                    len(builder),
                    speaker.strip() if isinstance(speaker, str) and speaker.strip() else None,
                    _number(segment.get("start")),
                    _number(segment.get("end")),
                )
            )
        if not utterances:
            raise UnknownFormat(path, "Whisper JSON whose segments hold no text")
        metadata: dict[str, Any] = {}
        if isinstance(data.get("language"), str) and data["language"].strip():
            metadata["language"] = data["language"].strip()
        return Transcript(
            path=str(path),
            format=self.name,
            source=source,
            text=builder.build(),
            utterances=utterances,
            metadata=metadata,
        )


def register_readers(register: Callable[[Reader], None]) -> None:
    register(WhisperJsonReader())

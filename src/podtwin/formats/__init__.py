"""Read any transcript file into a `Transcript`, picking the reader by the file's shape.

Readers register themselves through `register_readers(register)` in their module; the
built-in ones are listed in DEFAULT_READERS so the mechanism is used every day. A new
format is one new module added to that list (or passed to `register_reader`).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from podtwin.errors import UnknownFormat, UnreadableFile
from podtwin.formats.base import MappedText, Reader, TextBuilder, Transcript, Utterance

__all__ = [
    "MappedText",
    "Reader",
    "TextBuilder",
    "Transcript",
    "Utterance",
    "decode",
    "parse_transcript",
    "read_transcript",
    "readers",
    "register_reader",
]

DEFAULT_READERS = [
    "podtwin.formats.markdown",
    "podtwin.formats.subtitles",
    "podtwin.formats.whisper",
    "podtwin.formats.scraped",
    "podtwin.formats.lines",
    "podtwin.formats.plain",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
MAX_FILE_BYTES = 200 * 1024 * 1024

_readers: list[Reader] = []
_loaded = False


def register_reader(reader: Reader) -> None:
    _readers.append(reader)


def readers() -> list[Reader]:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in DEFAULT_READERS:
            importlib.import_module(name).register_readers(register_reader)
    return list(_readers)


def decode(data: bytes, path: Path) -> str:
    """Decode a transcript's bytes, refusing what is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise UnreadableFile(path, f"broken UTF-16 encoding at byte {e.start}") from None
    if b"\x00" in data[:65536]:
        raise UnreadableFile(path, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableFile(path, f"not valid UTF-8 text (bad byte at offset {e.start})") from None
    control = len(_CONTROL.findall(text, 0, 65536))
    if control > 8:
        raise UnreadableFile(path, "binary file (control characters)")
    return text


def read_transcript(path: str | Path) -> Transcript:
    """Read one file as a transcript, auto-detecting its format."""
    path = Path(path)
    if path.is_dir():
        raise UnreadableFile(path, "is a directory")
    if not path.exists():
        raise UnreadableFile(path, "no such file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(path, f"too large ({size} bytes; limit {MAX_FILE_BYTES})")
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(path, e.strerror or str(e)) from None
    if not data:
        raise UnreadableFile(path, "empty file (0 bytes)")
    source = decode(data, path)
    return parse_transcript(source, path)


def parse_transcript(source: str, path: str | Path = "<text>") -> Transcript:
    """Parse already-decoded text with the reader most sure it is theirs."""
    path = Path(path)
    if not source.strip():
        raise UnreadableFile(path, "empty file (only whitespace)")
    best: tuple[float, Reader] | None = None
    for reader in readers():
        score = reader.sniff(source, path)
        if score > 0 and (best is None or score > best[0]):
            best = (score, reader)
    if best is None:
        raise UnknownFormat(path, "not a transcript in any known format")
    transcript = best[1].read(source, path)
    if not any(u.end > u.start for u in transcript.utterances):
        raise UnknownFormat(path, f"read as {best[1].name} but holds no spoken text")
    return transcript

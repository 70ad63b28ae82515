"""podtwin's exceptions, each carrying the context a user needs to act on it.

PodtwinError
├── TranscriptError          a file cannot be read as a transcript (path, reason)
│   ├── UnreadableFile       binary, broken encoding, empty, not a file
│   └── UnknownFormat        text, but no reader recognises its shape
├── LibraryError             the SQLite library is missing, newer than this code, or locked
└── EpisodeNotFound          an EPISODE selector matches nothing (or more than one)
"""

from __future__ import annotations

from pathlib import Path


class PodtwinError(Exception):
    """Base of every error podtwin reports to a user."""


class TranscriptError(PodtwinError):
    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnreadableFile(TranscriptError):
    pass


class UnknownFormat(TranscriptError):
    pass


class LibraryError(PodtwinError):
    pass


class EpisodeNotFound(PodtwinError):
    def __init__(self, selector: str, reason: str) -> None:
        self.selector = selector
        super().__init__(f"episode {selector!r}: {reason}")

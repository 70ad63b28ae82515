"""podtwin's exceptions: every one the project raises to a user, in one tree, each carrying
the context a user needs to act on it. The CLI turns them into one-line messages
(cli.common.reported_errors) and the HTTP app into statuses (api.app.status_of), each in
that one place.

PodtwinError                  base of every error podtwin reports to a user (CLI: exit 1; HTTP: 400)
├── TranscriptError           a file cannot be read as a transcript (path, reason)
│   ├── UnreadableFile        binary, broken encoding, empty, not a file
│   └── UnknownFormat         text, but no reader recognises its shape
├── LibraryError              the SQLite library is missing, newer than this code, or locked (HTTP: 503)
├── EpisodeNotFound           an EPISODE selector matches nothing (or more than one)
├── PersonNotFound            a name, alias or slug matches no person; a turn that is not there
├── NotFound                  what a URL names does not exist (HTTP: 404)
├── SearchError               a query that cannot be searched (empty, too long, bad filters)
├── TwinError                 a question a twin cannot take (empty, too long, bad history)
├── PersonaError              a creator's bounds that cannot be kept (unknown style, a denial of being an AI)
├── ApiKeyError               an API key that cannot be made or revoked
├── EmbeddingModelError       a shipped model file missing or corrupt (named, with the fix)
├── TuneError                 `podtwin tune` has nothing to tune on, or cannot go on
├── WebhookError              a webhook that cannot be kept (a URL not http(s), a bad watch topic or confidence)
├── CorrectionError           a pin, block, mark or undo that cannot be made (someone else's words, a later change)
└── LLMError                  the language model of generative mode failed (never quotes its URL)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ApiKeyError",
    "CorrectionError",
    "EmbeddingModelError",
    "EpisodeNotFound",
    "LLMError",
    "LibraryError",
    "NotFound",
    "PersonNotFound",
    "PersonaError",
    "PodtwinError",
    "SearchError",
    "TranscriptError",
    "TuneError",
    "TwinError",
    "UnknownFormat",
    "UnreadableFile",
    "WebhookError",
]


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


class PersonNotFound(PodtwinError):
    pass


class NotFound(PodtwinError):
    pass


class SearchError(PodtwinError):
    pass


class TwinError(PodtwinError):
    pass


class PersonaError(PodtwinError):
    pass


class ApiKeyError(PodtwinError):
    pass


class EmbeddingModelError(PodtwinError):
    pass


class TuneError(PodtwinError):
    pass


class LLMError(PodtwinError):
    pass


class WebhookError(PodtwinError):
    pass


class CorrectionError(PodtwinError):
    """A correction of a twin's answer that cannot be made: the reason says why."""

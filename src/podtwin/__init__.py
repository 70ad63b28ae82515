"""podtwin: AI twins of a podcast's host and guests, built from their transcripts.

The public surface: open a `Library`, `ingest` files into it, or read one file with
`read_transcript`.
"""

from podtwin.errors import (
    EpisodeNotFound,
    LibraryError,
    PodtwinError,
    TranscriptError,
    UnknownFormat,
    UnreadableFile,
)
from podtwin.formats import parse_transcript, read_transcript, register_reader
from podtwin.formats.base import Transcript, Utterance
from podtwin.ingest import IngestReport, ingest, process_file
from podtwin.store.library import Library, resolve_episode

__version__ = "0.1.0"

__all__ = [
    "EpisodeNotFound",
    "IngestReport",
    "Library",
    "LibraryError",
    "PodtwinError",
    "Transcript",
    "TranscriptError",
    "UnknownFormat",
    "UnreadableFile",
    "Utterance",
    "ingest",
    "parse_transcript",
    "process_file",
    "read_transcript",
    "register_reader",
    "resolve_episode",
]

"""Where the shared corpus lives, and the fixed train/measure split over it.

The split is by sorted file name so it never changes: every 5th lenny file
(index % 5 == 4) is kept for measuring and never used to train or tune.
"""

from __future__ import annotations

import os
from pathlib import Path

MEASURE_EVERY = 5


def corpus_dir() -> Path:
    """The shared corpus folder: $PODTWIN_CORPUS or ../shared/corpus."""
    return Path(os.environ.get("PODTWIN_CORPUS", "../shared/corpus"))


def lenny_files() -> list[Path]:
    return sorted((corpus_dir() / "lenny").glob("*.md"))


def lex_files() -> list[Path]:
    return sorted((corpus_dir() / "lex").glob("*.txt"))


def split(files: list[Path], part: str) -> list[Path]:
    """Return the 'train' or 'measure' part of a sorted list of files."""
    if part not in ("train", "measure"):
        raise ValueError(f"part must be 'train' or 'measure', not {part!r}")
    ordered = sorted(files, key=lambda p: p.name)
    keep_measure = part == "measure"
    return [p for i, p in enumerate(ordered) if (i % MEASURE_EVERY == MEASURE_EVERY - 1) == keep_measure]


# -- labelled shows ---------------------------------------------------------------------------

# Shows that share hosts are one group: leaving a show out of training leaves its group out,
# so no host is learnt from a sister show (the Changelog family shares Adam, Jerod, ...).
LENNY = "lenny"
LEX_LABELLED = "lex-labelled"


def show_group(show: str) -> str:
    return "changelog" if show.startswith("changelog-") else show


def labelled_shows() -> dict[str, list[Path]]:
    """Every labelled show of the corpus that may be trained on: lenny and each folder of
    shows/, name -> sorted files. lex-labelled is never among them (measure only)."""
    shows = {LENNY: lenny_files()}
    root = corpus_dir() / "shows"
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            files = sorted(folder.glob("*.txt"))
            if files:
                shows[folder.name] = files
    return shows


def lex_labelled_files() -> list[Path]:
    return sorted((corpus_dir() / LEX_LABELLED).glob("*.txt"))


def labelled_folder(folder: str | Path) -> dict[str, list[Path]]:
    """Labelled transcripts under a folder, by show: a folder of files is one show (named
    after it); a folder of folders is one show per sub-folder."""
    folder = Path(folder)
    suffixes = {".txt", ".md"}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes and p.name != "SOURCES.md")
    out: dict[str, list[Path]] = {}
    if files:
        out[folder.name] = files
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        out.update(labelled_folder(sub))
    return out

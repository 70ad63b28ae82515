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

"""Speaker-attribution benchmark: attribution of all corpus files, beyond plain ingest.

    python bench/bench_attribution.py [--corpus DIR]

Every file is read and split into sentences once (plain ingest work, timed apart); then
the attribution model runs over every file's sentences as if none were labelled, and
only that is timed. Target: at most 60 s for all 258 files on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from podtwin.corpus import corpus_dir  # noqa: E402
from podtwin.formats import read_transcript  # noqa: E402
from podtwin.speakers.attribution import default_attributor  # noqa: E402
from podtwin.text.segmenter import segment_transcript  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file())
    start = time.perf_counter()
    texts = [[s.text for s in segment_transcript(read_transcript(f))] for f in files]
    read_s = time.perf_counter() - start
    attributor = default_attributor()
    start = time.perf_counter()
    turns = sum(len(attributor.attribute(t)) for t in texts)
    attribute_s = time.perf_counter() - start
    sentences = sum(len(t) for t in texts)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"corpus: {args.corpus.resolve()} ({len(files)} files)")
    print(f"read + sentences (plain ingest work): {read_s:.1f} s")
    print(
        f"attribution: {sentences:,} sentences, {turns:,} turns in {attribute_s:.1f} s "
        f"({sentences / attribute_s:,.0f} sentences/s); target <= 60 s {'MET' if attribute_s <= 60 else 'MISSED'}"
    )
    sys.exit(0 if attribute_s <= 60 else 1)


if __name__ == "__main__":
    main()

"""Speaker-attribution benchmark: the sample corpus plus lenny/, attributed as if unlabelled.

    python bench/bench_attribution.py [--corpus DIR] [--baseline COMMIT]

Reads `lex/` and `lenny/` (not `shows/` or `lex-labelled/`, which are labelled data for
measuring, not a podcast to serve). Every file is read and split into sentences once
(plain ingest work, timed apart), tagged (sponsor reads, intros) and its episode facts
inferred; then, timed:

* the previous model (the weights at --baseline, read from git) over every file alone;
* the shipped pipeline: every file with the shipped model, then each show's per-show
  adaptation (its host learnt from its own episodes, three passes over the show), which
  is what ingest now does.

Target: at most 60 s for the whole pipeline on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from podtwin.clean.segments import tag_kinds  # noqa: E402
from podtwin.clean.sponsors import default_sponsor_tagger  # noqa: E402
from podtwin.corpus import corpus_dir  # noqa: E402
from podtwin.formats import read_transcript  # noqa: E402
from podtwin.speakers.adapt import adapt_prepared  # noqa: E402
from podtwin.speakers.attribution import SpeakerAttributor, default_attributor  # noqa: E402
from podtwin.speakers.metadata import infer_episode_info  # noqa: E402
from podtwin.text.segmenter import segment_transcript  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "fcf196f"  # the last commit with the lenny-only model


def baseline_attributor(commit: str) -> SpeakerAttributor:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:src/podtwin/speakers/attribution.npz"],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.NamedTemporaryFile(suffix=".npz") as f:
        f.write(data)
        f.flush()
        return SpeakerAttributor.load(f.name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    shows: dict[str, list] = {}
    start = time.perf_counter()
    tagger = default_sponsor_tagger()
    n_files = 0
    for folder in ("lex", "lenny"):
        for f in sorted((args.corpus / folder).iterdir()):
            if not f.is_file():
                continue
            transcript = read_transcript(f)
            sentences = segment_transcript(transcript)
            texts = [s.text for s in sentences]
            kinds = tag_kinds(sentences, tagger.predict(texts, [s.paragraph_start for s in sentences]))
            shows.setdefault(folder, []).append((texts, kinds, infer_episode_info(transcript, sentences)))
            n_files += 1
    read_s = time.perf_counter() - start
    sentences = sum(len(t) for eps in shows.values() for t, _, _ in eps)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"corpus: {args.corpus.resolve()} lex/ + lenny/ ({n_files} files, {sentences:,} sentences)")
    print(f"read, sentences, sponsor tags, episode facts (plain ingest work): {read_s:.1f} s")

    old = baseline_attributor(args.baseline)
    start = time.perf_counter()
    for eps in shows.values():
        for texts, _, _ in eps:
            old.attribute(texts)
    old_s = time.perf_counter() - start
    print(f"previous model ({args.baseline}), every file alone: {old_s:.1f} s ({sentences / old_s:,.0f} sentences/s)")

    attributor = default_attributor()
    start = time.perf_counter()
    turns = 0
    for eps in shows.values():
        for who in adapt_prepared(eps, attributor):
            turns += sum(1 for a, b in zip(who.roles, who.roles[1:]) if a != b) + 1
    new_s = time.perf_counter() - start
    print(
        f"shipped pipeline (model + per-show adaptation): {turns:,} turns in {new_s:.1f} s "
        f"({sentences / new_s:,.0f} sentences/s); target <= 60 s {'MET' if new_s <= 60 else 'MISSED'}"
    )
    sys.exit(0 if new_s <= 60 else 1)


if __name__ == "__main__":
    main()

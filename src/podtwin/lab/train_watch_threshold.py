"""Fit the watch topics' threshold on the TUNE examples (never the measure ones) and write it
into the twin's calibration (``watch_threshold``, ``watch_by_word``; the other keys kept).

The off-limits policy's threshold (cosine 0.121) is fitted for declining, where a miss is
the worse error; as an alert it fired on almost anything ("military" on a question about
pasta). The watch threshold is the cosine maximising F1 on the tune examples (ties: the
higher, fewer alarms), placed midway to the next lower tune score so it does not sit on one
example. The word rule (every word of the topic in the question fires, as off-limits topics
do) is kept only if it raises tune F1: by meaning the embedding already catches the words' own
sense, so all the word rule can add is their other senses ("office politics" for "politics").

    python -m podtwin.lab.train_watch_threshold [--out PATH]   # part of `make train`; seconds

It prints the fit and the measure split's figures with and without the word rule
(`podtwin eval watch-topics` prints them for the shipped calibration).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from podtwin.lab.evaluate_watch_topics import DATA, evaluate_watch_topics, figures, load_examples, scores
from podtwin.twin.answer import CALIBRATION, load_calibration

__all__ = ["fit_threshold", "fit_watch", "main"]


def fit_threshold(cos: np.ndarray, should_fire: np.ndarray, named: np.ndarray | None = None) -> tuple[float, dict]:
    """(threshold, tune figures): fire at cosine >= threshold (or when named, if given); the
    threshold maximising F1, ties to the higher, midway between its score and the next lower."""
    y = np.asarray(should_fire, bool)
    extra = np.zeros(len(y), bool) if named is None else np.asarray(named, bool)
    levels = np.unique(np.round(cos, 4))[::-1]  # highest first: a tie keeps the higher
    best, best_f1 = float(levels[0]), -1.0
    for t in levels:
        f1 = figures(y, (cos >= t) | extra)["f1"]
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    lower = levels[levels < best]
    threshold = round((best + float(lower[0])) / 2, 4) if len(lower) else best
    return threshold, figures(y, (cos >= threshold) | extra)


def fit_watch(path: Path = DATA, embedder=None) -> dict:
    """The fit on the tune examples: threshold and word rule, with the tune figures of both rules."""
    tune = load_examples(path, "tune")
    y = np.array([e["should_fire"] for e in tune])
    cos, named = scores(tune, embedder)
    meaning_t, meaning = fit_threshold(cos, y)
    word_t, word = fit_threshold(cos, y, named)
    by_word = word["f1"] > meaning["f1"]
    return {
        "watch_threshold": word_t if by_word else meaning_t,
        "watch_by_word": bool(by_word),
        "watch_fitted_on": {
            "tune_examples": len(tune),
            "tune_topics": len({e["topic"] for e in tune}),
            "tune_should_fire": int(y.sum()),
            "meaning_only": {"threshold": meaning_t, **meaning},
            "meaning_or_word": {"threshold": word_t, **word},
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="labelled examples (JSON Lines)")
    ap.add_argument("--out", type=Path, default=CALIBRATION, help="the calibration to update (its other keys kept)")
    args = ap.parse_args(argv)
    fit = fit_watch(args.data)
    current = json.loads((args.out if args.out.exists() else CALIBRATION).read_text())
    args.out.write_text(json.dumps({**current, **fit}, indent=2) + "\n")
    print(json.dumps(fit, indent=2))
    load_calibration.cache_clear()
    measured = evaluate_watch_topics("measure", args.data, load_calibration(args.out))
    print(
        f"measure: {measured['examples']} examples, {measured['topics']} topics, threshold {fit['watch_threshold']}, "
        f"word rule {'on' if fit['watch_by_word'] else 'off'}"
    )
    for name in ("shipped", "meaning_only", "meaning_or_word", "off_limits_matcher"):
        f = measured[name]
        print(
            f"  {name:20} precision {f['precision']:.3f}  recall {f['recall']:.3f}  F1 {f['f1']:.3f}  "
            f"false alarms {f['false_alarm_rate']:.3f} ({f['false_alarms']})"
        )


if __name__ == "__main__":
    main()

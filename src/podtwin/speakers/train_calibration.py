"""Fit the speaker confidence calibration and the twin's quoting threshold, on shows the
model never saw.

For each show group (lenny, the Changelog family, stephan-livera-podcast) a model is
trained without that group (train split of the others only), and attributes that group's
train-split files, punctuated and unpunctuated, as ingest would (per-show adaptation
included). Every model-attributed sentence gives (raw confidence, words whose speaker is
right, words). Then:

* the calibration is an isotonic fit (pool-adjacent-violators, word-weighted) of "the
  word's speaker is right" on the raw confidence;
* the threshold is the lowest calibrated confidence at which the words kept at or above
  it are at most MAX_WRONG someone else's.

Measure files and lex-labelled are never read here.

    python -m podtwin.speakers.train_calibration [--epochs N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from podtwin.corpus import labelled_shows, show_group, split
from podtwin.speakers.attribution import SpeakerAttributor
from podtwin.speakers.calibration import DEFAULT_PATH, Calibration
from podtwin.speakers.evaluate import (
    _retry_punctuator,
    attribute_show,
    load_show,
    reliability,
    sentence_outcomes,
    show_hosts,
)

MAX_WRONG = 0.01
KNOTS = 40
FOLD_DIR = Path.home() / ".cache" / "podtwin" / "folds"


def isotonic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing fit of y on x (pool adjacent violators); returns (x sorted, fit)."""
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    vals: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(y, w):
        vals.append(float(yi))
        weights.append(float(wi))
        counts.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v2, w2, c2 = vals.pop(), weights.pop(), counts.pop()
            v1, w1, c1 = vals.pop(), weights.pop(), counts.pop()
            vals.append((v1 * w1 + v2 * w2) / (w1 + w2))
            weights.append(w1 + w2)
            counts.append(c1 + c2)
    return x, np.repeat(vals, counts)


def fit_calibration(outcomes, max_wrong: float = MAX_WRONG) -> Calibration:
    raw = np.array([o[0] for o in outcomes])
    acc = np.array([o[1] / o[2] for o in outcomes])
    words = np.array([o[2] for o in outcomes], dtype=float)
    xs, fit = isotonic(raw, acc, words)
    # knots at quantiles of the raw confidence, plus its ends
    qs = np.unique(np.quantile(xs, np.linspace(0, 1, KNOTS)))
    ys = np.interp(qs, xs, fit)
    ys = np.maximum.accumulate(ys)
    cal = Calibration([round(float(v), 5) for v in qs], [round(float(v), 5) for v in ys], 1.0, {})
    calibrated = np.array([cal.calibrate(p) for p in raw])
    right = np.array([o[1] for o in outcomes], dtype=float)
    # lowest threshold whose kept words are at most max_wrong wrong
    order = np.argsort(-calibrated, kind="stable")
    kept_right = np.cumsum(right[order])
    kept = np.cumsum(words[order])
    wrong = 1 - kept_right / kept
    ok = np.flatnonzero(wrong <= max_wrong)
    # the largest prefix that stays pure enough (ties broken to the safe side)
    cal.threshold = float(calibrated[order][ok[-1]]) if len(ok) else 1.0
    cal.threshold = round(min(cal.threshold + 1e-4, 1.0), 4)
    return cal


def fold_outcomes(epochs: int, adapt: bool, log=print) -> list:
    from podtwin.speakers import train_attribution

    shows = labelled_shows()
    groups = sorted({show_group(s) for s in shows})
    identity = Calibration([], [], 0.0, {})
    punctuator = _retry_punctuator()
    outcomes = []
    FOLD_DIR.mkdir(parents=True, exist_ok=True)
    for group in groups:
        weights = FOLD_DIR / f"without-{group}.npz"
        if not weights.exists():
            log(f"training a model without {group}", flush=True)
            train_attribution.main(["--leave-out", group, "--epochs", str(epochs), "--out", str(weights)])
        attributor = SpeakerAttributor.load(weights)
        for show, files in shows.items():
            if show_group(show) != group:
                continue
            hosts = show_hosts(files)
            for unp in (False, True):
                eps = load_show(show, split(files, "train"), unp, punctuator, hosts)
                whos = attribute_show(eps, attributor, adapt=adapt, calibration=identity)
                got = [o for ep, who in zip(eps, whos) for o in sentence_outcomes(ep, who)]
                log(f"{show} {'unpunctuated' if unp else 'punctuated'}: {len(got)} sentences", flush=True)
                outcomes.extend(got)
    return outcomes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="fit the speaker confidence calibration on left-out shows")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of each fold's model")
    ap.add_argument("--no-adapt", action="store_true", help="calibrate the general model without per-show adaptation")
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--refit", action="store_true", help="train the fold models again")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.refit:
        for f in FOLD_DIR.glob("without-*.npz"):
            f.unlink()
    outcomes = fold_outcomes(args.epochs, not args.no_adapt)
    cal = fit_calibration(outcomes)
    before = reliability(outcomes)
    after = reliability([(cal.calibrate(o[0]), o[1], o[2], o[3]) for o in outcomes], threshold=cal.threshold)
    cal.info = {
        "fitted_on": "train split of each show group, attributed by a model trained without that group",
        "adapted_per_show": not args.no_adapt,
        "sentences": len(outcomes),
        "max_wrong": MAX_WRONG,
        "ece_raw": before["ece"],
        "ece_calibrated": after["ece"],
        "kept_words": after.get("kept_words"),
        "wrong_words_kept": after.get("wrong_words_kept"),
    }
    cal.save(args.out)
    print(json.dumps({"raw": before, "calibrated": after, "threshold": cal.threshold}, indent=1))
    print(f"saved {args.out} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()

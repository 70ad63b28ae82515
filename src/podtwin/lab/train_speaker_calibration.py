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

    python -m podtwin.lab.train_speaker_calibration [--epochs N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from podtwin.corpus import labelled_shows, show_group, split
from podtwin.lab.evaluate_speakers import (
    _retry_punctuator,
    attribute_show,
    load_show,
    reliability,
    sentence_outcomes,
    show_hosts,
)
from podtwin.speakers.attribution import DEFAULT_WEIGHTS, SpeakerAttributor
from podtwin.speakers.calibration import DEFAULT_PATH, Calibration

A_DEFAULT = DEFAULT_WEIGHTS
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


def _knots(raw: np.ndarray, acc: np.ndarray, words: np.ndarray) -> tuple[list[float], list[float]]:
    xs, fit = isotonic(raw, acc, words)
    qs = np.unique(np.quantile(xs, np.linspace(0, 1, KNOTS)))
    ys = np.maximum.accumulate(np.interp(qs, xs, fit))
    return [round(float(v), 5) for v in qs], [round(float(v), 5) for v in ys]


def fit_calibration(outcomes, max_wrong: float = MAX_WRONG) -> Calibration:
    """Isotonic maps (sentences that ask "you" apart) and the quoting threshold."""
    raw = np.array([o[0] for o in outcomes])
    acc = np.array([o[1] / o[2] for o in outcomes])
    words = np.array([o[2] for o in outcomes], dtype=float)
    asks = np.array([o[4] for o in outcomes], dtype=bool)
    cal = Calibration(*_knots(raw[~asks], acc[~asks], words[~asks]), 1.0, {})
    if asks.sum() >= 50:
        cal.xs_asks, cal.ys_asks = _knots(raw[asks], acc[asks], words[asks])
    calibrated = np.array([cal.calibrate(p, a) for p, a in zip(raw, asks)])
    right = np.array([o[1] for o in outcomes], dtype=float)
    # lowest threshold whose kept words are at most max_wrong someone else's
    order = np.argsort(-calibrated, kind="stable")
    wrong = 1 - np.cumsum(right[order]) / np.cumsum(words[order])
    ok = np.flatnonzero(wrong <= max_wrong)
    cal.threshold = float(calibrated[order][ok[-1]]) if len(ok) else 1.0
    cal.threshold = round(min(cal.threshold + 1e-4, 1.0), 4)
    return cal


def set_decoder(weights: Path, scale: float, bias: float) -> None:
    """Write the decoder's two settings into a model's weights file."""
    with np.load(weights, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["emit_scale_logit"] = np.asarray(scale, dtype=np.float32)
    arrays["change_bias"] = np.asarray(bias, dtype=np.float32)
    np.savez_compressed(weights, **arrays)


def fold_model(group: str, epochs: int | None = None, log=print) -> SpeakerAttributor:
    """The model trained without a show group (cached under FOLD_DIR; trained if missing)."""
    from podtwin.lab import train_attribution

    weights = FOLD_DIR / f"without-{group}.npz"
    if not weights.exists():
        FOLD_DIR.mkdir(parents=True, exist_ok=True)
        log(f"training a model without {group}", flush=True)
        epochs = epochs or train_attribution.EPOCHS
        train_attribution.main(["--leave-out", group, "--epochs", str(epochs), "--out", str(weights)])
    return SpeakerAttributor.load(weights)


def fold_outcomes(epochs: int, adapt: bool, log=print) -> list:
    shows = labelled_shows()
    groups = sorted({show_group(s) for s in shows})
    identity = Calibration([], [], 0.0, {})
    punctuator = _retry_punctuator()
    outcomes = []
    for group in groups:
        attributor = fold_model(group, epochs, log)
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
    ap.add_argument("--epochs", type=int, default=None, help="epochs of each fold's model (default: as make train)")
    ap.add_argument("--no-adapt", action="store_true", help="calibrate the general model without per-show adaptation")
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--refit", action="store_true", help="train the fold models again")
    ap.add_argument("--model", type=Path, default=A_DEFAULT, help="the shipped model, whose decoder is set")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.refit:
        for f in FOLD_DIR.glob("without-*.npz"):
            f.unlink()
    (scale, bias), decoder_scores = choose_decoder(args.epochs)
    for weights in [args.model, *FOLD_DIR.glob("without-*.npz")]:
        set_decoder(weights, scale, bias)
    print(f"decoder chosen on left-out shows: scale {scale}, change bias {bias}", flush=True)
    outcomes = fold_outcomes(args.epochs, not args.no_adapt)
    cal = fit_calibration(outcomes)
    before = reliability(outcomes)
    after = reliability([(cal.calibrate(o[0], o[4]), *o[1:]) for o in outcomes], threshold=cal.threshold)
    cal.info = {
        "fitted_on": "train split of each show group, attributed by a model trained without that group",
        "adapted_per_show": not args.no_adapt,
        "sentences": len(outcomes),
        "max_wrong": MAX_WRONG,
        "decoder": {"scale": scale, "change_bias": bias, "scores": decoder_scores},
        "ece_raw": before["ece"],
        "ece_calibrated": after["ece"],
        "kept_words": after.get("kept_words"),
        "wrong_words_kept": after.get("wrong_words_kept"),
    }
    cal.save(args.out)
    print(json.dumps({"raw": before, "calibrated": after, "threshold": cal.threshold}, indent=1))
    print(f"saved {args.out} in {time.time() - t0:.0f}s")


DECODER_GRID = [(s, b) for s in (0.3, 0.5, 0.7, 1.0, 1.5) for b in (-1.0, -0.5, 0.0, 0.5, 1.0)]


def choose_decoder(epochs: int | None = None, log=print) -> tuple[tuple[float, float], dict]:
    """The decoder (how far P(host) is trusted, the bias on P(change)) that attributes
    left-out shows best: each group's train files with the model trained without that
    group; mean over groups of the word-weighted role accuracy (host against the rest)."""
    from podtwin.lab import train_attribution as T
    from podtwin.speakers import attribution as A

    shows = labelled_shows()
    groups = sorted({show_group(s) for s in shows})
    per_group: dict[str, list] = {}
    for group in groups:
        attributor = fold_model(group, epochs, log)
        part = {s: split(f, "train") for s, f in shows.items() if show_group(s) == group}
        logits = []
        for ex in T.load_examples(part):
            if len(ex["texts"]) < 2 or not ex["has_host"]:
                continue
            host, change = attributor.logits(A.encode_sentences(ex["texts"], ex["names"], attributor.vocab))
            logits.append((host, change, ex["roles"].astype(np.int64), ex["words"].astype(float)))
        per_group[group] = logits
    scores = {}
    for scale, bias in DECODER_GRID:
        accs = []
        for logits in per_group.values():
            right = total = 0.0
            for host, change, roles, words in logits:
                path = A.viterbi(A._sigmoid(scale * host), A._sigmoid(change + bias))
                right += float(words[path == roles].sum())
                total += float(words.sum())
            accs.append(right / total)
        scores[(scale, bias)] = round(float(np.mean(accs)), 4)
        log(f"decoder {scale}, {bias}: mean accuracy over left-out groups {scores[(scale, bias)]}", flush=True)
    best = max(scores, key=scores.get)
    return best, {f"{k[0]},{k[1]}": v for k, v in scores.items()}


if __name__ == "__main__":
    main()

"""Ground truth and scoring for the punctuator on lenny transcripts.

Ground truth is built one way for training and evaluation alike: the transcript
paragraphs of a lenny file are cut with the project's rule-based splitter
(podtwin.text.sentences), every paragraph (speaker turn) end is a boundary too, and
each word is normalised exactly as the punctuator normalises its input. A word's
label is "" (no boundary), "." (a sentence ends after it) or "?" (a question ends).

Evaluation strips each file to one long run of lowercase words (no punctuation, no
turn breaks), has the punctuator predict boundaries, and scores them per position.
The last word of a file is not scored (a boundary there is free).

    python -m podtwin.lab.evaluate_sentences  # measure split
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from pathlib import Path

from podtwin.text.punctuate import Punctuator, default_punctuator, normalise_word
from podtwin.text.sentences import split_sentences, words_with_spans

__all__ = [
    "evaluate_sentence_boundaries",
    "label_paragraph",
    "lenny_paragraphs",
    "load_lenny_sentences",
    "load_lenny_words",
    "mean_sentence_length",
    "score",
]

_END_MARKS = re.compile(r"[.?!…]+$")
_CLOSERS = "\"'”’)]"


def lenny_paragraphs(path: Path | str) -> list[str]:
    """Text of each speaker paragraph of a labelled transcript, as the project's reader gives it."""
    from podtwin.formats import read_transcript

    transcript = read_transcript(path)
    return [transcript.utterance_text(u) for u in transcript.utterances]


def label_paragraph(text: str) -> tuple[list[str], list[str]]:
    """Normalised words of a punctuated paragraph and their boundary labels."""
    words: list[str] = []
    labels: list[str] = []
    for a, b in split_sentences(text):
        n_before = len(words)
        for tok, _, _ in words_with_spans(text, a, b):
            w = normalise_word(tok)
            if w:
                words.append(w)
                labels.append("")
        if len(words) > n_before:
            m = _END_MARKS.search(text[a:b].rstrip(_CLOSERS))
            labels[-1] = "?" if m and "?" in m.group(0) else "."
    return words, labels


def load_lenny_sentences(path: Path | str) -> list[tuple[list[str], list[str]]]:
    """(words, labels) per speaker paragraph of a lenny file; empty paragraphs dropped."""
    out = []
    for text in lenny_paragraphs(path):
        words, labels = label_paragraph(text)
        if words:
            out.append((words, labels))
    return out


def load_lenny_words(path: Path | str) -> tuple[list[str], list[str]]:
    """The whole file as one run of normalised words with labels (turn ends are boundaries)."""
    words: list[str] = []
    labels: list[str] = []
    for w, lab in load_lenny_sentences(path):
        words.extend(w)
        labels.extend(lab)
    return words, labels


def mean_sentence_length(paths: list[Path]) -> float:
    """Mean words per sentence over the given files."""
    n_words = n_sent = 0
    for p in paths:
        _, labels = load_lenny_words(p)
        n_words += len(labels)
        n_sent += sum(1 for lab in labels if lab)
    return n_words / max(n_sent, 1)


@lru_cache(maxsize=1)
def _train_mean_sentence_length() -> float:
    from podtwin.corpus import lenny_files, split

    return mean_sentence_length(split(lenny_files(), "train"))


def _prf(tp: int, n_pred: int, n_true: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def score(true: list[str], pred: list[str]) -> dict[str, float]:
    """Boundary and question precision/recall/F1 of predicted labels against true ones."""
    tb = sum(1 for t in true if t)
    pb = sum(1 for p in pred if p)
    tp = sum(1 for t, p in zip(true, pred, strict=True) if t and p)
    tq = sum(1 for t in true if t == "?")
    pq = sum(1 for p in pred if p == "?")
    tpq = sum(1 for t, p in zip(true, pred, strict=True) if t == "?" and p == "?")
    out = {"true_boundaries": tb, "predicted_boundaries": pb, **_prf(tp, pb, tb)}
    q = _prf(tpq, pq, tq)
    out.update({"true_questions": tq, "predicted_questions": pq})
    out.update({f"question_{k}": v for k, v in q.items()})
    return out


def evaluate_sentence_boundaries(
    paths: list[Path], punctuator: Punctuator | None = None, baseline_every: float | None = None
) -> dict:
    """Score the punctuator on lenny files stripped of punctuation and casing.

    baseline_every: sentence length N of the naive baseline (a boundary every N words);
    by default the mean sentence length of the lenny TRAIN split.
    """
    punctuator = punctuator or default_punctuator()
    n_every = baseline_every if baseline_every is not None else _train_mean_sentence_length()
    step = max(1, round(n_every))
    all_true: list[str] = []
    all_pred: list[str] = []
    all_base: list[str] = []
    seconds = 0.0
    n_words = 0
    for p in paths:
        words, labels = load_lenny_words(p)
        if not words:
            continue
        t0 = time.perf_counter()
        pred = punctuator.predict(words)
        seconds += time.perf_counter() - t0
        n_words += len(words)
        # the final word always ends a sentence; do not score it
        all_true.extend(labels[:-1])
        all_pred.extend(pred[:-1])
        all_base.extend("." if (i + 1) % step == 0 else "" for i in range(len(words) - 1))
    result = {"files": len(paths), "words": n_words, **score(all_true, all_pred)}
    result["words_per_second"] = n_words / seconds if seconds else 0.0
    base = score(all_true, all_base)
    result["baseline"] = {
        "every_n_words": step,
        "train_mean_sentence_length": n_every,
        **{k: base[k] for k in ("predicted_boundaries", "precision", "recall", "f1")},
    }
    return result


def main(argv: list[str] | None = None) -> None:
    import argparse

    from podtwin.corpus import lenny_files, split

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="measure", choices=("train", "measure"))
    ap.add_argument("--weights", default=None, help="punctuator .npz (default: packaged)")
    args = ap.parse_args(argv)
    punctuator = Punctuator.load(args.weights)
    result = evaluate_sentence_boundaries(split(lenny_files(), args.part), punctuator)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

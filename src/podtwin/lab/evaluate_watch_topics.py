"""How well a creator's watch topics pick out the questions on them (issue 18, "take over").

A watch topic raises a `watched_topic` webhook event when a question touches it
(podtwin.twin.answer.watched_topic). An alert that fires on unrelated questions is ignored, one
that misses a question on the topic leaves the creator out, so both are measured on examples
written by hand (``data/watch_topics.jsonl``), one per line:

    {"id": "wt-001", "split": "tune" | "measure", "topic": "military",
     "question": "What was it like serving in the army?", "should_fire": true,
     "kind": "paraphrase" | "word" | "near" | "other_sense" | "unrelated"}

Topics as a creator types them ("military", "my divorce", "Elon Musk", ...), each with
questions on it in other words (paraphrase) or naming it (word), and questions that are not on
it: near-misses of a neighbouring subject (near), the topic's word in another sense
(other_sense: "office politics" for "politics"), and unrelated ones. The split is by topic, so
no topic is both fitted (podtwin.lab.train_watch_threshold) and measured.

    podtwin eval watch-topics [--split measure|tune]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from podtwin.errors import PodtwinError
from podtwin.twin.answer import Calibration, load_calibration, named_topic, topic_closeness, watched_topic

__all__ = ["DATA", "evaluate_watch_topics", "figures", "load_examples", "scores"]

DATA = Path(__file__).parent / "data" / "watch_topics.jsonl"
KINDS = ("paraphrase", "word", "near", "other_sense", "unrelated")
SPLITS = ("tune", "measure")


def load_examples(path: Path = DATA, split: str | None = None) -> list[dict]:
    """The labelled examples of a file (of one split, if given), checked: a topic is in one split only."""
    if split is not None and split not in SPLITS:
        raise PodtwinError(f"unknown split {split!r} ({', '.join(SPLITS)})")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PodtwinError(f"cannot read the watch-topic examples {path}: {e}") from None
    examples, split_of = [], {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            ok = (
                e["split"] in SPLITS
                and e["kind"] in KINDS
                and isinstance(e["should_fire"], bool)
                and e["topic"].strip()
                and e["question"].strip()
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise PodtwinError(f"{path}:{n}: not a watch-topic example (id, split, topic, question, should_fire, kind)")
        if split_of.setdefault(e["topic"], e["split"]) != e["split"]:
            raise PodtwinError(f"{path}:{n}: topic {e['topic']!r} is in both splits")
        examples.append(e)
    return [e for e in examples if split is None or e["split"] == split]


def scores(examples: list[dict], embedder=None) -> tuple[np.ndarray, np.ndarray]:
    """Each example's cosine to its topic and whether it names the topic, as the runtime computes them."""
    if embedder is None:
        from podtwin.search.embed import default_embedder

        embedder = default_embedder()
    cos = [
        float(topic_closeness([e["topic"]], [e["question"]], embedder.embed_query(e["question"]), embedder)[0])
        for e in examples
    ]
    named = [named_topic([e["topic"]], [e["question"]]) is not None for e in examples]
    return np.array(cos), np.array(named)


def figures(should_fire: np.ndarray, fired: np.ndarray) -> dict:
    """Precision, recall, F1 and the false-alarm rate (the share of questions not on the topic that fired)."""
    y, f = np.asarray(should_fire, bool), np.asarray(fired, bool)
    tp, fp, fn = int((f & y).sum()), int((f & ~y).sum()), int((~f & y).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
        "false_alarm_rate": round(fp / int((~y).sum()), 3) if (~y).any() else 0.0,
        "fired": int(f.sum()),
        "true_alarms": tp,
        "false_alarms": fp,
        "missed": fn,
    }


def evaluate_watch_topics(
    split: str | None = "measure", path: Path = DATA, cal: Calibration | None = None, embedder=None
) -> dict:
    """The shipped matcher on a split: the figures of what it fires (`shipped`, through
    twin.answer.watched_topic itself), the same threshold with and without the word rule, and
    the off-limits policy's matcher (threshold and word rule) that watch topics used before."""
    if embedder is None:
        from podtwin.search.embed import default_embedder

        embedder = default_embedder()
    cal = cal or load_calibration()
    examples = load_examples(path, split)
    if not examples:
        raise PodtwinError(f"no watch-topic examples in {path}" + (f" (split {split})" if split else ""))
    y = np.array([e["should_fire"] for e in examples])
    shipped = np.array(
        [
            watched_topic([e["topic"]], [e["question"]], embedder.embed_query(e["question"]), embedder, cal) is not None
            for e in examples
        ]
    )
    cos, named = scores(examples, embedder)
    by_kind = {
        kind: {"examples": int(sum(e["kind"] == kind for e in examples)), "fired": int(shipped[i].sum())}
        for kind in KINDS
        if (i := np.array([e["kind"] == kind for e in examples])).any()
    }
    return {
        "split": split or "all",
        "examples": len(examples),
        "topics": len({e["topic"] for e in examples}),
        "should_fire": int(y.sum()),
        "threshold": cal.watch_threshold,
        "by_word": cal.watch_by_word,
        "shipped": figures(y, shipped),
        "meaning_only": figures(y, cos >= cal.watch_threshold),
        "meaning_or_word": figures(y, (cos >= cal.watch_threshold) | named),
        "off_limits_matcher": {"threshold": cal.topic_threshold, **figures(y, (cos >= cal.topic_threshold) | named)},
        "by_kind": by_kind,
        "false_alarms": [
            {"topic": e["topic"], "question": e["question"], "kind": e["kind"], "cosine": round(float(c), 3)}
            for e, c, f in zip(examples, cos, shipped)
            if f and not e["should_fire"]
        ],
        "missed": [
            {"topic": e["topic"], "question": e["question"], "kind": e["kind"], "cosine": round(float(c), 3)}
            for e, c, f in zip(examples, cos, shipped)
            if e["should_fire"] and not f
        ],
    }

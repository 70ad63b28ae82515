"""Fit the twin's two decisions on the TUNE split (never the measure split):

* when to abstain: a logistic regression on retrieval evidence (podtwin.twin.answer.evidence)
  separating questions the person's record answers ("answer" and "false_premise" cases)
  from questions it does not ("outside" cases, and "other_speaker" ones: someone else said
  it); the threshold on P(in record) is the one that maximises the smaller of abstention
  precision and recall. (The search evaluation's questions were tried as more positives and
  left out: they name the person in the third person, and the fit got worse.)
* when a question touches an off-limits topic by meaning: the cosine between question and
  topic at which tune "off_limits" probes are best told from "allowed" ones.

    python -m podtwin.lab.train_twin_calibration --db corpus.db [--out PATH] eval/twin/*.jsonl

The library must hold the whole corpus (the cases cite it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from podtwin.search.query import Filters, search
from podtwin.twin.answer import CALIBRATION, CANDIDATE_PASSAGES, FEATURES, TOPIC_TEMPLATE, evidence
from podtwin.twin.cases import case_persona, load_cases
from podtwin.twin.quoting import ANSWER_KINDS
from podtwin.twin.text import resolve_followup

POSITIVE = ("answer", "false_premise")
NEGATIVE = ("outside", "other_speaker")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 3000, lr: float = 0.1):
    """(weights, bias) of an L2-regularised logistic regression with balanced class weights."""
    w = np.zeros(x.shape[1])
    b = 0.0
    pos = y.mean()
    sw = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = (p - y) * sw / len(y)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum()
    return w, b


def best_threshold(p_in: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """Abstain below t: the t maximising min(abstention precision, recall) (then their mean)."""
    best = (-1.0, -1.0, 0.5, {})
    for t in np.unique(np.round(p_in, 4)):
        t = float(t) + 1e-6
        abstain = p_in < t
        tp = int((abstain & (y == 0)).sum())
        prec = tp / max(int(abstain.sum()), 1)
        rec = tp / max(int((y == 0).sum()), 1)
        key = (min(prec, rec), (prec + rec) / 2)
        if key > best[:2]:
            best = (*key, t, {"precision": round(prec, 3), "recall": round(rec, 3)})
    return best[2], best[3]


def retrieval_examples(library, cases: list[dict]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from podtwin.search.embed import default_embedder

    embedder = default_embedder()
    xs, ys, ids = [], [], []
    for c in cases:
        persona = case_persona(library, c)
        if persona is None:
            print(f"skipped {c['id']}: no person {c['persona']!r} in the library")
            continue
        person = persona.person
        question = resolve_followup(c["question"], c.get("history") or [])
        vector = embedder.embed_query(question)
        f = Filters(speaker=person, kinds=ANSWER_KINDS)  # as the twin asks
        hits = search(library, question, f, limit=CANDIDATE_PASSAGES, vector=vector).hits
        if not hits:
            continue
        feats = evidence(library, f, question, vector, hits)
        xs.append([feats[k] for k in FEATURES])
        ys.append(1 if c["kind"] in POSITIVE else 0)
        ids.append(c["id"])
    return np.array(xs), np.array(ys), ids


def topic_threshold(cases: list[dict]) -> tuple[float, dict]:
    """The cosine (question or resolved follow-up vs topic) best separating off-limits probes from allowed ones."""
    from podtwin.search.embed import default_embedder

    embedder = default_embedder()
    sims, ys = [], []
    for c in cases:
        qs = [c["question"], resolve_followup(c["question"], c.get("history") or [])]
        qv = embedder.embed(qs)
        tv = embedder.embed([TOPIC_TEMPLATE.format(t) for t in c["off_limits"]])
        sims.append(float((qv @ tv.T).max()))
        ys.append(1 if c["kind"] == "off_limits" else 0)
    s, y = np.array(sims), np.array(ys)
    best = (-1.0, 0.5)
    for t in np.unique(np.round(s, 3)):
        acc = float(((s >= t) == (y == 1)).mean())
        if acc > best[0]:
            best = (acc, float(t))
    t = best[1]
    return t, {
        "declined_off_limits": round(float((s[y == 1] >= t).mean()), 3) if (y == 1).any() else None,
        "declined_allowed": round(float((s[y == 0] >= t).mean()), 3) if (y == 0).any() else None,
    }


def main(argv: list[str] | None = None) -> None:
    from podtwin.store.library import Library

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=CALIBRATION)
    ap.add_argument("cases", nargs="+", type=Path, help="twin case files (eval/twin/*.jsonl)")
    args = ap.parse_args(argv)
    tune = load_cases(args.cases, split="tune")
    with Library(args.db, create=False) as library:
        x, y, _ = retrieval_examples(library, [c for c in tune if c["kind"] in POSITIVE + NEGATIVE])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w, b = fit_logistic((x - mean) / scale, y)
    p_in = 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b)))
    threshold, abstention = best_threshold(p_in, y)
    t_topic, declines = topic_threshold([c for c in tune if c["kind"] in ("off_limits", "allowed")])
    out = {
        "features": FEATURES,
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "weights": w.round(6).tolist(),
        "bias": round(float(b), 6),
        "threshold": round(threshold, 6),
        "topic_threshold": t_topic,
        "fitted_on": {
            "in_record": int(y.sum()),
            "outside_record": int((1 - y).sum()),
            "tune_abstention": abstention,
            "tune_off_limits": declines,
        },
    }
    # the keys fitted elsewhere (the watch topics' threshold, podtwin.lab.train_watch_threshold) stay
    kept = json.loads((args.out if args.out.exists() else CALIBRATION).read_text())
    args.out.write_text(json.dumps({**kept, **out}, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

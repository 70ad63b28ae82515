"""What people ask a twin, and what its record lacks (the creator's insights, issue 18).

`insights` reads the questions log: questions per day, the shares answered, abstained on and
declined, the answered replies least sure of themselves, and the questions asked most often.
`gap_topics` groups the questions a twin abstained on by meaning: each question is embedded
with the project's retriever (search.embed) and the vectors are clustered by scikit-learn's
agglomerative clustering; each topic has its count, a label (its most central question) and
examples, ready for export as ideas for the next episode (`gaps_csv`, or the JSON as it is).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np

from podtwin.store.questions import (
    OUTCOMES,
    abstained_questions,
    lowest_confidence,
    most_asked,
    normalised_question,
    outcome_counts,
    questions_per_day,
)

__all__ = ["DISTANCE", "GAP_QUESTIONS", "Vectors", "gap_topics", "gaps", "gaps_csv", "insights", "per_day_filled"]

# texts -> unit vectors, a row each (the project's embedder's `embed`)
Vectors = Callable[[list[str]], np.ndarray]

DAYS = 90  # the days the per-day counts cover, ending with the latest day anything was asked
LIMIT = 10  # rows of the lowest-confidence and most-asked lists
# The abstentions clustered: the latest this many. Embedding is the cost (about 2 ms a distinct
# question on 2 cores) and average linkage is quadratic in memory; older gaps that still matter
# are asked again, so they are among the latest too.
GAP_QUESTIONS = 2000
# Cosine distance below which two groups of questions are one topic (average linkage: the mean
# distance between their questions). Measured with the shipped retriever: paraphrases of one
# question ("What do you think of the Apple Vision Pro?", "Have you tried Apple's Vision Pro
# headset?", "apple vision pro thoughts?") lie 0.12 to 0.48 apart; questions on neighbouring
# but other subjects lie further (bitcoin's price and Ethereum 0.48 to 0.54, the Vision Pro and
# VR headsets in general 0.56 to 0.63, the Vision Pro and the iPhone 0.58 to 0.74). 0.5 keeps
# paraphrases together and neighbours apart; a creator would rather see two near topics than
# one that hides a second.
DISTANCE = 0.5
EXAMPLES = 5


def per_day_filled(days: list[dict], span: int = DAYS) -> list[dict]:
    """Counts for every day of the `span` days ending with the last day in `days` (0 where
    nothing was asked), oldest first; nothing when nothing was asked."""
    if not days:
        return []
    counts = {d["day"]: d["count"] for d in days}
    last = date.fromisoformat(days[-1]["day"])
    first = max(date.fromisoformat(days[0]["day"]), last - timedelta(days=span - 1))
    out = []
    for n in range((last - first).days + 1):
        day = (first + timedelta(days=n)).isoformat()
        out.append({"day": day, "count": counts.get(day, 0)})
    return out


def insights(db: sqlite3.Connection, person: str | None, *, days: int = DAYS, limit: int = LIMIT) -> dict:
    """What people ask one twin (person None: every twin), as the API and `podtwin insights --json` give it."""
    asked = questions_per_day(db, person)
    counts = outcome_counts(db, person)
    total = sum(counts.values())
    return {
        "person": person,
        "total": total,
        "days_asked": len(asked),
        "first_day": asked[0]["day"] if asked else None,
        "last_day": asked[-1]["day"] if asked else None,
        "per_day": per_day_filled(asked, days),
        "counts": counts,
        "shares": {k: (counts[k] / total if total else 0.0) for k in OUTCOMES},
        "lowest_confidence": lowest_confidence(db, person, limit),
        "most_asked": most_asked(db, person, limit),
    }


def gap_topics(
    questions: list[dict], vectors_of: Vectors, *, distance: float = DISTANCE, examples: int = EXAMPLES
) -> list[dict]:
    """The questions (dicts with `question` and `asked_at`) grouped by meaning into topics, the
    most asked first: {topic, count, wordings, examples, first_asked, last_asked}.

    vectors_of(texts) -> unit vectors, one row per text (the project's embedder's `embed`).
    Repeats of one question (same normalised text) are embedded once and counted together;
    the label is the wording closest on average to the topic's other questions (counting
    repeats), the examples its commonest wordings."""
    from sklearn.cluster import AgglomerativeClustering

    groups: dict[str, list[dict]] = {}
    for q in questions:
        groups.setdefault(normalised_question(q["question"]) or q["question"], []).append(q)
    if not groups:
        return []
    keys = list(groups)
    texts = [max(groups[k], key=lambda q: q["asked_at"])["question"] for k in keys]  # the latest wording
    weight = np.array([len(groups[k]) for k in keys], dtype=np.float64)
    vectors = np.asarray(vectors_of(texts), dtype=np.float32)
    if len(keys) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
        ).fit_predict(vectors)
    topics = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        sims = vectors[members] @ vectors[members].T
        central = members[int(np.argmax(sims @ weight[members]))]
        ordered = sorted(members, key=lambda m: (-weight[m], m != central))
        asked = [q["asked_at"] for m in members for q in groups[keys[m]]]
        topics.append(
            {
                "topic": texts[central],
                "count": int(weight[members].sum()),
                "wordings": len(members),
                "examples": [texts[m] for m in ordered[:examples]],
                "first_asked": min(asked),
                "last_asked": max(asked),
            }
        )
    topics.sort(key=lambda t: t["last_asked"], reverse=True)
    topics.sort(key=lambda t: -t["count"])  # the most asked first; of as many, the latest
    return topics


def gaps(
    db: sqlite3.Connection, person: str | None, vectors_of: Vectors, *, cap: int = GAP_QUESTIONS, upto: int = 0
) -> dict:
    """The topics of the latest `cap` questions the twin abstained on (those up to the question
    id `upto`, if given), as the API's JSON gives them."""
    asked = [q for q in abstained_questions(db, person, cap) if not upto or q["id"] <= upto]
    return {
        "person": person,
        "as_of_question": max((q["id"] for q in asked), default=0),
        "abstained": outcome_counts(db, person)["abstained"],
        "clustered": len(asked),
        "topics": gap_topics(asked, vectors_of),
    }


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: questions are anyone's words, and one starting
    with = + - @ would otherwise be read as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gaps_csv(report: dict) -> str:
    """The gaps as CSV: topic, count, wordings, first_asked, last_asked, examples (" | " between)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["topic", "count", "wordings", "first_asked", "last_asked", "examples"])
    for t in report["topics"]:
        writer.writerow(
            [_cell(t["topic"]), t["count"], t["wordings"], t["first_asked"], t["last_asked"],
             _cell(" | ".join(t["examples"]))]
        )  # fmt: skip
    return out.getvalue()

"""Pins end to end: does a paraphrase of a pinned question get the pinned answer, and does a
question that only looks like it not get it?

For each pair (a, b) of the paraphrase pairs (lab/data/paraphrase_pairs.jsonl, one split), on a
copy of a library: pin one fixed excerpt of a twin's own words as the answer to a, ask the twin
b, and see whether the reply is the pinned one (`pin_id`); then remove the pin. The same with a
block: is the excerpt kept out of the answer to b (`blocks_applied`)? The pairs marked
`match` should get the pinned answer (target ≥ 0.9 of them); the others should not (≤ 0.05).

This exercises what a listener meets: the twin's resolution of the question, its embedding,
the stored pin, the matcher and its threshold (twin.paraphrase) and the reply.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from podtwin.store.library import Library

__all__ = ["evaluate_pins"]

EXCERPT_QUERY = "what I believe about the future"


def evaluate_pins(
    library_path: Path, split: str = "measure", person: str | None = None, limit: int | None = None
) -> dict:
    """Pin and block rates over the split's pairs, on a copy of the library (left as it was)."""
    from podtwin.api.service import Service
    from podtwin.lab.train_paraphrase import load_pairs

    pairs = load_pairs(split=split)[:limit]
    with tempfile.TemporaryDirectory(prefix="podtwin-eval-pins-") as tmp:
        copy = Path(tmp) / "pins.db"
        with Library(library_path, create=False) as source, Library(copy) as target:
            source.db.backup(target.db)
        service = Service(copy)
        try:
            person = person or _a_guest(service)
            episode, first, last = _an_excerpt(service, person)
            rows, t0 = [], time.perf_counter()
            for pair in pairs:
                row = {**pair}
                for kind in ("pin", "block"):
                    made = service.correct(
                        person, kind, episode=episode, first_sentence=first, last_sentence=last,
                        who="podtwin eval pins", question=pair["a"],
                    )  # fmt: skip
                    reply = service.ask_as(person, pair["b"], channel="eval")
                    row[kind] = (
                        reply["pin_id"] == made["id"] if kind == "pin" else made["id"] in reply["blocks_applied"]
                    )
                    service.remove_correction(made["id"], "podtwin eval pins")
                rows.append(row)
            seconds = time.perf_counter() - t0
        finally:
            service.close()
    return _summary(rows, person, (episode, first, last), split, seconds)


def _summary(rows: list[dict], person: str, excerpt: tuple, split: str, seconds: float) -> dict:
    same = [r for r in rows if r["match"]]
    other = [r for r in rows if not r["match"]]

    def rate(part: list[dict], kind: str) -> float | None:
        return round(sum(r[kind] for r in part) / len(part), 4) if part else None

    return {
        "split": split,
        "person": person,
        "excerpt": {"episode_id": excerpt[0], "first_sentence": excerpt[1], "last_sentence": excerpt[2]},
        "pairs": len(rows),
        "paraphrases": len(same),
        "non_paraphrases": len(other),
        "paraphrases_given_the_pinned_answer": rate(same, "pin"),
        "non_paraphrases_given_the_pinned_answer": rate(other, "pin"),
        "paraphrases_blocked": rate(same, "block"),
        "non_paraphrases_blocked": rate(other, "block"),
        "missed": [(r["a"], r["b"]) for r in same if not r["pin"]],
        "wrongly_pinned": [(r["a"], r["b"]) for r in other if r["pin"]],
        "seconds_per_pair": round(seconds / max(len(rows), 1), 3),
    }


def _a_guest(service) -> str:
    """The guest with the most words (a twin listeners would ask)."""
    guests = [p for p in service.people() if any(a["role"] == "guest" for a in p["appearances"])]
    if not guests:
        raise ValueError("the library has no guest to pin answers for")
    return max(guests, key=lambda p: p["words"])["name"]


def _an_excerpt(service, person: str) -> tuple[int, int, int]:
    """Two to three sentences of the person's that a pin may hold (the person's own, sure)."""
    from podtwin.errors import CorrectionError
    from podtwin.twin.corrections import check_excerpt

    hits = service.search(EXCERPT_QUERY, speaker=person, kinds=["conversation"], limit=20)["hits"]
    with service.library() as library:
        for hit in hits:
            for start in range(hit["first_sentence"], hit["last_sentence"] + 1):
                end = min(start + 2, hit["last_sentence"])
                try:
                    check_excerpt(library.db, person, "pin", hit["episode_id"], start, end)
                except CorrectionError:
                    continue
                return hit["episode_id"], start, end
    raise ValueError(f"no excerpt of {person}'s that a pin may hold")

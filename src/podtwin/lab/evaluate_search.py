"""Retrieval quality on a question set: recall@1, recall@5 and MRR@10 per search mode.

A question file is JSON Lines, one question per line:

    {"id": "...", "question": "...", "file": "lenny/x.md", "quote": "exact words from the file",
     "quote_speaker": "...", "speaker": null or "Name" (used as a filter), "split": "tune" | "measure"}

``file`` is relative to the corpus folder; the library must hold that file. Two scores:

* exact: the result overlaps the quote's characters in the same source file, or (for an
  episode merged from several transcripts, where the passage may come from another
  transcript of the same words) holds at least half of the quote's words;
* answer: exact, or the result lies in the same speaker turn as the quote. A turn is
  one person's answer, cut into several passages when long; any of them answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from podtwin.errors import PodtwinError
from podtwin.search.query import Filters, resolve_filters, search

__all__ = ["Question", "evaluate_search", "load_questions"]

MODES = ("lexical", "dense", "hybrid", "reranked")  # reranked: hybrid, then the cross-encoder
DEPTH = 10
_WORD = re.compile(r"[^\W_]+")


@dataclass
class Question:
    id: str
    question: str
    file: str
    quote: str
    speaker: str | None  # search filter, when the question sets one
    split: str
    quote_speaker: str | None = None  # who says the quote


def load_questions(path: Path | str, split: str | None = None) -> list[Question]:
    questions = []
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PodtwinError(f"{path}: cannot read questions ({e})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            q = Question(
                d["id"],
                d["question"],
                d["file"],
                d["quote"],
                d.get("speaker"),
                d.get("split", "measure"),
                d.get("quote_speaker"),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise PodtwinError(f"{path}:{n}: not a question line ({e})") from None
        if split is None or q.split == split:
            questions.append(q)
    return questions


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass
class Gold:
    episode_id: int
    source_id: int
    spans: list[tuple[int, int]]  # where the quote occurs in the source's text
    words: set[str]
    turns: set[int]  # the episode's turns holding the quote


def _gold(library, q: Question) -> Gold | None:
    """Where the quote is in the library, or None if its file is not there."""
    name = Path(q.file).name
    parent = Path(q.file).parent.name
    for source_id, episode_id, path, text in library.db.execute(
        "SELECT id, episode_id, path, text FROM sources WHERE path LIKE ?", ["%" + name]
    ):
        p = Path(path)
        if p.name != name or (parent and p.parent.name != parent):
            continue
        pattern = r"\s+".join(re.escape(w) for w in q.quote.split())
        # every occurrence: a guest's line may be heard first in a cold-open clip
        spans = [(m.start(), m.end()) for m in re.finditer(pattern, text)]
        if spans:
            turns = {
                turn
                for a, b in spans
                for (turn,) in library.db.execute(
                    """SELECT DISTINCT turn FROM sentences WHERE episode_id = ? AND source_id = ?
                       AND start_char < ? AND end_char > ? AND turn IS NOT NULL""",
                    [episode_id, source_id, b, a],
                )
            }
            return Gold(episode_id, source_id, spans, set(_words(q.quote)), turns)
    return None


def _exact(hit, gold: Gold, source_of: dict[str, int]) -> bool:
    if hit.episode_id != gold.episode_id:
        return False
    if source_of.get(hit.source_file) == gold.source_id:
        return any(hit.start_char < end and start < hit.end_char for start, end in gold.spans)
    return len(gold.words & set(_words(hit.text))) >= 0.5 * len(gold.words)


def _answers(hit, gold: Gold, source_of: dict[str, int], turn_of) -> bool:
    if hit.episode_id != gold.episode_id:
        return False
    return _exact(hit, gold, source_of) or turn_of(hit) in gold.turns


def hit_turn(db, hit) -> int | None:
    """The speaker turn a result's passage belongs to."""
    row = db.execute(
        "SELECT turn FROM sentences WHERE episode_id = ? AND idx = ?", [hit.episode_id, hit.first_sentence]
    ).fetchone()
    return row[0] if row else None


def evaluate_search(library, questions: list[Question], modes=MODES, embedder=None) -> dict:
    source_of = {path: sid for sid, path in library.db.execute("SELECT id, path FROM sources")}

    def turn_of(hit) -> int | None:
        return hit_turn(library.db, hit)

    missing: list[str] = []
    unknown_speaker: list[str] = []
    scores = {m: {rule: {"hits@1": 0, "hits@5": 0, "rr": 0.0} for rule in ("answer", "exact")} for m in modes}
    ranks: dict[str, dict[str, int | None]] = {m: {} for m in modes}
    n = 0
    for q in questions:
        gold = _gold(library, q)
        if gold is None:
            missing.append(q.id)
            continue
        n += 1
        try:
            filters = resolve_filters(library, speaker=q.speaker) if q.speaker else Filters()
        except PodtwinError:
            # the library knows this speaker under no such name: a miss in every mode, listed
            unknown_speaker.append(q.id)
            for mode in modes:
                ranks[mode][q.id] = None
            continue
        for mode in modes:
            hits = search(
                library,
                q.question,
                filters,
                limit=DEPTH,
                mode="hybrid" if mode == "reranked" else mode,
                embedder=embedder,
                rerank=mode == "reranked",
            ).hits
            for rule in ("answer", "exact"):
                rank = next(
                    (
                        i
                        for i, h in enumerate(hits, 1)
                        if (_answers(h, gold, source_of, turn_of) if rule == "answer" else _exact(h, gold, source_of))
                    ),
                    None,
                )
                if rule == "answer":
                    ranks[mode][q.id] = rank
                if rank:
                    m = scores[mode][rule]
                    m["hits@1"] += rank == 1
                    m["hits@5"] += rank <= 5
                    m["rr"] += 1.0 / rank
    out: dict = {"questions": n, "not_in_library": missing, "unknown_speaker": unknown_speaker, "modes": {}}
    for mode in modes:
        out["modes"][mode] = {"ranks": ranks[mode]}
        for rule, m in scores[mode].items():
            suffix = "" if rule == "answer" else "_exact"
            out["modes"][mode].update(
                {
                    f"recall@1{suffix}": m["hits@1"] / n if n else 0.0,
                    f"recall@5{suffix}": m["hits@5"] / n if n else 0.0,
                    f"mrr@10{suffix}": m["rr"] / n if n else 0.0,
                }
            )
    return out

"""The creator's pins and blocks, as a twin's reply meets them.

A pin says which excerpt of the person's own words answers a question; a block says which
must not. Each applies to its question and to the question's paraphrases: a new question
matches a correction when the two questions mean the same (twin.paraphrase, with a threshold
fitted on paraphrase pairs). Policy (off-limits topics) comes first; then a matching pin
answers, if its words are still in the library and still the person's own; blocked
sentences are never quoted.

The words of a pin are checked when it is made and again whenever it answers: the person's
(a re-attribution since may have given them to someone else), sure enough who spoke them
(the quoting threshold every quote meets), and ordinary conversation.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import CorrectionError
from podtwin.store.answer_corrections import corrections_of, question_vectors
from podtwin.store.sentences import sentence_rows
from podtwin.twin.quoting import unusable_reason

if TYPE_CHECKING:
    from podtwin.search.embed import Embedder

__all__ = ["CorrectionError", "Matched", "check_excerpt", "matching_corrections"]

PIN_SENTENCES = 12  # a pin is an answer: a few sentences, not a whole turn
BLOCK_SENTENCES = 60  # a block may cover a long stretch the creator never wants quoted
_SPEAKER, _TEXT = 1, 5  # columns of store.sentences.sentence_rows


@dataclass
class Matched:
    """The corrections a question meets: the best matching pin (with its score) and the
    matching blocks; pins that matched but cannot answer, each with the reason."""

    pin: dict | None = None
    pin_score: float | None = None
    blocks: list[dict] = field(default_factory=list)
    unusable: list[tuple[dict, str]] = field(default_factory=list)

    def blocked(self) -> set[tuple[int, int]]:
        """(episode id, sentence index) of every blocked sentence."""
        return {(b["episode_id"], i) for b in self.blocks for i in range(b["first_sentence"], b["last_sentence"] + 1)}


def check_excerpt(db: sqlite3.Connection, person: str, kind: str, episode_id: int, first: int, last: int) -> list[str]:
    """The texts of sentences first..last of an episode, if they may be pinned (kind "pin") or
    blocked for the person; else CorrectionError with the reason. A pin holds only the
    person's own words, each sure enough who spoke it, of ordinary conversation."""
    longest = PIN_SENTENCES if kind == "pin" else BLOCK_SENTENCES
    if first < 0 or last < first:
        raise CorrectionError(f"sentences {first} to {last}: the first must come before the last")
    if last - first + 1 > longest:
        raise CorrectionError(f"a {kind} holds at most {longest} sentences; {first} to {last} are {last - first + 1}")
    rows = sentence_rows(db, episode_id, first, last)
    if len(rows) != last - first + 1:
        raise CorrectionError(f"episode {episode_id} has no sentences {first} to {last}")
    if kind == "pin":
        reason = unusable_reason(rows, person)
        if reason is not None:
            raise CorrectionError(f"this excerpt cannot be pinned: {reason}")
    elif not any(r[_SPEAKER] == person for r in rows):
        raise CorrectionError(f"this excerpt holds none of {person}'s words: the twin never quotes it")
    return [r[_TEXT] for r in rows]


def matching_corrections(
    db: sqlite3.Connection, person: str, question: str, vector: np.ndarray, embedder: Embedder
) -> Matched:
    """The person's pins and blocks in use whose question the question matches (by meaning:
    twin.paraphrase, with the threshold fitted for each kind)."""
    from podtwin.twin.paraphrase import load_paraphrase_model, paraphrase_score

    live = [c for c in corrections_of(db, person, active_only=True) if c["gone_since"] is None]
    matched = Matched()
    if not live:
        return matched
    model = load_paraphrase_model()
    stored = question_vectors(db, [c["id"] for c in live])
    for c in live:
        score = paraphrase_score(c["question"], _vector(c, stored[c["id"]], embedder), question, vector, model)
        if score < model.threshold(c["kind"]):
            continue
        c["score"] = round(score, 4)
        if c["kind"] == "block":
            matched.blocks.append(c)
        elif matched.pin is None or score > (matched.pin_score or 0.0):
            matched.pin, matched.pin_score = c, c["score"]
    return matched


def _vector(c: dict, stored: tuple[str, bytes], embedder: Embedder) -> np.ndarray:
    """A corrected question's vector: as stored when the same model embedded it, else anew."""
    model, blob = stored
    if model == embedder.name:
        return np.frombuffer(blob, np.float32)
    return embedder.embed_query(c["question"])

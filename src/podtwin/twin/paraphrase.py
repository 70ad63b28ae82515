"""Is a listener's question the one a creator pinned (or blocked) an excerpt for, in other words?

A pin or a block applies to its question and that question's paraphrases. Two questions are
compared by a logistic model over the cosine of their query embeddings (the project's
retriever, `podtwin.search.embed`) and cheap lexical features (shared content words, numbers,
question words, negation, tense, named entities, words swapped around), fitted on the tune
half of a set of hand-written question pairs (`podtwin.lab.train_paraphrase`, written to
``paraphrase.json`` beside this module; `podtwin eval paraphrase` measures it on the other
half). Only numpy runs here: the weights are plain numbers.

The embedding alone cannot tell "When did you start programming?" from "Why did you start
programming?" (the retriever was trained to put questions near their answers, so it sees the
subject, not the question asked), and the lexical features only partly can. So the model
misses the issue's targets (docs/benchmarks.md), and a pin and a block use two thresholds,
each fitted on tune for what a mistake costs there:

* a pin answers in the creator's name, so a pin that answers another question is the worse
  mistake: its threshold keeps false matches at or under 5 % on tune, missing paraphrases
  (which then get the twin's own answer);
* a block only withholds an excerpt, so a block that misses a paraphrase (the excerpt the
  creator refused comes back) is the worse mistake: its threshold keeps 95 % of paraphrases
  on tune, withholding the excerpt from some related questions too.

The same question asked again (case, spacing and punctuation aside) always matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jellyfish
import numpy as np

__all__ = [
    "FEATURES",
    "PARAPHRASE_MODEL",
    "ParaphraseModel",
    "load_paraphrase_model",
    "model_from_json",
    "pair_features",
    "paraphrase_score",
    "same_question",
]

PARAPHRASE_MODEL = Path(__file__).with_name("paraphrase.json")
Purpose = Literal["pin", "block"]

# What the model reads of a pair, in the order of its weights. Every feature is symmetric:
# the score of (a, b) is the score of (b, a).
FEATURES = [
    "cosine",  # of the two query embeddings
    "overlap",  # content words in common / content words of either (Jaccard)
    "unmatched_min",  # content words of the question that has fewer without a counterpart in the other
    "unmatched_max",  # ... of the one that has more
    "numbers_differ",  # both state numbers, not the same ("in 5 years" / "in 50 years")
    "question_word_differs",  # asks when, why, who or where in one and not the other
    "negation_differs",  # one says not/never/no/without, the other does not
    "tense_differs",  # one asks about the past (was, did, had, ago), the other does not
    "entity_differs",  # each names someone or something the other does not ("Elon" / "Bezos")
    "swapped",  # the words they share come in another order ("how does Putin see the world" / "the world see Putin")
]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# words that carry no subject: function words, and what any listener says around a question
_STOP = frozenset(
    """a an the of to in on for and or but is are was were be been being do does did doing have has had having
    i you he she it we they me him her us them my your his its our their mine yours this that these those there
    here what which who whom whose when where why how will would shall should can could may might must about as
    at by from with into onto over under than then so just really actually think tell say get got make go going
    know like also any some all more most much many very too s t ll ve re d m u ur r ya opinion view take
    thoughts believe someone something anything one""".split()
)
_NEGATION = re.compile(r"(?i)\b(?:not|never|no|none|nothing|without|cannot)\b|n't\b")
_PAST = re.compile(r"(?i)\b(?:was|were|did|had|used to|ago)\b")
# the question asked, where its word decides it: when and why are other questions than how and what
_QUESTION_KINDS = (
    ("time", re.compile(r"(?i)\b(?:when|what age|how old|what year|how soon|how long until|how many years)\b")),
    ("reason", re.compile(r"(?i)\b(?:why|what made|how come|reason)\b")),
    ("person", re.compile(r"(?i)\bwho(?:'s|m|se)?\b")),
    ("place", re.compile(r"(?i)\bwhere\b")),
)
_NAME = re.compile(r"\b([A-Z][a-zA-Z]+|[A-Z]{2,})\b")
_NOT_NAMES = frozenset({"I", "AI", "So", "And", "But", "Or", "Also"})
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
}  # fmt: skip


def _normalised(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("’", "'")))


def _words(text: str) -> list[str]:
    # "Elon's" is Elon; "self-driving" two words, as "self driving" is
    words = _WORD.findall(text.lower().replace("’", "'").replace("-", " "))
    return [w[:-2] if w.endswith("'s") else w for w in words]


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if w not in _STOP and len(w) > 1]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _same_word(w: str, v: str) -> bool:
    """One word, however spelt: a plural, a tense, a typo ("concious") or British spelling."""
    if w == v or _stem(w) == _stem(v):
        return True
    shortest = min(len(w), len(v))
    return shortest >= 5 and jellyfish.damerau_levenshtein_distance(w, v) <= (2 if shortest >= 8 else 1)


def _numbers(text: str) -> set[str]:
    found = {m.group().replace(",", "") for m in _NUMBER.finditer(text)}
    return found | {_NUMBER_WORDS[w] for w in _words(text) if w in _NUMBER_WORDS}


def _names(text: str) -> set[str]:
    # capitalised words but the first of the question; a listener typing in lower case names none
    return {m.group(1).lower() for m in _NAME.finditer(text) if m.start() > 0 and m.group(1) not in _NOT_NAMES}


def _question_kinds(text: str) -> set[str]:
    return {kind for kind, pattern in _QUESTION_KINDS if pattern.search(text)}


def pair_features(a: str, a_vector: np.ndarray, b: str, b_vector: np.ndarray) -> dict[str, float]:
    """The model's inputs for one pair of questions (FEATURES, by name)."""
    ca, cb = _content(a), _content(b)
    matched_a = [w for w in ca if any(_same_word(w, v) for v in cb)]
    matched_b = [v for v in cb if any(_same_word(w, v) for w in ca)]
    unmatched = sorted((len(set(ca)) - len(set(matched_a)), len(set(cb)) - len(set(matched_b))))
    union = len(set(ca)) + len(set(cb)) - len(set(matched_a))
    # shared words in another order: where each shared word of b first appears among a's
    order = [next(i for i, w in enumerate(matched_a) if _same_word(w, v)) for v in matched_b]
    na, nb = _numbers(a), _numbers(b)
    wa, wb = set(_words(a)), set(_words(b))
    return {
        "cosine": float(np.dot(a_vector, b_vector)),
        "overlap": len(set(matched_a)) / union if union else 1.0,
        "unmatched_min": float(unmatched[0]),
        "unmatched_max": float(unmatched[1]),
        "numbers_differ": float(bool(na and nb) and na != nb),
        "question_word_differs": float(_question_kinds(a) != _question_kinds(b)),
        "negation_differs": float(bool(_NEGATION.search(a)) != bool(_NEGATION.search(b))),
        "tense_differs": float(bool(_PAST.search(a)) != bool(_PAST.search(b))),
        "entity_differs": float(bool(_names(a) - wb) and bool(_names(b) - wa)),
        "swapped": float(len(set(order)) >= 2 and order != sorted(order)),
    }


@dataclass(frozen=True)
class ParaphraseModel:
    """A logistic model over FEATURES (standardised by mean and scale) and its two thresholds."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    pin_threshold: float
    block_threshold: float

    def score(self, features: dict[str, float]) -> float:
        """P(the two questions are one question) for a pair's features."""
        x = np.array([features[name] for name in self.features])
        z = float(((x - self.mean) / self.scale) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-z)))

    def threshold(self, purpose: Purpose) -> float:
        if purpose not in ("pin", "block"):
            raise ValueError(f"purpose is 'pin' or 'block', not {purpose!r}")
        return self.pin_threshold if purpose == "pin" else self.block_threshold


def load_paraphrase_model(path: Path = PARAPHRASE_MODEL) -> ParaphraseModel:
    """The fitted model (default: the shipped one, loaded once per process)."""
    if path == PARAPHRASE_MODEL:
        return _shipped()
    return _load(path)


@lru_cache(maxsize=1)
def _shipped() -> ParaphraseModel:
    return _load(PARAPHRASE_MODEL)


def _load(path: Path) -> ParaphraseModel:
    data = json.loads(path.read_text())
    if list(data["features"]) != FEATURES:
        raise ValueError(f"{path}: fitted on features {data['features']}, this code computes {FEATURES}")
    return model_from_json(data)


def model_from_json(data: dict) -> ParaphraseModel:
    """A model from its JSON (paraphrase.json's keys)."""
    return ParaphraseModel(
        features=tuple(data["features"]),
        mean=np.array(data["mean"], dtype=float),
        scale=np.array(data["scale"], dtype=float),
        weights=np.array(data["weights"], dtype=float),
        bias=float(data["bias"]),
        pin_threshold=float(data["pin_threshold"]),
        block_threshold=float(data["block_threshold"]),
    )


def paraphrase_score(
    a: str, a_vector: np.ndarray, b: str, b_vector: np.ndarray, model: ParaphraseModel | None = None
) -> float:
    """How sure the model is that a and b ask one question, 0 to 1; 1 for the same words.
    The vectors are the questions' query embeddings (`default_embedder().embed_query`)."""
    if _normalised(a) == _normalised(b):
        return 1.0
    return (model or load_paraphrase_model()).score(pair_features(a, a_vector, b, b_vector))


def same_question(
    a: str,
    a_vector: np.ndarray,
    b: str,
    b_vector: np.ndarray,
    *,
    purpose: Purpose = "pin",
    model: ParaphraseModel | None = None,
) -> bool:
    """Does a pin (purpose "pin") or a block ("block") made for question a apply to question b?"""
    model = model or load_paraphrase_model()
    return paraphrase_score(a, a_vector, b, b_vector, model) >= model.threshold(purpose)

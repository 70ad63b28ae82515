"""Small text helpers of the twin: fillers and false starts, follow-ups, numbers."""

from __future__ import annotations

import re

__all__ = ["clean_spoken", "is_followup", "numbers_in", "resolve_followup"]

# "um", "uh", "er", "erm", "mm", "hmm" on their own, with the comma that often follows
_FILLER = re.compile(r"(?i)(?<![\w'])(?:um+|uh+|erm|er|mm+|hmm+)(?![\w'])[,.]?\s*")
# a word said twice or three times in a row: "I I think", "the, the"; "I- I"
_REPEAT = re.compile(r"(?i)\b(\w+(?:'\w+)?)(?:[,\-—]?\s+\1\b)+")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:?!])")
_DOUBLE_COMMA = re.compile(r",\s*,")


def clean_spoken(text: str) -> str:
    """The sentence as said, without fillers and repeated words (the citation keeps the exact quote)."""
    out = _FILLER.sub("", text)
    out = _REPEAT.sub(r"\1", out)
    out = _DOUBLE_COMMA.sub(",", out)
    out = _SPACE_BEFORE_MARK.sub(r"\1", _SPACES.sub(" ", out)).strip(" ,")
    if out and out[0].islower():
        out = out[0].upper() + out[1:]
    return out


_FOLLOWUP_START = re.compile(
    r"(?i)^\s*(?:and|but|so|also|why|how so|how come|what about|how about|what else|really|then|"
    r"tell me more|more on|go on|say more|like what|such as|in what way)\b"
)
_PRONOUN = re.compile(r"(?i)\b(?:it|that|this|those|these|they|them|there|he|she)\b")
_CONTENT = re.compile(r"[^\W\d_]{4,}")
_STOP = frozenset(
    "what about does would could should think tell more really there their them they that this those these "
    "have with your from into when where which while how why".split()
)


def is_followup(question: str) -> bool:
    """Does the question lean on what was asked before ("why?", "what about Quest 3?")?"""
    words = question.split()
    content = [w for w in _CONTENT.findall(question.lower()) if w not in _STOP]
    if len(words) <= 3 or _FOLLOWUP_START.match(question):
        return True
    return bool(_PRONOUN.search(question)) and len(content) <= 2


def resolve_followup(question: str, history: list[str]) -> str:
    """The question to retrieve with: a follow-up carries the conversation's last question."""
    if not history or not is_followup(question):
        return question.strip()
    return f"{history[-1].strip()} {question.strip()}"


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)\s*(%|percent|k\b|x\b|million|billion|thousand)?", re.I)
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
}  # fmt: skip
_NUMBER_WORD = re.compile(r"(?i)\b(" + "|".join(_NUMBER_WORDS) + r")\b")


def numbers_in(text: str) -> set[str]:
    """Numbers a text states, normalised ("40%", "forty percent" -> "40"; "8,000" -> "8000")."""
    found = {m.group(1).replace(",", "") for m in _NUMBER.finditer(text)}
    found |= {_NUMBER_WORDS[m.group(1).lower()] for m in _NUMBER_WORD.finditer(text)}
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in found}

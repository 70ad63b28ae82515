"""Small text helpers of the twin: fillers and false starts, readable casing, follow-ups, numbers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from podtwin.search.query import MAX_QUERY_CHARS

__all__ = [
    "case_counts",
    "clean_spoken",
    "display_text",
    "fix_casing",
    "is_followup",
    "numbers_in",
    "resolve_followup",
]

# "um", "uh", "er", "erm", "mm", "hmm" on their own, with the comma that often follows
_FILLER = re.compile(r"(?i)(?<![\w'])(?:um+|uh+|erm|er|mm+|hmm+)(?![\w'])[,.]?\s*")
# a word, or a phrase of up to three words, said twice or more in a row: "I I I think",
# "the, the", "I- I", "a lot a lot", "I think I think"
_REPEAT = re.compile(r"(?i)\b(\w+(?:'\w+)?(?:\s+\w+(?:'\w+)?){0,2})(?:[,\-—]?\s+\1\b)+")
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


_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# the character before a word inside a sentence (after ".", "?", ":", a quote ... a capital is right)
_INSIDE = re.compile(r"[\w,;\-—–]")
LOWER_RATIO = 3  # a word is lower-cased only when the source has it lower-case this many times as often ...
MIN_LOWER = 3  # ... and at least this often


def case_counts(text: str) -> Counter[str]:
    """How often each word occurs in a text, spelt as it is (case kept): fix_casing's evidence."""
    return Counter(_WORD.findall(text))


def fix_casing(text: str, counts: Mapping[str, int], keep: Collection[str] = ()) -> str:
    """Lower-case the title-cased words inside sentences that speech-to-text capitalised ("I Think"
    -> "I think"): only words the same source writes lower-case far more often (counts, from
    case_counts), never one of keep (lower-case words of names: people, the library's vocabulary)."""

    def fixed(m: re.Match) -> str:
        word = m.group()
        if len(word) < 2 or not word[0].isupper() or not word[1:].replace("'", "").islower() or word[1] == "'":
            return word
        before = text[: m.start()].rstrip()
        if not before or not _INSIDE.match(before[-1]):
            return word  # the start of a sentence (or of a quote): the capital stays
        lower = word.lower()
        if lower in keep or lower.split("'")[0] in keep:
            return word
        n = counts.get(lower, 0)
        return lower if n >= MIN_LOWER and n >= LOWER_RATIO * counts.get(word, 0) else word

    return _WORD.sub(fixed, text)


def display_text(sentences: Iterable[str], counts: Mapping[str, int] | None = None, keep: Collection[str] = ()) -> str:
    """Consecutive sentences as one readable paragraph: fillers and repeated words trimmed, casing
    fixed (with counts, see fix_casing), the first letter a capital. The citation keeps the exact quote."""
    text = " ".join(t for t in (clean_spoken(s) for s in sentences) if t)
    text = _REPEAT.sub(r"\1", text)  # a repeat across a sentence boundary the splitter placed
    if counts is not None:
        text = fix_casing(text, counts, keep)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


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


def resolve_followup(question: str, history: list[str], limit: int = MAX_QUERY_CHARS) -> str:
    """The question to retrieve with: a follow-up carries the conversation's last question,
    cut to its last words when the two together would pass the query limit."""
    question = question.strip()
    if not history or not is_followup(question):
        return question
    room = limit - len(question) - 1
    earlier = " ".join(history[-1].split())
    if len(earlier) > room:
        earlier = earlier[len(earlier) - room :] if room > 0 else ""
        earlier = earlier.split(" ", 1)[1] if " " in earlier else ""  # no word cut in half
    return f"{earlier} {question}".strip()


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

"""One person under every spelling: misheard and misspelt names resolved by spelling and sound.

A mention ("Alex Friedman", "manoas kallis", "flex" in "slash flex") is compared with the
names the metadata and the speech establish, word by word: Jaro-Winkler for spelling,
Metaphone for sound. No list of known misspellings anywhere.
"""

from __future__ import annotations

import re

import jellyfish

from podtwin.speakers.names import name_key

# A mention resolves to a person at or above this score (0..1).
SAME_PERSON = 0.82
# A one-word mention ("flex", "Lex") must match one of the person's words this well.
SAME_WORD = 0.9


def word_similarity(a: str, b: str) -> float:
    """Spelling and sound similarity of two name words."""
    a, b = name_key(a), name_key(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    score = jellyfish.jaro_winkler_similarity(a, b)
    sound_a, sound_b = jellyfish.metaphone(a), jellyfish.metaphone(b)
    if sound_a == sound_b:
        score = max(score, 0.95)
    elif (
        min(len(sound_a), len(sound_b)) >= 2
        and abs(len(sound_a) - len(sound_b)) == 1
        and (sound_a.endswith(sound_b) or sound_b.endswith(sound_a))
    ):
        # one sound swallowed or added at the front: "Alex" / "Lex", "flex" / "Lex" (not
        # any word that merely ends like a name: "nobody-here" is not "Hari")
        score = max(score, 0.9)
    return score


def name_similarity(mention: str, name: str) -> float:
    """How likely `mention` is a way of writing or hearing `name` (0..1)."""
    said = _words(mention)
    full = _words(name)
    if not said or not full:
        return 0.0
    if len(said) == 1:
        best = max(word_similarity(said[0], w) for w in full)
        return best if best >= SAME_WORD else best * 0.8
    # Align in order: first with first, last with last (middle initials are dropped by _words).
    first = word_similarity(said[0], full[0])
    last = word_similarity(said[-1], full[-1])
    return min((first + last) / 2, min(first, last) + 0.15)


def resolve_name(mention: str, people: list[str]) -> str | None:
    """The person in `people` the mention stands for, or None."""
    scored = sorted(((name_similarity(mention, p), p) for p in people), reverse=True)
    if scored and scored[0][0] >= SAME_PERSON:
        return scored[0][1]
    return None


# An aka mention: "Michael Paulson aka ThePrimeagen" (speakers.metadata reads it from the intro).
AKA = " aka "


def aka(name: str, handle: str) -> str:
    """The mention that makes `handle` another name of the person called `name`."""
    return f"{name}{AKA}{handle}"


def resolve_aka(mention: str, people: list[str]) -> tuple[str, str] | None:
    """(person, handle) when the mention is an aka whose name is one of `people`.

    A name read from uncased speech may carry words before it ("streamer michael paulson"):
    its last words are tried too, down to two."""
    name, sep, handle = mention.partition(AKA)
    if not sep or not handle.strip():
        return None
    words = name.split()
    for k in range(len(words)):
        if k and len(words) - k < 2:
            break
        person = resolve_name(" ".join(words[k:]), people)
        if person:
            return person, handle.strip()
    return None


_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def _words(name: str) -> list[str]:
    """The words of a name, without single-letter initials ("Mark S Zuckerberg")."""
    words = _NAME_WORD.findall(name)
    full = [w for w in words if len(name_key(w)) > 1]
    return full or words

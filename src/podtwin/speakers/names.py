"""Person names as they appear in transcripts: labels, spoken introductions, show names."""

from __future__ import annotations

import re
import unicodedata

# Words that end a name read from unpunctuated, uncased speech ("manolis kellis his fifth time").
FUNCTION_WORDS = frozenset(
    """a an the and or but his her their its our my your who whom whose which that this these those
    is are was were be been being has have had do does did will would can could should may might must
    on in at of for from to with by about as into inside onto over under after before during since
    he she they we i you it him them us me one two three four five six seven eight nine ten
    first second third fourth fifth sixth seventh eighth ninth tenth time times again back
    co founder cofounder ceo cto professor author head director president founder partner
    chief scientist researcher engineer investor writer host former currently also who's he's she's
    it's there here now today so yeah well just really very some many much not no yes
    good great nice thanks thank hello hi hey welcome""".split()
)
_PARTICLES = frozenset("de da di del della der van von le la du dos das bin ibn al el st".split())


def slug(name: str) -> str:
    """mark-zuckerberg: a person's id in URLs, as an OpenAI model name, and wherever a name is typed."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "person"


def normalize_label(label: str | None) -> str | None:
    """'LENNY RACHITSKY' -> 'Lenny Rachitsky'; 'Jiaona Zhang (JZ)' -> 'Jiaona Zhang'."""
    if not label:
        return None
    name = re.sub(r"\s*\([^()]*\)\s*", " ", label)
    name = " ".join(name.strip(" *:").split())
    if not name:
        return None
    if name.isupper() and len(name) > 3:
        name = " ".join(w.capitalize() for w in name.split())
    return name


def title_case_name(words: list[str]) -> str:
    return " ".join(w if w.lower() in _PARTICLES else w[:1].upper() + w[1:] for w in words)


def name_at(text: str, start: int, max_words: int = 4) -> str | None:
    """The person's name that begins at text[start:], or None.

    Cased text: the run of capitalised words. Uncased text: words up to the first
    function word, title-cased.
    """
    tokens = re.findall(r"[^\s,.;:!?()\"“”]+", text[start : start + 120])
    if not tokens:
        return None
    cased = is_cased(text[max(0, start - 200) : start + 200])
    name: list[str] = []
    for tok in tokens[:max_words]:
        word = tok.strip("'’‘")
        if not word or word.lower() in FUNCTION_WORDS or not word[0].isalpha():
            break
        if cased and not (word[0].isupper() or (name and word.lower() in _PARTICLES)):
            break
        name.append(word)
    while name and name[-1].lower() in _PARTICLES:
        name.pop()
    # Drop a dangling possessive or a single middle initial ("Mark S Zuckerberg" keeps both names).
    if not name:
        return None
    if len(name) >= 3 and len(name[1]) == 1:
        name = [name[0], *name[2:]]
    return title_case_name(name) if not cased else " ".join(name)


def is_cased(text: str) -> bool:
    """True when the text uses capitals beyond sentence starts and "I" (a restored
    capital at the start of an uncased sentence does not make it cased)."""
    return bool(re.search(r"(?<![.?!]\s)(?<!^)\b(?!I\b|I')[A-Z]", text))


def name_key(name: str) -> str:
    """A spelling-insensitive key: lowercase letters only."""
    return re.sub(r"[^a-z]", "", name.lower())

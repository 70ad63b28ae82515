"""Episode metadata inferred from the transcript itself, never from its file name.

Precedence, most trusted first: what the file states (front matter, header line),
then the host's own formulas ("The following is a conversation with X", "Today my
guest is X", "This is the X podcast", "here's X", sign-off lines).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from podtwin.formats.base import Transcript
from podtwin.speakers.names import FUNCTION_WORDS, is_cased, name_at, name_key, normalize_label, title_case_name
from podtwin.speakers.people import aka
from podtwin.text.segmenter import Sentence

_ORDINALS = {w: i for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth".split(), 1)}
_GUEST_CUES = [
    re.compile(r"\bthe following is a conversation with\s+", re.I),
    re.compile(r"\b(?:today,?\s+)?my guests? (?:today )?(?:is|are)\s+", re.I),
    re.compile(r"\bi'?m (?:joined|here) (?:today )?(?:by|with)\s+", re.I),
]
_HANDOFF_NAME = re.compile(r"\b(?:here'?s|here is) (?:my conversation with\s+)?", re.I)
_SIGNOFF_NAME = re.compile(r"\bthanks? (?:you )?for listening to this conversation with\s+", re.I)
_SHOW = re.compile(
    r"\b(?:this is|welcome to|on this)\s+(?:the\s+|a\s+)?((?:[\w'’.-]+\s+){0,3}?[\w'’.-]+)\s+podcast\b", re.I
)
_APPEARANCE = re.compile(r"\b(?:his|her|their) (\w+) time on (?:this|the) (?:[\w' ]{0,40})?podcast", re.I)
# How much of the start and end of an episode holds the host's formulas.
OPENING_WORDS = 4000
# Two spellings of one name (after name_key) at least this similar are one person.
SAME_NAME = 0.8
CLOSING_WORDS = 1500


@dataclass
class EpisodeInfo:
    show: str | None = None
    host: str | None = None
    guests: list[str] = field(default_factory=list)
    title: str | None = None
    number: int | None = None
    date: str | None = None
    appearance: int | None = None
    # Every name the episode's formulas mention ("here's Mark S Zuckerberg", "slash flex"):
    # spellings the people registry resolves to persons as aliases; a name given with
    # another one ("Michael Paulson, aka ThePrimeagen") as speakers.people.aka(name, other).
    mentions: list[str] = field(default_factory=list)
    # field -> where the value came from ("front matter", "header", "intro", "handoff", ...)
    evidence: dict[str, str] = field(default_factory=dict)


def infer_episode_info(transcript: Transcript, sentences: list[Sentence]) -> EpisodeInfo:
    """Show, host, guests, title, number and date of one transcript."""
    meta = transcript.metadata
    info = EpisodeInfo()
    origin = "header" if transcript.format == "scraped" else "front matter"
    for key in ("title", "number", "date", "show", "host"):
        if meta.get(key) is not None:
            setattr(info, key, meta[key])
            info.evidence[key] = origin
    if meta.get("guests"):
        info.guests = [normalize_label(g) or g for g in meta["guests"]]
        info.evidence["guests"] = origin

    opening, closing = _edges(sentences)
    if not info.guests:
        for cue_list, source in ((_GUEST_CUES, "intro"), ([_HANDOFF_NAME], "handoff"), ([_SIGNOFF_NAME], "sign-off")):
            names = _names_after(cue_list, opening if source != "sign-off" else closing)
            if names:
                info.guests = names
                info.evidence["guests"] = source
                break
    # uncased speech runs a name on into its aka ("michael paulson aka the primeagen")
    info.guests = list(dict.fromkeys(_before_aka(g) for g in info.guests))
    if not info.show:
        for s in opening + closing:
            m = _SHOW.search(s.text)
            if m and not m.group(1).lower().startswith(("this", "that", "the ")):
                info.show = _show_name(m.group(1))
                info.evidence["show"] = "spoken"
                break
    if not info.host:
        info.host = _host(transcript, sentences, info)
        if info.host:
            info.evidence["host"] = "speaker labels" if _labelled(sentences) else "show name"
    info.mentions = list(dict.fromkeys([*_mentions(opening + closing), *_akas(opening), *_akas(closing)]))
    for s in opening:
        m = _APPEARANCE.search(s.text)
        if m and m.group(1).lower() in _ORDINALS:
            info.appearance = _ORDINALS[m.group(1).lower()]
            break
    return info


_HANDLE = re.compile(r"\bslash\s+([a-z][\w'-]{1,20})\b|\.com/([a-z][\w-]{1,20})\b", re.I)


def _mentions(sentences: list[Sentence]) -> list[str]:
    found: list[str] = []
    cues = [*_GUEST_CUES, _HANDOFF_NAME, _SIGNOFF_NAME]
    for s in sentences:
        for cue in cues:
            for m in cue.finditer(s.text):
                name = name_at(s.text, m.end())
                if name:
                    found.append(_before_aka(name))
        for m in _SHOW.finditer(s.text):
            host = host_from_show(_show_name(m.group(1)))
            if host and not m.group(1).lower().startswith(("this", "that", "the ")):
                found.append(host)
        for m in _HANDLE.finditer(s.text):
            found.append(m.group(1) or m.group(2))
    return list(dict.fromkeys(found))


# "NAME, aka HANDLE", "NAME (a.k.a. HANDLE)", "NAME, also / better / otherwise known as HANDLE";
# "HANDLE, whose real name is NAME".
_AKA = re.compile(r"\s*[,(]?\s*(?<![\w.])(?:a\.k\.a\.?|aka|(?:also|better|otherwise) known as)(?![\w])\s*", re.I)
_REAL_NAME = re.compile(r"\s*,?\s*\bwhose real name is\b\s*", re.I)
_TOKEN = re.compile(r"[^\s,.;:!?()\[\]\"“”]+")
_PUNCT = re.compile(r"[,.;:!?()\[\]\"“”]")
# Words of a name read backwards from an aka, and of a handle in uncased speech.
MAX_NAME_WORDS = 4
MAX_HANDLE_WORDS = 2


def _akas(sentences: list[Sentence]) -> list[str]:
    """Every "NAME aka HANDLE" the sentences state, as aka(NAME, HANDLE). The sentences are
    read as one text: a segmenter may cut "a.k.a." off its handle."""
    text = " ".join(s.text for s in sentences)
    found: list[str] = []
    for m in _AKA.finditer(text):
        name, handle = _name_before(text, m.start()), _handle_at(text, m.end())
        if name and handle:
            found.append(aka(name, handle))
    for m in _REAL_NAME.finditer(text):
        name, handle = name_at(text, m.end()), _handle_before(text, m.start())
        if name and handle:
            found.append(aka(name, handle))
    return found


def _before_aka(name: str) -> str:
    """'Michael Paulson Aka' -> 'Michael Paulson': a name read on into an aka, cut there."""
    words = name.split()
    for i, w in enumerate(words):
        known = [x.lower() for x in words[i + 1 : i + 2]] == ["known"]
        if i and (_AKA.fullmatch(w) or (w.lower() in ("better", "otherwise") and known)):
            return " ".join(words[:i])
    return name


def _words_before(text: str, end: int) -> list[str]:
    """The words between the last punctuation mark before `end` and `end`."""
    start = max(0, end - 120)
    cut = [m.end() for m in _PUNCT.finditer(text, start, end)]
    return _TOKEN.findall(text, cut[-1] if cut else start, end)


def _name_before(text: str, end: int) -> str | None:
    """The person's name that ends at text[:end] (as name_at reads one forwards)."""
    cased = is_cased(text[max(0, end - 200) : end + 200])
    name: list[str] = []
    for word in reversed(_words_before(text, end)[-MAX_NAME_WORDS:]):
        if word.lower() in FUNCTION_WORDS or not word[0].isalpha() or (cased and not word[0].isupper()):
            break
        name.insert(0, word)
    if not name:
        return None
    return " ".join(name) if cased else title_case_name(name)


def _quoteless(words: list[str]) -> list[str]:
    """Words without the quotes a handle may stand in ("aka ‘Roasbeef’")."""
    return [w for w in (w.strip("'‘’`") for w in words) if w]


def _is_handle_word(word: str, cased: bool, first: bool) -> bool:
    if word.lower() in FUNCTION_WORDS:
        return False
    # cased text: a capital anywhere ("ThePrimeagen", "xQc", "DHH"), or one lowercase handle
    return not cased or first or word[0] == "@" or any(c.isupper() or c.isdigit() for c in word)


def _handle_at(text: str, start: int) -> str | None:
    """The handle that begins at text[start:], as written or spoken ("ThePrimeagen",
    "The Rock", "the primeagen", "@theprimeagen")."""
    end = _PUNCT.search(text, start, start + 80)
    words = _quoteless(_TOKEN.findall(text, start, end.start() if end else start + 80))
    cased = is_cased(text[max(0, start - 200) : start + 200])
    handle: list[str] = []
    if words and words[0].lower() == "the":
        handle.append(words.pop(0))
    limit = MAX_NAME_WORDS - 1 if cased else MAX_HANDLE_WORDS
    for word in words:
        if len(handle) >= limit or not _is_handle_word(word, cased, first=not handle):
            break
        handle.append(word)
        if cased and not any(c.isupper() for c in word):
            break  # a lowercase handle is one word
    if not handle or handle[-1].lower() == "the":
        return None
    return " ".join(handle)


def _handle_before(text: str, end: int) -> str | None:
    """The handle that ends at text[:end] ("The Rock, whose real name is ...")."""
    cased = is_cased(text[max(0, end - 200) : end + 200])
    words = _quoteless(_words_before(text, end))
    handle: list[str] = []
    limit = MAX_NAME_WORDS - 1 if cased else MAX_HANDLE_WORDS
    while words and len(handle) < limit and _is_handle_word(words[-1], cased, first=False):
        handle.insert(0, words.pop())
    if handle and words and words[-1].lower() == "the" and len(handle) < limit:
        handle.insert(0, words.pop())
    return " ".join(handle) or None


def host_from_show(show: str | None) -> str | None:
    """'Lex Fridman Podcast' -> 'Lex Fridman'; "Lenny's Podcast" -> 'Lenny'."""
    if not show:
        return None
    name = re.sub(r"\b(?:the|podcast|show)\b", " ", show, flags=re.I)
    name = re.sub(r"['’]s\b", "", name)
    name = " ".join(name.split())
    return name or None


def _show_name(spoken: str) -> str:
    words = spoken.split()
    if all(w.islower() for w in words):
        words = [w.capitalize() for w in words]
    return " ".join(words) + " Podcast"


def _edges(sentences: list[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    opening: list[Sentence] = []
    words = 0
    for s in sentences:
        opening.append(s)
        words += s.text.count(" ") + 1
        if words > OPENING_WORDS:
            break
    closing: list[Sentence] = []
    words = 0
    for s in reversed(sentences):
        closing.insert(0, s)
        words += s.text.count(" ") + 1
        if words > CLOSING_WORDS:
            break
    return opening, closing


# Between two guests' names: "Dylan Patel and Nathan Lambert", "A, B and C", "A & B".
_NEXT_NAME = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)")
MAX_GUESTS = 8


def _names_after(cues: list[re.Pattern], sentences: list[Sentence]) -> list[str]:
    """The guests the first cue names: one name, or several joined by commas and "and"."""
    for s in sentences:
        for cue in cues:
            m = cue.search(s.text)
            if not m:
                continue
            name = name_at(s.text, m.end())
            if not name or len(name.split()) < 2:
                continue
            names = [name]
            low = s.text.lower()
            start = low.find(name.lower(), m.end())
            pos = start + len(name) if start >= 0 else -1
            while pos >= 0 and len(names) < MAX_GUESTS:
                sep = _NEXT_NAME.match(s.text, pos)
                nxt = name_at(s.text, sep.end()) if sep else None
                if not nxt:
                    break
                # uncased text runs on ("nathan lambert dylan runs ..."): stop at an earlier guest's word
                said = {w.lower() for n in names for w in n.split()}
                words = nxt.split()
                cut = next((k for k, w in enumerate(words) if w.lower() in said), len(words))
                nxt = " ".join(words[:cut])
                # a full name right after the separator (not "and his work" / "the author of")
                if len(nxt.split()) < 2 or low.find(nxt.lower(), sep.end()) != sep.end():
                    break
                names.append(nxt)
                pos = sep.end() + len(nxt)
            return names
    return []


def _labelled(sentences: list[Sentence]) -> bool:
    return any(s.speaker for s in sentences)


def _host(transcript: Transcript, sentences: list[Sentence], info: EpisodeInfo) -> str | None:
    """Labelled: the label of the name in the show's title if one speaks, else the non-guest
    who speaks most; unlabelled: the name in the show's title."""
    from_show = host_from_show(info.show)
    if _labelled(sentences):
        guest_keys = {name_key(g) for g in info.guests}
        words: Counter[str] = Counter()
        for s in sentences:
            label = normalize_label(s.speaker)
            if label and not _is_guest(label, guest_keys):
                words[label] += s.text.count(" ") + 1
        # In a compilation a guest may speak longest ("Failure": Gina Gotthilf); the show's
        # host still speaks under the title's name ("Lenny's Podcast": "Lenny").
        show_key = name_key(from_show or "")
        titled = [label for label in words if len(show_key) >= 3 and name_key(label).startswith(show_key)]
        if titled:
            return max(titled, key=lambda label: words[label])
        if words:
            return words.most_common(1)[0][0]
    return from_show


def _is_guest(label: str, guest_keys: set[str]) -> bool:
    """A label names a guest when it is the guest's name, a part of it, or a near spelling
    ('Alex Hardiman' for 'Alex Hardimen')."""
    key = name_key(label)
    return any(
        key == g
        or (len(key) >= 3 and (g.startswith(key) or key.startswith(g)))
        or SequenceMatcher(None, key, g).ratio() >= SAME_NAME
        for g in guest_keys
    )

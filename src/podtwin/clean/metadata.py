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
from podtwin.speakers.names import name_at, name_key, normalize_label
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
    # spellings the people registry resolves to persons as aliases.
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
    info.mentions = _mentions(opening + closing)
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
                    found.append(name)
        for m in _SHOW.finditer(s.text):
            host = host_from_show(_show_name(m.group(1)))
            if host and not m.group(1).lower().startswith(("this", "that", "the ")):
                found.append(host)
        for m in _HANDLE.finditer(s.text):
            found.append(m.group(1) or m.group(2))
    return list(dict.fromkeys(found))


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

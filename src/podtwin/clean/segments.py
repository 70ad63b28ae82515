"""Tag every sentence with the kind of segment it belongs to.

    cold_open  clips played before the host's introduction
    intro      the host introducing the episode and guest
    sponsor    sponsor reads (found by the trained SponsorTagger)
    handoff    "And now, dear friends, here's X" / "Enjoy this episode with X"
    conversation
    outro      sign-off after the conversation

Everything stays stored; later stages leave cold_open..handoff and outro out of answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podtwin.text.segmenter import Sentence

KINDS = ("cold_open", "intro", "sponsor", "handoff", "conversation", "outro")

_INTRO = re.compile(
    r"\b(?:the following is a conversation with|welcome to (?:the )?[\w'’ ]{0,40}podcast"
    r"|today,? my guests? (?:is|are)|my guests? today (?:is|are)|this is the [\w'’ ]{0,40}podcast)",
    re.I,
)
_HANDOFF = re.compile(
    r"\b(?:(?:and )?now[,.]? dear friends[,.!]? here['’]?s|here['’]?s my conversation with|and now[,.]? here['’]?s"
    r"|enjoy (?:this|the) (?:episode|conversation|interview) with|with that,? i bring you"
    r"|and now,? (?:on to|onto) (?:my|the|our) conversation)",
    re.I,
)
_OUTRO = re.compile(
    r"\b(?:thanks? (?:you )?(?:so much )?for listening|let me leave you with|if you found this (?:episode )?valuable"
    r"|see you (?:in the )?next (?:time|episode))",
    re.I,
)
_ANNOUNCEMENT = re.compile(r"\b(?:episode|show|podcast) is (?:also )?(?:brought to you|sponsored|presented) by\b", re.I)
# Sentences between an announcement and the tagger's first sponsor sentence that join the read.
ANNOUNCEMENT_GAP = 8
OPENING_SHARE = 0.3
OPENING_MAX_WORDS = 4000
CLOSING_SHARE = 0.15


@dataclass
class Segment:
    kind: str
    first: int  # sentence indexes, inclusive
    last: int


def tag_kinds(sentences: list[Sentence], sponsor: list[bool]) -> list[str]:
    """One kind per sentence."""
    n = len(sentences)
    kinds = ["conversation"] * n
    if not n:
        return kinds
    opening = _opening_end(sentences)
    intro_start = next((i for i in range(opening) if _INTRO.search(sentences[i].text)), None)
    handoff = None
    if intro_start is not None:
        handoff = _find_handoff(sentences, intro_start, opening)
        for i in range(intro_start):
            kinds[i] = "cold_open"
        if handoff is not None:
            end = handoff
        else:
            end = _paragraph_end(sentences, intro_start)
        # Sponsor reads that follow the intro belong to the opening, as does the gap up to them.
        last_sponsor = max((i for i in range(intro_start, opening) if sponsor[i]), default=None)
        if handoff is None and last_sponsor is not None and last_sponsor > end:
            end = last_sponsor + 1
        for i in range(intro_start, end):
            kinds[i] = "intro"
        if handoff is not None:
            kinds[handoff] = "handoff"
            # a hand-off the punctuator split ("... and now dear friends." "here's X.") spans two
            if handoff + 1 < n and not _HANDOFF.search(sentences[handoff].text):
                kinds[handoff + 1] = "handoff"
            # "This is the X podcast." said just before the handoff belongs to it.
            if handoff > intro_start and re.search(
                r"\bthis is (?:the |a )?[\w'’ ]{0,40}podcast\b", sentences[handoff - 1].text, re.I
            ):
                kinds[handoff - 1] = "handoff"
    closing_start = n - max(1, int(n * CLOSING_SHARE))
    outro = next(
        (i for i in range(max(closing_start, (handoff or 0) + 1), n) if _OUTRO.search(sentences[i].text)), None
    )
    if outro is not None:
        for i in range(outro, n):
            kinds[i] = "outro"
    for i, flag in enumerate(_with_announcements(sentences, sponsor)):
        if flag and kinds[i] in ("conversation", "intro", "cold_open"):
            kinds[i] = "sponsor"
    return kinds


def _with_announcements(sentences: list[Sentence], sponsor: list[bool]) -> list[bool]:
    """An explicit "this episode is brought to you by X" starts a read even where the tagger,
    trained on another show's shorter reads, wakes up a few sentences later: the sentences
    up to its first sponsor sentence belong to the read."""
    flags = list(sponsor)
    for i, s in enumerate(sentences):
        if not _ANNOUNCEMENT.search(s.text):
            continue
        flags[i] = True
        ahead = next((j for j in range(i + 1, min(i + 1 + ANNOUNCEMENT_GAP, len(flags))) if sponsor[j]), None)
        if ahead is not None:
            for j in range(i + 1, ahead):
                flags[j] = True
    return flags


def _find_handoff(sentences: list[Sentence], start: int, end: int) -> int | None:
    """First sentence where the hand-off formula starts, also when restored punctuation
    cut the formula in two."""
    for i in range(start, min(end, len(sentences))):
        text = sentences[i].text
        if _HANDOFF.search(text):
            return i
        if i + 1 < len(sentences):
            m = _HANDOFF.search(text + " " + sentences[i + 1].text)
            if m and m.start() < len(text):
                return i
    return None


def segments_of(kinds: list[str]) -> list[Segment]:
    """Contiguous runs of one kind."""
    out: list[Segment] = []
    for i, kind in enumerate(kinds):
        if out and out[-1].kind == kind:
            out[-1].last = i
        else:
            out.append(Segment(kind, i, i))
    return out


def _opening_end(sentences: list[Sentence]) -> int:
    limit = max(1, int(len(sentences) * OPENING_SHARE))
    words = 0
    for i, s in enumerate(sentences[:limit]):
        words += s.text.count(" ") + 1
        if words > OPENING_MAX_WORDS:
            return i + 1
    return limit


def _paragraph_end(sentences: list[Sentence], start: int) -> int:
    """Index after the last sentence of the labelled paragraph run that holds `start`;
    in unlabelled text (one long utterance) just the intro sentence itself."""
    speaker = sentences[start].speaker
    if speaker is None:
        return start + 1
    i = start + 1
    while (
        i < len(sentences)
        and sentences[i].speaker == speaker
        and not (sentences[i].paragraph_start and _looks_like_conversation(sentences[i].text))
    ):
        i += 1
    return i


def _looks_like_conversation(text: str) -> bool:
    return bool(re.match(r"(?:\w+, )?(?:thank you|thanks|welcome|so good|hey|hi)\b", text, re.I))

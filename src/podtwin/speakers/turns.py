"""Who spoke each sentence of an episode, as turns.

A labelled source says it. Otherwise: intros, sponsor reads, hand-offs and sign-offs are
the host's by structure; the speaker model gives every other sentence a posterior
P(host) and every seam a P(speaker change); the host's own model of the show
(podtwin.speakers.adapt) and the creator's corrections, when there are any, weigh in.

With two or more guests (the intro says how many: "a conversation with Dylan Patel and
Nathan Lambert"), the guests' stretches are cut where the model hears a change and each
piece is given to one guest by a small chain model over the pieces: a name said at the
end of the turn before ("Nathan, what do you think?") points at the next speaker, a
guest rarely says their own name, and a change inside a guests' stretch passes the word
to another guest.

Every sentence carries a confidence, P(its speaker is right), calibrated on shows the
model never saw (see podtwin.speakers.calibration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podtwin.speakers.attribution import SpeakerAttributor, default_attributor
from podtwin.speakers.metadata import EpisodeInfo
from podtwin.speakers.names import name_key

if TYPE_CHECKING:
    from podtwin.speakers.calibration import Calibration

__all__ = ["HOST_KINDS", "TurnRow", "attribute_sentences", "attribute_turns", "role_of", "runs"]

# Kinds the host reads; in an unlabelled transcript they are the host's by structure.
HOST_KINDS = frozenset({"intro", "sponsor", "handoff", "outro"})
# Within a guests' stretch, a seam with at least this P(change) passes to another guest.
GUEST_CHANGE = 0.5
# How strongly a name said just before a piece points at its speaker (odds).
ADDRESS_ODDS = 8.0
OWN_NAME_ODDS = 0.3
SWITCH_IN_STRETCH = 0.9  # a heard change inside a guests' stretch is another guest
STAY_ACROSS_HOST = 0.6  # after the host speaks, the guest who last spoke is likelier


@dataclass
class TurnRow:
    first: int
    last: int
    role: str | None
    speaker: str | None  # None when the model knows the role but not which of several guests
    confidence: float
    origin: str


@dataclass
class SentenceSpeakers:
    """Per sentence: role, speaker name, confidence and where it came from."""

    roles: list[str | None]
    speakers: list[str | None]
    confidence: list[float]
    origin: list[str]


def role_of(label: str | None, info: EpisodeInfo) -> str | None:
    if label is None:
        return None
    host = name_key(info.host or "")
    key = name_key(label)
    if host and (key == host or (len(key) >= 3 and host.startswith(key))):
        return "host"
    return "guest"


def runs(
    roles: list[str | None], speakers: list[str | None], confidence: list[float], origin: list[str]
) -> list[TurnRow]:
    """Turns: maximal runs of one role, speaker and origin; confidence is the run's mean."""
    turns: list[TurnRow] = []
    for i, (role, speaker) in enumerate(zip(roles, speakers)):
        last = turns[-1] if turns else None
        if last and last.role == role and last.speaker == speaker and last.origin == origin[i]:
            last.last = i
            last.confidence += confidence[i]
        else:
            turns.append(TurnRow(i, i, role, speaker, confidence[i], origin[i]))
    for t in turns:
        t.confidence = round(t.confidence / (t.last - t.first + 1), 4)
    return turns


def attribute_turns(
    texts: list[str],
    labels: list[str | None],
    kinds: list[str],
    info: EpisodeInfo,
    attributor: SpeakerAttributor | None = None,
    host_bias: np.ndarray | None = None,
    corrections: dict[int, str] | None = None,
) -> list[TurnRow]:
    """Turns over all sentences (see attribute_sentences)."""
    s = attribute_sentences(texts, labels, kinds, info, attributor, host_bias, corrections)
    return runs(s.roles, s.speakers, s.confidence, s.origin)


def attribute_sentences(
    texts: list[str],
    labels: list[str | None],
    kinds: list[str],
    info: EpisodeInfo,
    attributor: SpeakerAttributor | None = None,
    host_bias: np.ndarray | None = None,
    corrections: dict[int, str] | None = None,
    calibration: Calibration | None = None,
) -> SentenceSpeakers:
    """Who spoke each sentence: from the labels when the source has them, else from the
    structure and the speaker model (`attributor`, default the packaged one).

    `host_bias`: per-sentence log-odds from the show's host model; `corrections`: sentence
    index -> the person a creator said spoke it (the host's name or a guest's)."""
    n = len(texts)
    if any(labels):
        return SentenceSpeakers([role_of(label, info) for label in labels], list(labels), [1.0] * n, ["label"] * n)
    from podtwin.speakers.calibration import asks_you, default_calibration

    roles: list[str | None] = ["host"] * n
    speakers: list[str | None] = [info.host] * n
    confidence = [1.0] * n
    origin = ["structure"] * n
    spoken = [i for i, kind in enumerate(kinds) if kind not in HOST_KINDS]
    if not spoken:
        return SentenceSpeakers(roles, speakers, confidence, origin)
    host_key = name_key(info.host or "")
    guest_keys = {name_key(g) for g in info.guests}
    fixed = {i: p for i, p in (corrections or {}).items() if 0 <= i < n}
    clamp = np.full(len(spoken), -1, dtype=np.int64)
    for j, i in enumerate(spoken):
        if i in fixed:
            clamp[j] = 0 if _names_host(fixed[i], host_key, guest_keys) else 1
    names = [x for x in (info.host, *info.guests) if x]
    analysis = (attributor or default_attributor()).analyse(
        [texts[i] for i in spoken],
        names=names,
        host_bias=None if host_bias is None else np.asarray(host_bias)[spoken],
        clamp=clamp,
    )
    calibration = calibration or default_calibration()
    p_role = np.where(analysis.path == 0, analysis.p_host, 1.0 - analysis.p_host)
    guest_of, guest_conf = _guests(
        [texts[i] for i in spoken], analysis.path, analysis.p_change, info.guests, [fixed.get(i) for i in spoken]
    )
    for j, i in enumerate(spoken):
        if i in fixed:
            roles[i] = "host" if clamp[j] == 0 else "guest"
            speakers[i] = fixed[i]
            confidence[i] = 1.0
            origin[i] = "correction"
            continue
        if analysis.path[j] == 0:
            roles[i], speakers[i] = "host", info.host
            p = float(p_role[j])
        else:
            roles[i], speakers[i] = "guest", guest_of[j]
            p = float(p_role[j] * guest_conf[j])
        confidence[i] = round(calibration.calibrate(p, asks_you(texts[i])), 4)
        origin[i] = "model"
    return SentenceSpeakers(roles, speakers, confidence, origin)


def _names_host(person: str, host_key: str, guest_keys: set[str]) -> bool:
    """Does a correction give the sentence to the host? When the episode does not name its
    host, anyone who is not one of its named guests is taken as the host: the model knows
    only the host's side and the guests'."""
    key = name_key(person)
    if host_key:
        return key == host_key
    return key not in guest_keys


# -- several guests -----------------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z'’-]+")


def _first_names(guests: list[str]) -> list[set[str]]:
    """The words that name each guest when spoken (first name, and the full name's words
    that no other guest shares)."""
    words = [[w for w in _WORD.findall(g.lower()) if len(w) > 2] for g in guests]
    out = []
    for k, ws in enumerate(words):
        others = {w for j, o in enumerate(words) if j != k for w in o}
        out.append({w for w in ws if w not in others})
    return out


def _said(names: set[str], text: str) -> bool:
    return bool(names & set(_WORD.findall(text.lower())))


def _guests(
    texts: list[str], path: np.ndarray, p_change: np.ndarray, guests: list[str], fixed: list[str | None]
) -> tuple[list[str | None], np.ndarray]:
    """For each sentence on the guests' side: which guest, and P(that guest | the guests' side)."""
    n = len(texts)
    conf = np.ones(n)
    if len(guests) < 2:
        return [guests[0] if guests else None] * n, conf
    k = len(guests)
    called = _first_names(guests)
    # pieces: guest sentences cut at host turns and at heard changes
    pieces: list[list[int]] = []
    after_host: list[bool] = []
    for i in range(n):
        if path[i] != 1:
            continue
        new = not pieces or pieces[-1][-1] != i - 1 or p_change[i - 1] >= GUEST_CHANGE
        if new:
            pieces.append([i])
            after_host.append(i > 0 and path[i - 1] == 0)
        else:
            pieces[-1].append(i)
    if not pieces:
        return [None] * n, conf
    m = len(pieces)
    emit = np.ones((m, k))
    for p, piece in enumerate(pieces):
        a = piece[0]
        before = " ".join(texts[max(0, a - 2) : a])
        for g in range(k):
            if called[g] and _said(called[g], before):
                emit[p, g] *= ADDRESS_ODDS
            if called[g] and _said(called[g], " ".join(texts[i] for i in piece[:2])):
                emit[p, g] *= OWN_NAME_ODDS
        for i in piece:  # a creator's correction names the guest outright
            if fixed[i] in guests:
                emit[p] = 1e-6
                emit[p, guests.index(fixed[i])] = 1.0
                break
    emit /= emit.sum(1, keepdims=True)
    # forward-backward over pieces; transitions depend on what lies between two pieces
    trans = []
    for p in range(1, m):
        stay = STAY_ACROSS_HOST if after_host[p] else 1.0 - SWITCH_IN_STRETCH
        t = np.full((k, k), (1.0 - stay) / (k - 1))
        np.fill_diagonal(t, stay)
        trans.append(t)
    fwd = np.zeros((m, k))
    fwd[0] = emit[0] / emit[0].sum()
    for p in range(1, m):
        f = (fwd[p - 1] @ trans[p - 1]) * emit[p]
        fwd[p] = f / f.sum()
    bwd = np.ones((m, k))
    for p in range(m - 2, -1, -1):
        b = trans[p] @ (emit[p + 1] * bwd[p + 1])
        bwd[p] = b / b.sum()
    post = fwd * bwd
    post /= post.sum(1, keepdims=True)
    who: list[str | None] = [None] * n
    for p, piece in enumerate(pieces):
        g = int(np.argmax(post[p]))
        for i in piece:
            who[i] = guests[g]
            conf[i] = post[p, g]
    return who, conf

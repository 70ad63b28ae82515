"""Ground truth for sponsor reads in the labelled Lenny's Podcast Markdown, and the measurement.

Ground-truth rule (used for both training and evaluation; sentence level)
---------------------------------------------------------------------------
Transcript paragraphs are the blocks introduced by label lines (``Name (00:01:02):`` or the
continuation form ``(00:01:02):``, which keeps the previous speaker). Each paragraph is split
into sentences with :func:`podtwin.text.sentences.split_sentences`.

1. *Start.* A read starts at a sentence that announces a sponsor:
   "<episode|show|podcast> is [also] brought to you by / sponsored by / presented by ...".
   Secondary announcements ("today's sponsor", "podcast sponsor") start the read at the first
   sentence of their paragraph when that is at most 4 sentences back (the read opens with a
   teaser such as "Here's a puzzle for you..."), else at the sentence itself.
2. *Scope.* From the start, the consecutive sentences of the same speaker (across paragraph
   breaks, capped at 40 sentences), stopping before the next announcement (which starts its
   own read).
3. *End.* The read ends at the LAST sentence in the scope carrying a call-to-action address: a
   web address with a path ("vanta.com/lenny", "stripe.com/startups", "slash Lenny"), or a bare
   address ("workos.com", "dot com") in a sentence with a call verb ("Visit mercury.com", "That's
   workos.com", "at X.com"); a guest's "chess.com" or "PR/FAQ" in conversation does not count.
   Taking the last one covers reads that run over several continuation paragraphs and an
   un-announced second ad in the same break (e.g. "Introducing Jira Product Discovery ...
   atlassian.com/lenny"), and stops at the hand-off that usually follows in the same paragraph
   ("Noah, welcome to the podcast."). If the speaker's scope has no such address (a sponsored
   chat with the sponsor's founder, where the other voice interrupts), the first one within the
   next 40 sentences of any speaker ends it, with the address sentences right after it in that
   paragraph. With no address at all, the read runs to the end of the announcing paragraph.
4. *Closers.* Sentences right after the end, by the same speaker, that are sponsor closers
   ("That's ...", "Get started today.", "Mercury is a financial technology company, not a
   bank.", "This is a paid ad.", "Thanks again to Persona for sponsoring ...", or a sentence
   naming the announced sponsor) are part of the read, unless they are a question, greet the
   guest or hand over ("Casey, welcome back to the podcast.").
5. *Un-announced reads.* A sentence with a path address, outside any read, spoken by a voice
   that announces reads or hands over to them, starts an un-announced read: walk back over that
   voice's sentences to the nearest boundary (a hand-off such as "...after a short word from our
   sponsors." / "With that, I bring you X.", another read, or a change of speaker; at most 30
   sentences, else nothing is marked), then end it by rules 3-4. This catches "Let me tell you
   about a product called Sendbird ... sendbird.com/Lenny" and the host's own job-board ad
   ("... check out lennysjobs.com/talent").

The intro's "... after a short word from our sponsors." is a hand-off, not part of a read.
Known misses of the rule: un-announced reads without a path address (e.g. a JustWorks read that
names no URL), taglines that do not name the sponsor ("Stay salty."), and a host's short reaction
("Awesome.") before an un-announced mid-roll read is counted in the read. The newsletter plug in
the intro ("Head on over to lennysnewsletter.com and click Product Pass.") is not a sponsor read.

Measurement
-----------
:func:`evaluate_sponsor_tagging` scores sentence-level precision / recall / F1 (and the same
weighted by word count) for three conditions:

* ``paragraphs``: the truth's sentences with ``paragraph_starts`` given;
* ``stripped``: labels, timestamps and paragraph breaks removed: the paragraph texts joined by
  spaces into one line, re-split into sentences, ``paragraph_starts=None``; each new sentence
  takes the label of the truth sentence it overlaps most;
* ``stripped_lower``: as ``stripped`` but lowercased with punctuation removed from each
  sentence (what a punctuator-fed, ASR-style transcript looks like to the tagger),

and for a keyword baseline: a sentence is sponsor iff it contains "brought to you by" or
"sponsored by". Run::

    python -m podtwin.lab.evaluate_sponsors  # measure split
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path

from podtwin.text.sentences import split_sentences

__all__ = [
    "evaluate_sponsor_tagging",
    "keyword_baseline",
    "load_lenny_sponsor_truth",
    "parse_lenny_paragraphs",
    "strip_structure",
]

_LABEL = re.compile(r"^(?:(?P<name>\S.*?)\s+)?\((?P<ts>\d{1,2}:\d{2}(?::\d{2})?)\):\s*$")
_ANNOUNCE = re.compile(
    r"\b(?:episode|show|podcast)\s+is\s+(?:also\s+|proudly\s+)?"
    r"(?:brought\s+to\s+you\s+by|sponsored\s+by|presented\s+by|made\s+possible\s+by)",
    re.I,
)
_SECONDARY = re.compile(r"\btoday'?s\s+sponsor\b|\bpodcast\s+sponsors?\b", re.I)
_DOMAIN = r"[a-z0-9]\.(?:com|io|ai|dev|co|org|app|so|net|run|trade|tech|studio|fm|tv|xyz|me|us|gg|link|art)\b"
# a web address: a domain, or a spoken one ("dot com", "slash lenny")
_ADDRESS = re.compile(_DOMAIN + r"|\bslash\s+\w|\bdot\s+(?:com|io|ai|dev|co)\b", re.I)
# an address with a path ("vanta.com/lenny", "stripe.com/startups", "slash lenny"): a call to action
_PATH_ADDRESS = re.compile(_DOMAIN + r"/\w|\bslash\s+lenny\b|\b(?:com|io|ai|co|dev|org|app|net)\s+slash\s+\w", re.I)
_CALL = re.compile(
    r"\b(?:visit|go\s+to|head|check|sign\s+up|get\s+started|learn\s+more|try|apply|join|that's|that\s+is"
    r"|redeem|start|find|get)\b|\bat\s+\S+\.[a-z]{2,5}\b",
    re.I,
)
_HANDOFF = re.compile(
    r"word\s+from\s+our\b.*\bsponsor|\bI\s+bring\s+you\b|here's\s+my\s+conversation|welcome\s+(?:back\s+)?to"
    r"\s+the\s+podcast|thank\s+you\s+(?:so\s+much\s+)?for\s+(?:being|joining)",
    re.I,
)
_CLOSER = re.compile(
    r"^(?:that's|that is|again|get started|try it|visit|go to|learn more|check it out|sign up)\b"
    r"|sponsor|\bfdic\b|not a bank|paid ad|promo code|show notes|terms and conditions|\bdiscount",
    re.I,
)
_GREETING = re.compile(r"welcome|being here|for joining|great to be|thanks for having|thank you for having", re.I)
_BRAND = re.compile(r"\bby\s+(?:the\s+)?([A-Za-z0-9][\w&'-]*)")
_KEYWORDS = re.compile(r"brought\s+to\s+you\s+by|sponsored\s+by", re.I)

SCOPE_CAP = 40
UNANNOUNCED_CAP = 30


def parse_lenny_paragraphs(path: str | Path) -> list[tuple[str, str]]:
    """(speaker, text) for each transcript paragraph of a Lenny Markdown file, in order."""
    text = Path(path).read_text(encoding="utf-8")
    marker = text.find("\n## Transcript")
    body = text[marker + 1 :] if marker >= 0 else text
    out: list[tuple[str, list[str]]] = []
    speaker = ""
    for line in body.splitlines()[1:]:
        stripped = line.strip()
        m = _LABEL.match(stripped)
        if m:
            if m.group("name"):
                speaker = m.group("name")
            out.append((speaker, []))
        elif stripped and out:
            out[-1][1].append(stripped)
    return [(s, " ".join(lines)) for s, lines in out if lines]


def _speaker_key(name: str) -> str:
    return name.split()[0].lower() if name.strip() else ""


def load_lenny_sponsor_truth(path: str | Path) -> tuple[list[str], list[bool], list[bool]]:
    """(sentences, paragraph_starts, is_sponsor) for one Lenny file, by the rule in the module doc."""
    sentences: list[str] = []
    starts: list[bool] = []
    para_of: list[int] = []
    speaker_of: list[str] = []
    for p, (speaker, text) in enumerate(parse_lenny_paragraphs(path)):
        for k, (a, b) in enumerate(split_sentences(text)):
            sentences.append(text[a:b])
            starts.append(k == 0)
            para_of.append(p)
            speaker_of.append(_speaker_key(speaker))
    n = len(sentences)
    is_sponsor = [False] * n
    primary = [bool(_ANNOUNCE.search(s)) for s in sentences]
    secondary = [not primary[i] and bool(_SECONDARY.search(sentences[i])) for i in range(n)]
    announce = [a or b for a, b in zip(primary, secondary, strict=True)]
    has_address = [bool(_ADDRESS.search(s)) for s in sentences]
    path_address = [bool(_PATH_ADDRESS.search(s)) for s in sentences]
    call = [has_address[i] and (path_address[i] or bool(_CALL.search(sentences[i]))) for i in range(n)]

    def read_end(i: int, brand: str | None) -> int:
        """Last sentence of the read whose first announcing (or anchoring) sentence is i."""
        scope_end = i
        m = i + 1
        while m < n and m <= i + SCOPE_CAP and speaker_of[m] == speaker_of[i] and not announce[m]:
            scope_end = m
            m += 1
        end = next((m for m in range(scope_end, i - 1, -1) if call[m]), None)
        if end is None:  # the other voice interrupts (sponsored chat): first address of any speaker
            m = i + 1
            while m < n and m <= i + SCOPE_CAP and not announce[m]:
                if call[m]:
                    end = m
                    while end + 1 < n and para_of[end + 1] == para_of[m] and has_address[end + 1]:
                        end += 1
                    break
                m += 1
        if end is None:
            end = i
            while end + 1 < n and para_of[end + 1] == para_of[i] and not announce[end + 1]:
                end += 1
        while end + 1 < n and speaker_of[end + 1] == speaker_of[end] and not announce[end + 1]:
            nxt = sentences[end + 1]
            if "?" in nxt or _GREETING.search(nxt) or _HANDOFF.search(nxt):
                break
            if _CLOSER.search(nxt) or (brand and len(brand) > 2 and brand in nxt.lower()):
                end += 1
            else:
                break
        return end

    for i in range(n):
        if not announce[i]:
            continue
        start = i
        if secondary[i]:
            j = i
            while j > 0 and not starts[j] and para_of[j - 1] == para_of[i]:
                j -= 1
            if i - j <= 4:
                start = j
        brand_m = _BRAND.search(sentences[i][_ANNOUNCE.search(sentences[i]).start() :] if primary[i] else "")
        end = read_end(i, brand_m.group(1).lower() if brand_m else None)
        for m in range(start, end + 1):
            is_sponsor[m] = True

    # un-announced reads: a call-to-action address with a path ("sidebar.com/lenny") spoken by an
    # announcing voice, outside any read: walk back over that voice's sentences to a boundary
    announcers = {speaker_of[i] for i in range(n) if announce[i] or _HANDOFF.search(sentences[i])}
    for i in range(n):
        if is_sponsor[i] or not path_address[i] or speaker_of[i] not in announcers:
            continue
        j = i
        while (
            j > 0
            and i - j < UNANNOUNCED_CAP
            and speaker_of[j - 1] == speaker_of[i]
            and not is_sponsor[j - 1]
            and not _HANDOFF.search(sentences[j - 1])
        ):
            j -= 1
        if i - j >= UNANNOUNCED_CAP:
            continue  # no boundary in sight: not clearly an ad
        end = read_end(i, None)
        for m in range(j, end + 1):
            is_sponsor[m] = True
    return sentences, starts, is_sponsor


def strip_structure(sentences: list[str], labels: list[bool]) -> tuple[list[str], list[bool]]:
    """Join the sentences into one line, re-split it, and carry labels over by largest overlap."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for s in sentences:
        spans.append((pos, pos + len(s)))
        pieces.append(s)
        pos += len(s) + 1
    text = " ".join(pieces)
    out_s: list[str] = []
    out_l: list[bool] = []
    k = 0
    for a, b in split_sentences(text):
        while k < len(spans) and spans[k][1] <= a:
            k += 1
        best, best_len = False, -1
        j = k
        while j < len(spans) and spans[j][0] < b:
            ov = min(b, spans[j][1]) - max(a, spans[j][0])
            if ov > best_len:
                best, best_len = labels[j], ov
            j += 1
        out_s.append(text[a:b])
        out_l.append(best)
    return out_s, out_l


_PUNCT = re.compile(r"[^\w\s']")


def lower_unpunctuated(sentences: list[str]) -> list[str]:
    """Lowercase, punctuation removed (URLs become "vanta com lenny"), as ASR output looks."""
    return [" ".join(_PUNCT.sub(" ", s.lower()).split()) for s in sentences]


def keyword_baseline(sentences: list[str]) -> list[bool]:
    return [bool(_KEYWORDS.search(s)) for s in sentences]


class _Counts:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.wtp = self.wfp = self.wfn = 0

    def add(self, sentences: list[str], truth: list[bool], pred: list[bool]) -> None:
        for s, t, p in zip(sentences, truth, pred, strict=True):
            w = len(s.split())
            if t and p:
                self.tp += 1
                self.wtp += w
            elif p:
                self.fp += 1
                self.wfp += w
            elif t:
                self.fn += 1
                self.wfn += w

    @staticmethod
    def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return round(p, 4), round(r, 4), round(f, 4)

    def result(self) -> dict:
        p, r, f = self._prf(self.tp, self.fp, self.fn)
        wp, wr, wf = self._prf(self.wtp, self.wfp, self.wfn)
        return {
            "precision": p,
            "recall": r,
            "f1": f,
            "word_precision": wp,
            "word_recall": wr,
            "word_f1": wf,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def evaluate_sponsor_tagging(paths: Iterable[str | Path], tagger=None) -> dict:
    """Sentence-level P/R/F1 (plain and word-weighted) of the tagger and the keyword baseline.

    Returns {"files", "sentences", "sponsor_sentences", "seconds", "tagger": {condition: scores},
    "baseline": {condition: scores}} with conditions "paragraphs", "stripped", "stripped_lower".
    """
    if tagger is None:
        from podtwin.clean.sponsors import default_sponsor_tagger

        tagger = default_sponsor_tagger()
    conditions = ("paragraphs", "stripped", "stripped_lower")
    model = {c: _Counts() for c in conditions}
    base = {c: _Counts() for c in conditions}
    n_files = n_sent = n_pos = 0
    seconds = 0.0
    for path in paths:
        sentences, starts, truth = load_lenny_sponsor_truth(path)
        n_files += 1
        n_sent += len(sentences)
        n_pos += sum(truth)
        flat_s, flat_t = strip_structure(sentences, truth)
        lower_s = lower_unpunctuated(flat_s)
        for cond, ss, tt, ps in (
            ("paragraphs", sentences, truth, starts),
            ("stripped", flat_s, flat_t, None),
            ("stripped_lower", lower_s, flat_t, None),
        ):
            t0 = time.perf_counter()
            pred = tagger.predict(ss, ps)
            seconds += time.perf_counter() - t0
            model[cond].add(ss, tt, pred)
            base[cond].add(ss, tt, keyword_baseline(ss))
    return {
        "files": n_files,
        "sentences": n_sent,
        "sponsor_sentences": n_pos,
        "seconds": round(seconds, 3),
        "tagger": {c: model[c].result() for c in conditions},
        "baseline": {c: base[c].result() for c in conditions},
    }


def main(argv: list[str] | None = None) -> None:
    from podtwin.corpus import lenny_files, split

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="measure", choices=("measure", "train"))
    ap.add_argument("--weights", default=None, help="weights .npz (default: packaged)")
    args = ap.parse_args(argv)
    from podtwin.clean.sponsors import SponsorTagger

    tagger = SponsorTagger.load(args.weights)
    print(json.dumps(evaluate_sponsor_tagging(split(lenny_files(), args.part), tagger), indent=2))


if __name__ == "__main__":
    main()

"""Score speaker attribution on labelled transcripts, through the real pipeline.

Each labelled file (lenny markdown) is stripped of its labels and timestamps to one
plain text (with ``unpunctuated``, also of all punctuation and casing, as many ASR
transcripts come), parsed as any unlabelled file would be, cut into sentences by the
project's segmenter (which calls the trained punctuator on unpunctuated stretches),
and attributed as ingest attributes an unlabelled file (intros, sponsor reads and
sign-offs are the host's by structure; the model, given the names the text states,
attributes the rest). Every word is then mapped back, by character offsets, to the label of
the paragraph it came from.

Figures (word level, summed over files):

* ``accuracy``: words whose predicted speaker is right after the best one-to-one
  mapping of predicted speakers ("host"/"guest") to the file's true labels; with three
  or more true speakers the words of the unmapped ones count as errors.
* turn changes: a change is "word i+1 has another speaker than word i". Precision,
  recall and F1 of predicted against true changes, by exact position and with a
  tolerance of +-3 words (greedy one-to-one matching).
* the same figures for two baselines: every word is the guest's; a sentence that ends
  in "?" is the host's, every other sentence the guest's.

    python -m podtwin.lab.evaluate_speakers [--unpunctuated] [--part measure|train]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "LabelledText",
    "change_scores",
    "evaluate_shows",
    "labelled_sentences",
    "mapped_accuracy",
    "strip_labelled",
]

_WORD = re.compile(r"\S+")
# Unpunctuated text keeps letters, digits and in-word apostrophes only.
_NOT_KEPT = re.compile(r"[^\w'’]+|_")
_LONE_APOSTROPHE = re.compile(r"(?<!\w)['’]+|['’]+(?!\w)")
TOLERANCE = 3


@dataclass
class LabelledText:
    """A labelled file reduced to plain text, with each word's true label."""

    path: str
    text: str
    word_spans: list[tuple[int, int]]  # (start, end) of each word in text
    word_labels: list[str]  # the source's speaker label of each word
    guests: list[str]  # guest names stated by the file (front matter)


def _unpunctuate(text: str) -> str:
    text = _NOT_KEPT.sub(" ", text.lower())
    text = _LONE_APOSTROPHE.sub(" ", text)
    return " ".join(text.split())


def strip_labelled(path: str | Path, unpunctuated: bool = False) -> LabelledText:
    """The file's spoken text as one plain line (labels, timestamps and paragraph breaks gone)."""
    from podtwin.formats import read_transcript

    transcript = read_transcript(path)
    clean = transcript.text.text
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    labels: list[str] = []
    length = 0
    for u in transcript.utterances:
        if u.end <= u.start:
            continue
        piece = clean[u.start : u.end]
        piece = _unpunctuate(piece) if unpunctuated else " ".join(piece.split())
        if not piece:
            continue
        if parts:
            parts.append(" ")
            length += 1
        for m in _WORD.finditer(piece):
            spans.append((length + m.start(), length + m.end()))
            labels.append(u.speaker or "?")
        parts.append(piece)
        length += len(piece)
    guests = [str(g) for g in transcript.metadata.get("guests") or []]
    return LabelledText(str(path), "".join(parts), spans, canonical_labels(labels), guests)


def canonical_labels(labels: list[str]) -> list[str]:
    """One label per person within a file: 'LENNY RACHITSKY' and 'Lenny' (a first name or
    a shorter form of a longer label) become 'Lenny Rachitsky'."""
    from podtwin.speakers.names import normalize_label

    normal = {x: normalize_label(x) or "?" for x in set(labels)}
    names = sorted(set(normal.values()), key=len, reverse=True)
    merged: dict[str, str] = {}
    for name in names:
        key = name.lower()
        merged[name] = next((m for m in names if len(m) > len(name) and m.lower().startswith(key + " ")), name)
    return [merged[normal[x]] for x in labels]


def show_hosts(files: list[Path]) -> set[str]:
    """The show's regulars: speakers (canonical labels) in at least 30% of its files, or of
    two files when the show has fewer than five. Their role is "host"."""
    from collections import Counter

    seen: Counter[str] = Counter()
    for f in files:
        seen.update(set(canonical_labels(file_labels(f))))
    need = max(2, 0.3 * len(files)) if len(files) >= 5 else min(2, len(files))
    return {name for name, k in seen.items() if k >= need and name != "?"}


def file_labels(path: Path) -> list[str]:
    """The speaker label of each utterance of a labelled file."""
    from podtwin.formats import read_transcript

    return [u.speaker or "?" for u in read_transcript(path).utterances]


def segment_plain(text: str, punctuator=None):
    """(transcript, sentences) of plain text, as ingest would segment an unlabelled file."""
    from podtwin.formats import parse_transcript
    from podtwin.text.segmenter import segment_transcript

    transcript = parse_transcript(text, "plain.txt")
    return transcript, segment_transcript(transcript, punctuator)


def _retry_punctuator(attempts: int = 6, wait_s: float = 120.0):
    """The packaged punctuator; it may be mid-replacement by its owner, so retry a while."""
    from podtwin.text.punctuate import default_punctuator

    for attempt in range(attempts):
        try:
            return default_punctuator()
        except Exception:  # noqa: BLE001 - any load failure means "not ready yet"
            if attempt == attempts - 1:
                raise
            default_punctuator.cache_clear()
            time.sleep(wait_s)
    raise RuntimeError("unreachable")


def sentence_word_index(lt: LabelledText, transcript, sentences) -> np.ndarray:
    """For each word of lt, the index of the sentence holding it (nearest one if none)."""
    starts = []
    for s in sentences:
        a, _ = transcript.text.source_span(s.start, s.end)
        starts.append(a)
    word_starts = [a for a, _ in lt.word_spans]
    out = np.empty(len(word_starts), dtype=np.int64)
    for i, a in enumerate(word_starts):
        out[i] = max(bisect_right(starts, a) - 1, 0)
    return out


def labelled_sentences(lt: LabelledText, punctuator=None):
    """Sentences of the plain text with, per sentence, its words' majority label.

    Returns (sentences, word_sentence, sentence_labels)."""
    transcript, sentences = segment_plain(lt.text, punctuator)
    word_sentence = sentence_word_index(lt, transcript, sentences)
    labels: list[str] = []
    counts: list[dict[str, int]] = [dict() for _ in sentences]
    for w, s in enumerate(word_sentence):
        c = counts[s]
        c[lt.word_labels[w]] = c.get(lt.word_labels[w], 0) + 1
    for c in counts:
        labels.append(max(c, key=c.get) if c else "")
    return sentences, word_sentence, labels


# -- scoring -------------------------------------------------------------------------------


def mapped_accuracy(pred: list[str], true: list[str]) -> tuple[int, int]:
    """(correct, total) under the best one-to-one mapping of predicted to true labels."""
    if not true:
        return 0, 0
    mapping = best_mapping(pred, true)
    return sum(1 for p, t in zip(pred, true) if mapping.get(p) == t), len(true)


def _changes(labels: list[str]) -> np.ndarray:
    a = np.asarray(labels, dtype=object)
    return np.flatnonzero(a[1:] != a[:-1])


def change_scores(pred: list[str], true: list[str], tolerance: int = 0) -> tuple[int, int, int]:
    """(matched, n_predicted, n_true) turn changes; matching is greedy, one-to-one, within tolerance."""
    p = _changes(pred)
    t = _changes(true)
    if tolerance == 0:
        return len(np.intersect1d(p, t)), len(p), len(t)
    used = np.zeros(len(t), dtype=bool)
    matched = 0
    j0 = 0
    for x in p:
        while j0 < len(t) and t[j0] < x - tolerance:
            j0 += 1
        j = j0
        while j < len(t) and t[j] <= x + tolerance:
            if not used[j]:
                used[j] = True
                matched += 1
                break
            j += 1
    return matched, len(p), len(t)


class _Tally:
    def __init__(self) -> None:
        self.correct = self.words = 0
        self.exact = [0, 0, 0]
        self.tol = [0, 0, 0]

    def add(self, pred: list[str], true: list[str]) -> None:
        c, n = mapped_accuracy(pred, true)
        self.correct += c
        self.words += n
        for acc, tol in ((self.exact, 0), (self.tol, TOLERANCE)):
            for k, v in enumerate(change_scores(pred, true, tol)):
                acc[k] += v

    @staticmethod
    def _prf(m: int, np_: int, nt: int) -> dict:
        p = m / np_ if np_ else 0.0
        r = m / nt if nt else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "predicted": np_, "true": nt}

    def result(self) -> dict:
        return {
            "accuracy": round(self.correct / self.words, 4) if self.words else 0.0,
            "changes": self._prf(*self.exact),
            f"changes_pm{TOLERANCE}": self._prf(*self.tol),
        }


def unlabelled_speakers(transcript, sentences, attributor=None, host_bias=None, corrections=None, calibration=None):
    """(info, kinds, SentenceSpeakers) as ingest makes them for an unlabelled file: intros,
    sponsor reads and sign-offs are the host's by structure; the model attributes the rest,
    with the host's and guests' names as the text itself gives them."""
    from podtwin.clean.segments import tag_kinds
    from podtwin.clean.sponsors import default_sponsor_tagger
    from podtwin.speakers.metadata import infer_episode_info
    from podtwin.speakers.turns import attribute_sentences

    texts = [s.text for s in sentences]
    sponsor = default_sponsor_tagger().predict(texts, [s.paragraph_start for s in sentences])
    kinds = tag_kinds(sentences, sponsor)
    info = infer_episode_info(transcript, sentences)
    who = attribute_sentences(texts, [None] * len(texts), kinds, info, attributor, host_bias, corrections, calibration)
    return info, kinds, who


@dataclass
class Episode:
    """One labelled file, stripped and segmented, with its truth per word and per sentence."""

    path: str
    show: str
    lt: LabelledText
    transcript: object
    sentences: list
    word_sentence: np.ndarray
    sentence_labels: list[str]  # majority true label per sentence
    hosts: set[str]  # the show's regulars

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.sentences]


def load_episode(path: Path, show: str, hosts: set[str], unpunctuated: bool, punctuator) -> Episode | None:
    lt = strip_labelled(path, unpunctuated)
    if not lt.word_labels:
        return None
    transcript, sentences = segment_plain(lt.text, punctuator)
    if not sentences:
        return None
    ws = sentence_word_index(lt, transcript, sentences)
    counts: list[dict[str, int]] = [dict() for _ in sentences]
    for w, k in enumerate(ws):
        counts[k][lt.word_labels[w]] = counts[k].get(lt.word_labels[w], 0) + 1
    labels = [max(c, key=c.get) if c else "" for c in counts]
    return Episode(str(path), show, lt, transcript, sentences, ws, labels, hosts)


SPEAKER_SHARE = 0.02  # a label with less of the words (a clip, a cameo) is not counted as a speaker


def predicted_labels(who) -> list[str]:
    """One label per sentence for scoring: the host's side is one speaker (named or not: a
    correction may name a host the episode never named); a guest is their name, or the role
    when unnamed."""
    return ["host" if role == "host" else (sp or (role or "?")) for sp, role in zip(who.speakers, who.roles)]


def best_mapping(pred: list[str], true: list[str]) -> dict[str, str]:
    """The one-to-one mapping of predicted to true labels that gets most words right."""
    p_names = sorted(set(pred))
    t_names = sorted(set(true))
    pi = {n: i for i, n in enumerate(p_names)}
    ti = {n: i for i, n in enumerate(t_names)}
    m = np.zeros((len(p_names), len(t_names)), dtype=np.int64)
    np.add.at(m, ([pi[x] for x in pred], [ti[x] for x in true]), 1)
    best: tuple[int, tuple] = (-1, ())
    k = min(len(p_names), len(t_names))
    if k > 5:  # too many orders to try: greedy, largest overlap first
        pairs, used_r, used_c = [], set(), set()
        for flat in np.argsort(-m, axis=None):
            r, c = divmod(int(flat), m.shape[1])
            if r not in used_r and c not in used_c:
                pairs.append((r, c))
                used_r.add(r)
                used_c.add(c)
        return {p_names[r]: t_names[c] for r, c in pairs}
    if len(p_names) <= len(t_names):
        for cols in itertools.permutations(range(len(t_names)), k):
            total = int(sum(m[r, c] for r, c in zip(range(k), cols)))
            if total > best[0]:
                best = (total, tuple(zip(range(k), cols)))
    else:
        for rows in itertools.permutations(range(len(p_names)), k):
            total = int(sum(m[r, c] for r, c in zip(rows, range(k))))
            if total > best[0]:
                best = (total, tuple(zip(rows, range(k))))
    return {p_names[r]: t_names[c] for r, c in best[1]}


def sentence_outcomes(ep: Episode, who) -> list[tuple[float, int, int, str]]:
    """Per model-attributed sentence: (confidence, words right, words, role, asks "you"), under
    the best mapping."""
    pred_sentence = predicted_labels(who)
    pred = [pred_sentence[k] for k in ep.word_sentence]
    mapping = best_mapping(pred, ep.lt.word_labels)
    right = np.zeros(len(pred_sentence), np.int64)
    total = np.zeros(len(pred_sentence), np.int64)
    for w, k in enumerate(ep.word_sentence):
        total[k] += 1
        right[k] += mapping.get(pred[w]) == ep.lt.word_labels[w]
    from podtwin.speakers.calibration import asks_you

    return [
        (who.confidence[k], int(right[k]), int(total[k]), who.roles[k] or "", asks_you(ep.sentences[k].text))
        for k in range(len(pred_sentence))
        if who.origin[k] == "model" and total[k]
    ]


def reliability(outcomes, bins: int = 10, threshold: float | None = None) -> dict:
    """Expected calibration error (word-weighted) and a reliability table; with a threshold,
    the share of words at or above it that are someone else's, and how many words that keeps."""
    if not outcomes:
        return {}
    conf = np.array([o[0] for o in outcomes])
    right = np.array([o[1] for o in outcomes], dtype=float)
    words = np.array([o[2] for o in outcomes], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        w = words[sel].sum()
        mean_conf = float((conf[sel] * words[sel]).sum() / w)
        acc = float(right[sel].sum() / w)
        ece += w / words.sum() * abs(mean_conf - acc)
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "words": int(w),
                "confidence": round(mean_conf, 3),
                "accuracy": round(acc, 3),
            }
        )
    out = {"ece": round(float(ece), 4), "table": table}
    if threshold is not None:
        keep = conf >= threshold
        kept = words[keep].sum()
        out["threshold"] = threshold
        out["kept_words"] = round(float(kept / words.sum()), 4)
        out["wrong_words_kept"] = round(float(1 - right[keep].sum() / kept), 4) if kept else 0.0
    return out


def score_episode(ep: Episode, who) -> dict:
    """Figures of one episode's predicted speakers (SentenceSpeakers) against its labels."""
    true = ep.lt.word_labels
    pred_sentence = predicted_labels(who)
    pred = [pred_sentence[k] for k in ep.word_sentence]
    correct, n = mapped_accuracy(pred, true)
    matched, n_pred, n_true = change_scores(pred, true, 0)
    matched3, n_pred3, n_true3 = change_scores(pred, true, TOLERANCE)
    words = len(true)
    true_counts: dict[str, int] = {}
    for x in true:
        true_counts[x] = true_counts.get(x, 0) + 1
    host_true = sum(c for x, c in true_counts.items() if x in ep.hosts)
    host_pred = sum(1 for k in ep.word_sentence if who.roles[k] == "host")
    guest_only = max((c for x, c in true_counts.items() if x not in ep.hosts), default=0)
    return {
        "file": Path(ep.path).name,
        "words": words,
        "speakers_true": sum(1 for c in true_counts.values() if c >= SPEAKER_SHARE * words),
        "speakers_predicted": len({p for p in pred_sentence}),
        "accuracy": round(correct / n, 4) if n else 0.0,
        "baseline_all_guest": round(guest_only / words, 4) if words else 0.0,
        "change": [matched, n_pred, n_true],
        "change_pm3": [matched3, n_pred3, n_true3],
        "host_share_true": round(host_true / words, 4) if words else 0.0,
        "host_share_predicted": round(host_pred / words, 4) if words else 0.0,
    }


def _f1(m: int, p: int, t: int) -> float:
    return round(2 * m / (p + t), 4) if p + t else 0.0


def summarise(episodes: list[dict]) -> dict:
    """Per show: means over two-speaker and over three-or-more-speaker episodes."""
    out: dict = {"episodes": len(episodes), "words": sum(e["words"] for e in episodes)}
    for name, group in (
        ("two_speakers", [e for e in episodes if e["speakers_true"] == 2]),
        ("three_or_more", [e for e in episodes if e["speakers_true"] >= 3]),
        ("all", episodes),
    ):
        if not group:
            continue
        ch = np.sum([e["change"] for e in group], axis=0)
        ch3 = np.sum([e["change_pm3"] for e in group], axis=0)
        out[name] = {
            "episodes": len(group),
            "accuracy": round(float(np.mean([e["accuracy"] for e in group])), 4),
            "baseline_all_guest": round(float(np.mean([e["baseline_all_guest"] for e in group])), 4),
            "change_f1": _f1(*ch),
            "change_f1_pm3": _f1(*ch3),
            "host_share_true": round(float(np.mean([e["host_share_true"] for e in group])), 4),
            "host_share_predicted": round(float(np.mean([e["host_share_predicted"] for e in group])), 4),
            "host_share_error": round(
                float(np.mean([abs(e["host_share_true"] - e["host_share_predicted"]) for e in group])), 4
            ),
            "speakers_true": round(float(np.mean([e["speakers_true"] for e in group])), 2),
            "speakers_predicted": round(float(np.mean([e["speakers_predicted"] for e in group])), 2),
        }
    return out


def load_show(show: str, files: list[Path], unpunctuated: bool, punctuator, hosts=None) -> list[Episode]:
    hosts = show_hosts(files) if hosts is None else hosts
    eps = [load_episode(f, show, hosts, unpunctuated, punctuator) for f in files]
    return [e for e in eps if e is not None]


def attribute_show(
    episodes: list[Episode], attributor=None, adapt: bool = False, corrections=None, calibration=None
) -> list:
    """SentenceSpeakers of every episode of one show; with `adapt`, after learning the
    show's host from its own episodes (podtwin.speakers.adapt)."""
    from podtwin.speakers.adapt import adapt_show

    corrections = corrections or {}
    if adapt:
        return adapt_show(
            [(ep.transcript, ep.sentences) for ep in episodes],
            attributor,
            [corrections.get(ep.path, {}) for ep in episodes],
            calibration=calibration,
        )
    return [
        unlabelled_speakers(ep.transcript, ep.sentences, attributor, None, corrections.get(ep.path), calibration)[2]
        for ep in episodes
    ]


def evaluate_shows(
    shows: dict[str, list[Path]],
    conditions=(False, True),
    attributor=None,
    adapt: bool = False,
    hosts: dict[str, set[str]] | None = None,
    log=None,
    calibration=None,
) -> dict:
    """Per condition, per show: per-episode figures and their summaries (see summarise), and
    the confidences' reliability over all shows (with the quoting threshold's purity)."""
    from podtwin.speakers.calibration import default_calibration

    calibration = calibration or default_calibration()
    punctuator = _retry_punctuator()
    out: dict = {}
    for unp in conditions:
        key = "unpunctuated" if unp else "punctuated"
        res: dict = {}
        outcomes = []
        t0 = time.perf_counter()
        for show, files in shows.items():
            eps = load_show(show, files, unp, punctuator, (hosts or {}).get(show))
            whos = attribute_show(eps, attributor, adapt, calibration=calibration)
            per = [score_episode(ep, who) for ep, who in zip(eps, whos)]
            show_outcomes = [o for ep, who in zip(eps, whos) for o in sentence_outcomes(ep, who)]
            outcomes.extend(show_outcomes)
            res[show] = {
                "summary": summarise(per),
                "confidence": reliability(show_outcomes, threshold=calibration.threshold),
                "episodes": per,
            }
            if log:
                log(f"{key} {show}: {res[show]['summary']}")
        out[key] = {
            "shows": res,
            "confidence": reliability(outcomes, threshold=calibration.threshold),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    from podtwin.corpus import labelled_shows, split

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", default="measure", choices=("measure", "train"))
    ap.add_argument("--adapt", action="store_true")
    args = ap.parse_args(argv)
    shows = {show: split(files, args.part) for show, files in labelled_shows().items()}
    print(json.dumps(evaluate_shows(shows, adapt=args.adapt), indent=2))


if __name__ == "__main__":
    main()


def simulate_corrections(episodes: list[Episode], attributor=None, counts=(0, 10, 30), corrected: int = 0) -> dict:
    """A creator corrects the least confident turns of one episode (`corrected`), one after
    another, each to its true speaker (the turn's majority label, named as the library
    names people: the host's or a guest's name when the label is one of them); the show is
    attributed again with the corrections. Word accuracy of the show's other episodes, and
    of the corrected one, after each count of corrections."""
    from podtwin.speakers.adapt import adapt_show
    from podtwin.speakers.turns import runs

    pairs = [(ep.transcript, ep.sentences) for ep in episodes]
    base = adapt_show(pairs, attributor)
    target = episodes[corrected]
    who = base[corrected]
    turns = [t for t in runs(who.roles, who.speakers, who.confidence, who.origin) if t.origin == "model"]
    turns.sort(key=lambda t: t.confidence)
    host_name = next((sp for sp, r in zip(who.speakers, who.roles) if r == "host" and sp), None)
    guest_names = sorted({sp for sp, r in zip(who.speakers, who.roles) if r == "guest" and sp})
    out = {}
    for n in counts:
        fixes: dict[int, str] = {}
        for t in turns[:n]:
            labels = target.sentence_labels[t.first : t.last + 1]
            truth = max(set(labels), key=labels.count)
            if truth in target.hosts:
                name = host_name or truth
            else:  # the creator picks from the people the library knows
                name = next((g for g in guest_names if g.lower() == truth.lower()), None)
                if name is None:
                    name = guest_names[0] if len(guest_names) == 1 else truth
            for i in range(t.first, t.last + 1):
                fixes[i] = name
        whos = adapt_show(pairs, attributor, [fixes if k == corrected else {} for k in range(len(episodes))])
        scores = [score_episode(ep, w)["accuracy"] for ep, w in zip(episodes, whos)]
        others = [s for k, s in enumerate(scores) if k != corrected]
        out[n] = {
            "corrected_episode": scores[corrected],
            "other_episodes": round(float(np.mean(others)), 4) if others else None,
        }
    return out

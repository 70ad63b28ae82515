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

    python -m podtwin.speakers.evaluate [--unpunctuated] [--part measure|train]
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
    "evaluate_speakers",
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
    return LabelledText(str(path), "".join(parts), spans, labels, guests)


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
    p_names = sorted(set(pred))
    t_names = sorted(set(true))
    if not true:
        return 0, 0
    pi = {n: i for i, n in enumerate(p_names)}
    ti = {n: i for i, n in enumerate(t_names)}
    m = np.zeros((len(p_names), len(t_names)), dtype=np.int64)
    np.add.at(m, ([pi[x] for x in pred], [ti[x] for x in true]), 1)
    best = 0
    k = min(len(p_names), len(t_names))
    for cols in itertools.permutations(range(len(t_names)), k):
        best = max(best, int(sum(m[r, c] for r, c in zip(range(k), cols))))
    if len(p_names) > len(t_names):
        for rows in itertools.permutations(range(len(p_names)), k):
            best = max(best, int(sum(m[r, c] for r, c in zip(rows, range(k)))))
    return best, len(true)


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


def unlabelled_turns(transcript, sentences, attributor):
    """Turns as ingest makes them for an unlabelled file: intros, sponsor reads and sign-offs
    are the host's by structure; the model attributes the rest, with the host's and guests'
    names as the text itself gives them."""
    from podtwin.clean.metadata import infer_episode_info
    from podtwin.clean.segments import tag_kinds
    from podtwin.clean.sponsors import default_sponsor_tagger
    from podtwin.ingest import attribute_turns

    texts = [s.text for s in sentences]
    sponsor = default_sponsor_tagger().predict(texts, [s.paragraph_start for s in sentences])
    kinds = tag_kinds(sentences, sponsor)
    info = infer_episode_info(transcript, sentences)
    return attribute_turns(texts, [None] * len(texts), kinds, info, attributor)


def evaluate_speakers(paths, unpunctuated: bool = False, attributor=None, punctuator=None) -> dict:
    """Word accuracy and turn-change scores of the attributor and two baselines over labelled files."""
    from podtwin.speakers.attribution import default_attributor

    attributor = attributor or default_attributor()
    if punctuator is None:  # punctuated files have unpunctuated stretches too
        punctuator = _retry_punctuator()
    model, guest_only, question = _Tally(), _Tally(), _Tally()
    t_segment = t_attribute = 0.0
    n_sentences = n_words = 0
    for path in paths:
        lt = strip_labelled(path, unpunctuated)
        if not lt.word_labels:
            continue
        t0 = time.perf_counter()
        transcript, sentences = segment_plain(lt.text, punctuator)
        t1 = time.perf_counter()
        texts = [s.text for s in sentences]
        turns = unlabelled_turns(transcript, sentences, attributor)
        t2 = time.perf_counter()
        t_segment += t1 - t0
        t_attribute += t2 - t1
        n_sentences += len(sentences)
        n_words += len(lt.word_labels)
        roles = [""] * len(sentences)
        for turn in turns:
            for i in range(turn.first, turn.last + 1):
                roles[i] = turn.role
        ws = sentence_word_index(lt, transcript, sentences)
        true = lt.word_labels
        model.add([roles[s] for s in ws], true)
        guest_only.add(["guest"] * len(true), true)
        q_roles = ["host" if t.rstrip("\"'”’)] ").endswith("?") else "guest" for t in texts]
        question.add([q_roles[s] for s in ws], true)
    return {
        "files": len(paths),
        "words": n_words,
        "sentences": n_sentences,
        "unpunctuated": unpunctuated,
        "model": model.result(),
        "baseline_all_guest": guest_only.result(),
        "baseline_question_is_host": question.result(),
        "seconds": {
            "segment": round(t_segment, 2),
            "attribute": round(t_attribute, 2),
            "attribute_sentences_per_s": round(n_sentences / t_attribute) if t_attribute else None,
        },
    }


def main(argv: list[str] | None = None) -> None:
    from podtwin.corpus import lenny_files, split

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unpunctuated", action="store_true", help="also strip all punctuation and casing")
    ap.add_argument("--part", default="measure", choices=("measure", "train"))
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (quick looks)")
    args = ap.parse_args(argv)
    files = split(lenny_files(), args.part)
    if args.limit:
        files = files[: args.limit]
    print(json.dumps(evaluate_speakers(files, unpunctuated=args.unpunctuated), indent=2))


if __name__ == "__main__":
    main()

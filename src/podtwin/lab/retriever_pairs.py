"""Question -> answer pairs from labelled shows: a host's question and the guest's answer turn.

Every labelled show holds them: a host turn that ends in a question, followed by a guest
turn of at least MIN_ANSWER_WORDS. The question is the host's last question sentence(s);
the answer is cut as the library cuts passages (a window of about TARGET_WORDS at sentence
ends, from the start of the turn), so training sees what search will see. Hard negatives
are answer windows of the same episode's other guest turns: same voice, same topic area,
wrong moment.

Only the train split of each show is read (podtwin.corpus.split), never lex-labelled, and
never a file that a measure question of eval/ points at.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from podtwin.corpus import labelled_shows, show_group, split

__all__ = ["Pair", "episode_pairs", "measure_files", "training_pairs", "training_shows"]

MIN_QUESTION_WORDS = 5
MIN_ANSWER_WORDS = 25
TARGET_WORDS = 60  # search/passages.py cuts turns into windows of about this many words
MAX_WORDS = 100
MAX_QUESTION_WORDS = 60
# Shows never trained on: the measure of transfer (host questions, `podtwin tune`).
LEFT_OUT = ("stephan-livera-podcast",)
_SENTENCE = re.compile(r"[^.?!]+[.?!]+[\"')\]]*|[^.?!]+$")
_NOT_KEPT = re.compile(r"[^\w'\s]+")


@dataclass(frozen=True)
class Pair:
    question: str
    answer: str  # the first window of the guest's answer turn
    negatives: tuple[str, ...]  # windows of other guest turns of the same episode
    show: str
    file: str


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def window(text: str, start: int = 0) -> str:
    """About TARGET_WORDS words of whole sentences from sentence `start` (at most MAX_WORDS)."""
    out: list[str] = []
    words = 0
    for s in sentences(text)[start:]:
        n = len(s.split())
        if out and words + n > MAX_WORDS:
            break
        out.append(s)
        words += n
        if words >= TARGET_WORDS:
            break
    text = " ".join(out)
    return " ".join(text.split()[:MAX_WORDS])


def question_of(turn: str) -> str | None:
    """The host turn's last question (with the sentence before it when it is short)."""
    parts = sentences(turn)
    asked = [i for i, s in enumerate(parts) if s.endswith("?") and len(s.split()) >= 3]
    if not asked:
        return None
    i = asked[-1]
    q = parts[i]
    if len(q.split()) < 12 and i > 0:
        q = parts[i - 1] + " " + q
    words = q.split()
    if len(words) < MIN_QUESTION_WORDS:
        return None
    return " ".join(words[-MAX_QUESTION_WORDS:])


def episode_pairs(path: Path, hosts: set[str], show: str, max_negatives: int = 3, rng=None) -> list[Pair]:
    from podtwin.lab.evaluate_purity import true_turns
    from podtwin.lab.evaluate_speakers import strip_labelled

    rng = rng or random.Random(0)
    turns = true_turns(strip_labelled(path))
    answers = [i for i, t in enumerate(turns) if t.speaker not in hosts and len(t.text.split()) >= MIN_ANSWER_WORDS]
    out = []
    for i in answers:
        if i == 0 or turns[i - 1].speaker not in hosts:
            continue
        q = question_of(turns[i - 1].text)
        if q is None:
            continue
        others = [j for j in answers if abs(j - i) > 2]
        negatives = tuple(window(turns[j].text) for j in rng.sample(others, min(max_negatives, len(others))))
        out.append(Pair(q, window(turns[i].text), negatives, show, str(path)))
    return out


def measure_files(root: Path | None = None) -> set[str]:
    """File names that a measure question of eval/search or eval/twin points at."""
    root = root or Path(__file__).resolve().parents[3] / "eval"
    names = set()
    for f in root.glob("*/*.jsonl"):
        for line in f.read_text().splitlines():
            if line.strip():
                d = json.loads(line)
                if d.get("split", "measure") == "measure" and d.get("file"):
                    names.add(Path(d["file"]).name)
    return names


def training_shows(left_out: tuple[str, ...] = LEFT_OUT) -> dict[str, list[Path]]:
    """The train split of every labelled show but the left-out groups, less measured files."""
    skip = measure_files()
    groups = {show_group(s) for s in left_out}
    return {
        show: [f for f in split(files, "train") if f.name not in skip]
        for show, files in labelled_shows().items()
        if show_group(show) not in groups
    }


def training_pairs(shows: dict[str, list[Path]], per_show: int | None = None, seed: int = 0) -> list[Pair]:
    """Pairs of every file of the shows; at most per_show of each show (sampled), so one big
    show does not drown the others."""
    from podtwin.lab.evaluate_speakers import show_hosts

    rng = random.Random(seed)
    out: list[Pair] = []
    for show, files in shows.items():
        hosts = show_hosts(labelled_shows().get(show, files))
        pairs = [p for f in files for p in episode_pairs(f, hosts, show, rng=rng)]
        rng.shuffle(pairs)
        out.extend(pairs[:per_show] if per_show else pairs)
    rng.shuffle(out)
    return out


def unpunctuated(text: str) -> str:
    """As an unpunctuated ASR transcript gives it: lower case, no punctuation."""
    return " ".join(_NOT_KEPT.sub(" ", text.lower()).split())

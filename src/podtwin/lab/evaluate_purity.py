"""True purity: what a guest's twin quotes, checked against who really said it.

`podtwin eval purity` takes labelled episodes (a show's folder, lex-labelled, ...), strips
their labels (and timestamps) to plain text, ingests them unlabelled into a fresh library
(so speakers come from the model and the show's own adaptation, as for any unlabelled
show), then asks each guest's twin QUESTIONS_PER_EPISODE of the host's real questions
from that episode (host turns that end in "?", spread over the episode). Every word the
twin quotes is located in the labelled truth by its character offsets:

* purity: the share of quoted words that the guest really said (target at least 0.99);
* hit rate: the share of answers that cite the guest's real answer, the guest turn that
  followed the question (target at least 0.5);
* abstentions and answers that withheld material for uncertain speakers are counted too.

The host's questions are asked as they were said, so a twin that quotes the host's own
question back as the guest's words is caught here.

A guest the library does not know by the label's name is asked as the episode's guest (the
person the library gave the guest role); an episode that never says its guest's name, so
that its guest turns have no speaker, has them named first, as its creator would
(`name_guest`; who said what is left as the model found it).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QUESTIONS_PER_EPISODE = 12
MIN_QUESTION_WORDS = 6
MAX_QUESTION_CHARS = 900
_WORD = re.compile(r"\S+")


@dataclass
class Turn:
    speaker: str
    start: int  # char offsets in the stripped text
    end: int
    text: str


def true_turns(lt) -> list[Turn]:
    """The labelled text's turns (runs of one label), with offsets in lt.text."""
    turns: list[Turn] = []
    for (a, b), label in zip(lt.word_spans, lt.word_labels):
        if turns and turns[-1].speaker == label:
            turns[-1].end = b
        else:
            turns.append(Turn(label, a, b, ""))
    for t in turns:
        t.text = lt.text[t.start : t.end]
    return turns


def host_questions(turns: list[Turn], hosts: set[str], k: int = QUESTIONS_PER_EPISODE) -> list[tuple[str, Turn]]:
    """(question, the guest turn that answers it): the last question of host turns that a
    guest answers, k of them spread evenly over the episode."""
    found = []
    for i, t in enumerate(turns[:-1]):
        nxt = turns[i + 1]
        if t.speaker not in hosts or nxt.speaker in hosts or len(nxt.text.split()) < 20:
            continue
        qs = [q.strip() for q in re.findall(r"[^.?!]*\?", t.text)]
        qs = [q for q in qs if len(q.split()) >= MIN_QUESTION_WORDS]
        if qs:
            found.append((qs[-1][-MAX_QUESTION_CHARS:].strip(), nxt))
    if len(found) <= k:
        return found
    pick = np.linspace(0, len(found) - 1, k).round().astype(int)
    return [found[i] for i in pick]


def evaluate_purity(shows: dict[str, list[Path]], unpunctuated: bool = False, log=None) -> dict:
    """Per show and overall: purity of quoted words, hit rate, abstentions."""
    from podtwin.ingest import ingest
    from podtwin.lab.evaluate_speakers import show_hosts, strip_labelled
    from podtwin.search.embed import default_embedder
    from podtwin.search.index import embed_missing
    from podtwin.store.library import Library
    from podtwin.store.people import PersonNotFound, person_id
    from podtwin.twin.answer import TwinError, ask

    embedder = default_embedder()
    result: dict = {"shows": {}}
    totals = np.zeros(6)
    with tempfile.TemporaryDirectory() as tmp:
        for show, files in shows.items():
            hosts = show_hosts(files)
            folder = Path(tmp) / show
            folder.mkdir()
            stripped = {}
            for f in files:
                lt = strip_labelled(f, unpunctuated)
                if not lt.word_labels:
                    continue
                target = folder / (f.stem + ".txt")
                target.write_text(lt.text)
                stripped[target.name] = lt
            library = Library(Path(tmp) / f"{show}.db")
            report = ingest(library, [folder])
            embed_missing(library)
            counts = np.zeros(6)  # quoted words, guest's words, answers, hits, abstained, withheld answers
            skipped = 0
            for name, lt in stripped.items():
                for question, answer_turn in host_questions(true_turns(lt), hosts):
                    try:
                        _, person = person_id(library.db, answer_turn.speaker)
                    except PersonNotFound:  # the library does not know this guest by name
                        person = episode_guest(library.db, name)
                        if person is None and len(set(lt.word_labels) - hosts) == 1:
                            person = name_guest(library, name, answer_turn.speaker)
                        if person is None:
                            skipped += 1
                            continue
                    try:
                        reply = ask(library, person, question, embedder=embedder)
                    except TwinError:
                        skipped += 1
                        continue
                    counts[2] += 1
                    counts[4] += reply.abstained
                    counts[5] += reply.withheld_sentences > 0
                    hit = False
                    for c in reply.citations:
                        if Path(c.source_file).name != name:
                            continue
                        for (a, b), label in zip(lt.word_spans, lt.word_labels):
                            if a >= c.start_char and b <= c.end_char:
                                counts[0] += 1
                                counts[1] += label == answer_turn.speaker
                        if c.start_char < answer_turn.end and c.end_char > answer_turn.start:
                            hit = True
                    counts[3] += hit
            totals += counts
            result["shows"][show] = _figures(counts) | {
                "skipped_questions": skipped,
                "episodes": len(report.episode_ids),
            }
            if log:
                log(f"{show}: {result['shows'][show]}")
            library.close()
    result["all"] = _figures(totals)
    return result


# sentences read from the file of this name (?1: "/" + the name), wherever it was ingested from
_OF_FILE = "source_id IN (SELECT id FROM sources WHERE substr(path, -length(?1)) = ?1)"


def episode_guest(db, file_name: str) -> str | None:
    """The guest a user would pick for this file's episode when the library does not know the
    true guest's name (an episode that never says it): the person the library gives the
    guest role and most of the episode's words; None when it found no guest."""
    row = db.execute(
        f"""SELECT speaker, sum(length(text)) AS n FROM sentences
            WHERE {_OF_FILE} AND role = 'guest' AND speaker IS NOT NULL
            GROUP BY speaker ORDER BY n DESC LIMIT 1""",
        ["/" + file_name],
    ).fetchone()
    return row[0] if row else None


def name_guest(library, file_name: str, name: str) -> str | None:
    """Name the unnamed guest of this file's episode, as its creator would after listening (an
    episode that never says its guest's name has guest-role turns with no speaker). Who said
    what stays as the model found it. Returns the name, or None when the episode has no
    unnamed guest turns."""
    import json

    from podtwin.store.people import rebuild_people

    with library.atomic() as db:
        row = db.execute(
            f"SELECT episode_id FROM sentences WHERE {_OF_FILE} AND role = 'guest' AND speaker IS NULL LIMIT 1",
            ["/" + file_name],
        ).fetchone()
        if row is None:
            return None
        episode = row[0]
        db.execute("UPDATE episodes SET guests = ? WHERE id = ?", [json.dumps([name]), episode])
        for table in ("sentences", "turns"):
            db.execute(
                f"UPDATE {table} SET speaker = ? WHERE episode_id = ? AND role = 'guest' AND speaker IS NULL",
                [name, episode],
            )
        rebuild_people(db)
    return name


def _figures(c: np.ndarray) -> dict:
    return {
        "questions": int(c[2]),
        "quoted_words": int(c[0]),
        "purity": round(float(c[1] / c[0]), 4) if c[0] else None,
        "hit_rate": round(float(c[3] / c[2]), 4) if c[2] else None,
        "abstained": round(float(c[4] / c[2]), 4) if c[2] else None,
        "withheld_some": round(float(c[5] / c[2]), 4) if c[2] else None,
    }

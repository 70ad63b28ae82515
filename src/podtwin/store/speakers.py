"""Who said what, in the library: a show's episodes attributed together, the creator's
speakers review, and corrections that spread.

An unlabelled episode's speakers are first attributed one file at a time (ingest). Then,
per show, `reattribute_show` learns the show's host from all of its unlabelled episodes
and the corrections a creator made (podtwin.speakers.adapt), and rewrites every such
episode's speakers, turns and confidences. Labelled episodes are left as their labels say.

A correction is stored by sentence range (`podtwin speakers set` and the review both write
it), so it still names the same words after turns are renumbered or the file re-ingested.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podtwin.speakers.metadata import EpisodeInfo

if TYPE_CHECKING:
    from podtwin.speakers.attribution import SpeakerAttributor

__all__ = [
    "ReviewTurn",
    "set_turn_speaker",
    "episode_corrections",
    "reattribute_show",
    "review_turns",
    "unlabelled_episodes",
]


@dataclass
class ReviewTurn:
    idx: int
    first_sentence: int
    last_sentence: int
    role: str | None
    speaker: str | None
    confidence: float
    origin: str
    text: str
    before: dict | None  # the turn before: speaker, role, text (its end)
    after: dict | None  # the turn after: speaker, role, text (its start)


def unlabelled_episodes(db: sqlite3.Connection, show_id: int | None) -> list[int]:
    """Episodes of a show (None: episodes of no show) whose speakers come from the model."""
    rows = db.execute(
        """SELECT e.id FROM episodes e WHERE e.show_id IS ?
           AND NOT EXISTS (SELECT 1 FROM turns t WHERE t.episode_id = e.id AND t.origin = 'label')
           ORDER BY e.id""",
        [show_id],
    ).fetchall()
    return [r[0] for r in rows]


def episode_corrections(db: sqlite3.Connection, episode_id: int) -> dict[int, str]:
    """sentence index -> person, from the corrections a creator made to this episode."""
    hashes = {r[0] for r in db.execute("SELECT content_hash FROM sources WHERE episode_id = ?", [episode_id])}
    out: dict[int, str] = {}
    for (args,) in db.execute("SELECT args FROM corrections WHERE action = 'set_speaker' ORDER BY id"):
        a = json.loads(args)
        if a.get("source_hash") in hashes and "first_sentence" in a:
            for i in range(int(a["first_sentence"]), int(a["last_sentence"]) + 1):
                out[i] = a["person"]
    return out


def reattribute_show(
    db: sqlite3.Connection, show_id: int | None, attributor: SpeakerAttributor | None = None
) -> tuple[list[int], list[int]]:
    """Attribute every unlabelled episode of a show again, together, with the creator's
    corrections; rewrite their speakers and turns. Returns the episodes rewritten, and those
    whose turns moved: their passages follow turns, so the caller rebuilds them
    (search.index.index_episode, a floor above the store)."""
    from podtwin.speakers.adapt import adapt_prepared
    from podtwin.speakers.turns import runs

    episode_ids = unlabelled_episodes(db, show_id)
    if not episode_ids:
        return [], []
    prepared = []
    corrections = []
    for episode_id in episode_ids:
        e = db.execute("SELECT host, guests FROM episodes WHERE id = ?", [episode_id]).fetchone()
        rows = db.execute("SELECT text, kind FROM sentences WHERE episode_id = ? ORDER BY idx", [episode_id]).fetchall()
        info = EpisodeInfo(host=e["host"], guests=json.loads(e["guests"]))
        prepared.append(([r["text"] for r in rows], [r["kind"] for r in rows], info))
        corrections.append(episode_corrections(db, episode_id))
    whos = adapt_prepared(prepared, attributor, corrections)
    changed, moved = [], []
    for episode_id, who in zip(episode_ids, whos):
        turns = runs(who.roles, who.speakers, who.confidence, who.origin)
        old = db.execute(
            "SELECT first_sentence, last_sentence FROM turns WHERE episode_id = ? ORDER BY idx", [episode_id]
        ).fetchall()
        bounds_moved = [(r[0], r[1]) for r in old] != [(t.first, t.last) for t in turns]
        turn_of = {i: k for k, t in enumerate(turns) for i in range(t.first, t.last + 1)}
        db.executemany(
            """UPDATE sentences SET speaker = ?, role = ?, speaker_confidence = ?, turn = ?
               WHERE episode_id = ? AND idx = ?""",
            [
                (who.speakers[i], who.roles[i], who.confidence[i], turn_of[i], episode_id, i)
                for i in range(len(who.roles))
            ],
        )
        db.execute("DELETE FROM turns WHERE episode_id = ?", [episode_id])
        db.executemany(
            """INSERT INTO turns (episode_id, idx, first_sentence, last_sentence, role, speaker, confidence, origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [(episode_id, k, t.first, t.last, t.role, t.speaker, t.confidence, t.origin) for k, t in enumerate(turns)],
        )
        if bounds_moved:
            moved.append(episode_id)
        changed.append(episode_id)
    return changed, moved


def review_turns(db: sqlite3.Connection, episode_id: int, limit: int | None = None) -> list[ReviewTurn]:
    """The episode's turns, least confident first (turns from labels and structure last),
    each with the end of the turn before and the start of the turn after."""
    turns = db.execute(
        """SELECT idx, first_sentence, last_sentence, role, speaker, confidence, origin
           FROM turns WHERE episode_id = ? ORDER BY idx""",
        [episode_id],
    ).fetchall()
    texts = [r[0] for r in db.execute("SELECT text FROM sentences WHERE episode_id = ? ORDER BY idx", [episode_id])]

    def text_of(t, part: str = "all", words: int = 60) -> str:
        body = " ".join(texts[t["first_sentence"] : t["last_sentence"] + 1])
        ws = body.split()
        if part == "end" and len(ws) > words:
            return "… " + " ".join(ws[-words:])
        if part == "start" and len(ws) > words:
            return " ".join(ws[:words]) + " …"
        return body

    def neighbour(k: int, part: str) -> dict | None:
        if not 0 <= k < len(turns):
            return None
        t = turns[k]
        return {"idx": t["idx"], "speaker": t["speaker"], "role": t["role"], "text": text_of(t, part)}

    order = sorted(range(len(turns)), key=lambda k: (turns[k]["origin"] != "model", turns[k]["confidence"], k))
    out = []
    for k in order[: limit or len(order)]:
        t = turns[k]
        out.append(
            ReviewTurn(
                t["idx"],
                t["first_sentence"],
                t["last_sentence"],
                t["role"],
                t["speaker"],
                float(t["confidence"]),
                t["origin"],
                text_of(t),
                neighbour(k - 1, "end"),
                neighbour(k + 1, "start"),
            )
        )
    return out


def set_turn_speaker(
    db: sqlite3.Connection, episode_id: int, turn: int, person: str, attributor: SpeakerAttributor | None = None
) -> dict:
    """A creator says who spoke one turn: stored as a correction (kept across re-ingest), then
    the show's unlabelled episodes are attributed again with it. Raises PersonNotFound (with
    the reason) for an unknown person, episode or turn; the caller's transaction then
    changes nothing. Turns are renumbered by the new attribution: `turn` in the result is
    the index the caller gave."""
    from podtwin.errors import PersonNotFound
    from podtwin.store.people import apply_corrections, person_id, record_correction

    row = db.execute(
        "SELECT first_sentence, last_sentence FROM turns WHERE episode_id = ? AND idx = ?", [episode_id, turn]
    ).fetchone()
    if row is None:
        n = db.execute("SELECT count(*) FROM turns WHERE episode_id = ?", [episode_id]).fetchone()[0]
        if not db.execute("SELECT 1 FROM episodes WHERE id = ?", [episode_id]).fetchone():
            raise PersonNotFound(f"no episode {episode_id}")
        raise PersonNotFound(f"episode {episode_id} has {n} turns (0..{n - 1}); no turn {turn}")
    _, name = person_id(db, person)
    source = db.execute(
        "SELECT content_hash FROM sources WHERE episode_id = ? ORDER BY id LIMIT 1", [episode_id]
    ).fetchone()[0]
    args = {"source_hash": source, "turn": turn, "first_sentence": row[0], "last_sentence": row[1], "person": name}
    record_correction(db, "set_speaker", args)
    show_id = db.execute("SELECT show_id FROM episodes WHERE id = ?", [episode_id]).fetchone()[0]
    changed, moved = reattribute_show(db, show_id, attributor)
    apply_corrections(db)
    return {"episode_id": episode_id, "turn": turn, "person": name, "reattributed": changed, "moved": moved}

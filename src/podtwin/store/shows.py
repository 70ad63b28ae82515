"""Shows and their hosts, learned across a library's episodes.

One episode may say "This is Alex Friedman podcast", another carries a header
"Lex Fridman Podcast": spellings that sound alike are one show, named by the most
trusted spelling (a header or front matter over speech), and its host is the name
in that title, completed from speaker labels ("Lenny" -> "Lenny Rachitsky").
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from difflib import SequenceMatcher

from podtwin.speakers.metadata import host_from_show
from podtwin.speakers.names import name_key

SAME_SHOW = 0.8
_AUTHORITY = {"front matter": 2, "header": 2, "spoken": 1}


def show_key(name: str) -> str:
    return name_key(host_from_show(name) or name)


def similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def reconcile_shows(db: sqlite3.Connection) -> None:
    """Recompute shows from episodes' spoken show names; set each episode's show and host."""
    episodes = db.execute("SELECT id, spoken_show, host, evidence FROM episodes").fetchall()
    votes: Counter[tuple[str, int]] = Counter()
    for e in episodes:
        if e["spoken_show"]:
            votes[(e["spoken_show"], _AUTHORITY.get(json.loads(e["evidence"]).get("show", ""), 0))] += 1
    # Most trusted, then most frequent spelling first: it names the cluster it founds.
    ranked = sorted(votes.items(), key=lambda kv: (-kv[0][1], -kv[1], kv[0][0]))
    clusters: list[tuple[str, str]] = []  # (canonical name, key)
    canonical_of: dict[str, str] = {}
    for (name, _), _count in ranked:
        if name in canonical_of:
            continue
        key = show_key(name)
        match = next((c for c, k in clusters if similar(key, k) >= SAME_SHOW), None)
        if match is None:
            clusters.append((name, key))
            match = name
        canonical_of[name] = match

    show_ids: dict[str, int] = {}
    for canonical, _ in clusters:
        members = [e for e in episodes if e["spoken_show"] and canonical_of[e["spoken_show"]] == canonical]
        host = _show_host(canonical, members)
        db.execute(
            "INSERT INTO shows (name, host) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET host = excluded.host",
            [canonical, host],
        )
        show_id = db.execute("SELECT id FROM shows WHERE name = ?", [canonical]).fetchone()[0]
        show_ids[canonical] = show_id
        for e in members:
            evidence = json.loads(e["evidence"])
            episode_host = e["host"]
            if host and (
                evidence.get("host") == "show name"
                or not episode_host
                or _completes(episode_host, host)
                or any(_same_person(label, host) for label in _speakers(db, e["id"]))
            ):
                episode_host = host
            db.execute("UPDATE episodes SET show_id = ?, host = ? WHERE id = ?", [show_id, episode_host, e["id"]])
    db.execute("UPDATE episodes SET show_id = NULL WHERE spoken_show IS NULL")
    db.execute("DELETE FROM shows WHERE id NOT IN (SELECT show_id FROM episodes WHERE show_id IS NOT NULL)")


def _speakers(db: sqlite3.Connection, episode_id: int) -> list[str]:
    rows = db.execute("SELECT DISTINCT speaker FROM sentences WHERE episode_id = ?", [episode_id])
    return [r[0] for r in rows if r[0]]


def _same_person(label: str, host: str) -> bool:
    """The show's host speaks in this episode under this label ('Lenny', 'Lenny Rachitsky')."""
    return name_key(label) == name_key(host) or _completes(label, host)


def _completes(short: str, full: str) -> bool:
    """'Lenny' is completed by 'Lenny Rachitsky'."""
    a, b = name_key(short), name_key(full)
    return a != b and len(a) >= 3 and b.startswith(a)


def _show_host(show: str, members: list[sqlite3.Row]) -> str | None:
    from_title = host_from_show(show)
    if not from_title:
        return None
    key = name_key(from_title)
    labelled = Counter(
        e["host"]
        for e in members
        if e["host"]
        and json.loads(e["evidence"]).get("host") == "speaker labels"
        and name_key(e["host"]).startswith(key)
    )
    if labelled:
        # The fullest spelling the labels use ("Lenny Rachitsky" over "Lenny").
        return max(labelled, key=lambda h: (len(h.split()), labelled[h]))
    return from_title


def name_hosts(db: sqlite3.Connection) -> None:
    """Host turns carry the episode host's reconciled name ('Lenny' and 'Alex Friedman'
    become the show's 'Lenny Rachitsky' and 'Lex Fridman'); corrections are left alone."""
    for table, key in (("turns", "idx"), ("sentences", "turn")):
        db.execute(
            f"""
            UPDATE {table} SET speaker = (SELECT host FROM episodes e WHERE e.id = {table}.episode_id)
            WHERE role = 'host'
              AND speaker IS NOT (SELECT host FROM episodes e WHERE e.id = {table}.episode_id)
              AND NOT EXISTS (SELECT 1 FROM turns t WHERE t.episode_id = {table}.episode_id
                              AND t.idx = {table}.{key} AND t.origin = 'correction')
            """
        )

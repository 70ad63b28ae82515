"""The library's people: every host, guest and labelled speaker, under every spelling.

Rebuilt after each ingest from what the episodes establish (metadata names first, then
speaker labels, then names heard in speech), then the corrections people made by hand
are re-applied in order, so re-ingesting never loses them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

from podtwin.errors import PersonNotFound
from podtwin.speakers.names import name_key, slug
from podtwin.speakers.people import AKA, resolve_aka, resolve_name, word_similarity

# Across episodes only near-identical names are one person ("Jason Fried" is not "Jason Feifer").
SAME_PERSON_ACROSS_EPISODES = 0.9


def rebuild_people(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM aliases")
    db.execute("DELETE FROM people")
    people: list[str] = []
    ids: dict[str, int] = {}

    def person(name: str) -> str:
        match = _global_match(name, people)
        if match:
            return match
        people.append(name)
        ids[name] = db.execute("INSERT INTO people (name) VALUES (?)", [name]).lastrowid
        return name

    def alias(name: str, spelling: str, episode_id: int | None, origin: str) -> None:
        db.execute("INSERT INTO aliases VALUES (?, ?, ?, ?)", [ids[name], spelling, episode_id, origin])

    episodes = db.execute("SELECT id, host, guests, mentions FROM episodes ORDER BY id").fetchall()
    for e in episodes:
        cast: list[str] = []
        for name in [e["host"], *json.loads(e["guests"])]:
            if name:
                canonical = person(name)
                cast.append(canonical)
                alias(canonical, name, e["id"], "metadata")
        labels = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT speaker FROM turns WHERE episode_id = ? AND origin = 'label' AND speaker IS NOT NULL",
                [e["id"]],
            )
        ]
        for label in labels:
            canonical = resolve_name(label, cast) or person(label)
            alias(canonical, label, e["id"], "label")
            if canonical != label:
                _rename_speaker(db, label, canonical, e["id"])
        for mention in json.loads(e["mentions"]):
            if AKA in mention:  # "Michael Paulson aka ThePrimeagen": another name of one of the cast
                named = resolve_aka(mention, cast)
                if named:
                    alias(*named, e["id"], "speech")
                continue
            canonical = resolve_name(mention, cast)
            if canonical:
                alias(canonical, mention, e["id"], "speech")
    apply_corrections(db)


def _global_match(name: str, people: list[str]) -> str | None:
    words = name.split()
    best = None
    for p in people:
        if name_key(p) == name_key(name):
            return p
        pw = p.split()
        if len(words) >= 2 and len(pw) >= 2:
            if min(word_similarity(words[0], pw[0]), word_similarity(words[-1], pw[-1])) >= SAME_PERSON_ACROSS_EPISODES:
                best = p
    return best


def _rename_speaker(db: sqlite3.Connection, old: str, new: str, episode_id: int | None = None) -> None:
    scope, args = ("AND episode_id = ?", [episode_id]) if episode_id is not None else ("", [])
    for table in ("sentences", "turns"):
        db.execute(f"UPDATE {table} SET speaker = ? WHERE speaker = ? {scope}", [new, old, *args])


def person_id(db: sqlite3.Connection, name: str) -> tuple[int, str]:
    """A person by name or alias (exact, case-insensitive, then letters only), slug, then by
    spelling and sound."""
    row = db.execute("SELECT id, name FROM people WHERE lower(name) = lower(?)", [name]).fetchone()
    if row is None:
        row = db.execute(
            "SELECT p.id, p.name FROM aliases a JOIN people p ON p.id = a.person_id WHERE lower(a.alias) = lower(?)",
            [name],
        ).fetchone()
    if row is None:  # spaced or cased otherwise: "ThePrimeagen" for "the primeagen"
        row = _same_letters(db, name)
    if row is None:  # a slug, as in URLs and model names ("mark-zuckerberg")
        row = next(((i, n) for i, n in db.execute("SELECT id, name FROM people") if slug(n) == name.strip()), None)
    if row is None:
        names = [r[0] for r in db.execute("SELECT name FROM people")]
        close = resolve_name(name, names)
        if close:
            row = db.execute("SELECT id, name FROM people WHERE name = ?", [close]).fetchone()
    if row is None:
        raise PersonNotFound(f"no person called {name!r}; see `podtwin people`")
    return row[0], row[1]


def _same_letters(db: sqlite3.Connection, name: str) -> tuple[int, str] | None:
    """The person whose name or an alias has the same letters as `name` (see name_key)."""
    key = name_key(name)
    if not key:
        return None
    spellings = db.execute(
        "SELECT id, name, name FROM people UNION ALL "
        "SELECT p.id, p.name, a.alias FROM aliases a JOIN people p ON p.id = a.person_id"
    )
    return next(((i, n) for i, n, spelling in spellings if name_key(spelling) == key), None)


def record_correction(db: sqlite3.Connection, action: str, args: dict) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    db.execute("INSERT INTO corrections (action, args, created_at) VALUES (?, ?, ?)", [action, json.dumps(args), now])
    apply_corrections(db)


def apply_corrections(db: sqlite3.Connection) -> None:
    """Replay every correction. Merges and renames make one name mapping (A -> B -> C), so a
    chain still lands on its last name after a rebuild has already rewritten the data."""
    rows = [
        (action, json.loads(args)) for action, args in db.execute("SELECT action, args FROM corrections ORDER BY id")
    ]
    mapping: dict[str, str] = {}
    for action, args in rows:
        if action == "merge":
            mapping[args["from"]] = args["into"]
        elif action == "rename":
            mapping[args["name"]] = args["to"]

    def final(name: str) -> str:
        seen = {name}
        while name in mapping and mapping[name] not in seen:
            name = mapping[name]
            seen.add(name)
        return name

    for old in mapping:
        new = final(old)
        if new == old:
            continue
        old_row = db.execute("SELECT id FROM people WHERE name = ?", [old]).fetchone()
        new_row = db.execute("SELECT id FROM people WHERE name = ?", [new]).fetchone()
        if old_row and new_row:
            _merge(db, old, new)
        elif old_row:
            _rename(db, old, new)
        elif new_row:
            _add_alias(db, new_row[0], old)
    for action, args in rows:
        if action == "set_speaker":
            _set_speaker(db, {**args, "person": final(args["person"])})


def _add_alias(db, person: int, alias: str) -> None:
    if not db.execute("SELECT 1 FROM aliases WHERE person_id = ? AND alias = ?", [person, alias]).fetchone():
        db.execute("INSERT INTO aliases VALUES (?, ?, NULL, 'correction')", [person, alias])


def _merge(db, source: str, target: str) -> None:
    row_s = db.execute("SELECT id FROM people WHERE name = ?", [source]).fetchone()
    row_t = db.execute("SELECT id FROM people WHERE name = ?", [target]).fetchone()
    db.execute("UPDATE aliases SET person_id = ? WHERE person_id = ?", [row_t[0], row_s[0]])
    _add_alias(db, row_t[0], source)
    db.execute("DELETE FROM people WHERE id = ?", [row_s[0]])
    _rename_everywhere(db, source, target)


def _rename(db, old: str, new: str) -> None:
    row = db.execute("SELECT id FROM people WHERE name = ?", [old]).fetchone()
    db.execute("UPDATE people SET name = ? WHERE id = ?", [new, row[0]])
    _add_alias(db, row[0], old)
    _rename_everywhere(db, old, new)


def _rename_everywhere(db, old: str, new: str) -> None:
    _rename_speaker(db, old, new)
    # a persona follows its person (the target's own persona wins in a merge)
    db.execute("UPDATE OR IGNORE personas SET person = ? WHERE person = ?", [new, old])
    db.execute("DELETE FROM personas WHERE person = ?", [old])
    # so does a webhook, and the events not yet sent
    db.execute("UPDATE OR IGNORE webhooks SET person = ? WHERE person = ?", [new, old])
    db.execute("DELETE FROM webhooks WHERE person = ?", [old])
    db.execute("UPDATE events SET person = ? WHERE person = ? AND delivered_at IS NULL", [new, old])
    # and the creator's corrections of its answers, with their audit
    for table in ("answer_corrections", "answer_marks", "creator_changes"):
        db.execute(f"UPDATE {table} SET person = ? WHERE person = ?", [new, old])
    db.execute("UPDATE episodes SET host = ? WHERE host = ?", [new, old])
    for episode_id, guests in db.execute("SELECT id, guests FROM episodes").fetchall():
        names = json.loads(guests)
        if old in names:
            names = list(dict.fromkeys(new if g == old else g for g in names))
            db.execute("UPDATE episodes SET guests = ? WHERE id = ?", [json.dumps(names), episode_id])


def _set_speaker(db, args: dict) -> None:
    row = db.execute("SELECT episode_id FROM sources WHERE content_hash = ?", [args["source_hash"]]).fetchone()
    if row is None:
        return  # that transcript is no longer in the library
    episode_id = row[0]
    if "first_sentence" in args:  # stored by sentence range: survives renumbered turns
        first, last = int(args["first_sentence"]), int(args["last_sentence"])
    else:  # corrections written before ranges were kept name a turn
        turn = db.execute(
            "SELECT first_sentence, last_sentence FROM turns WHERE episode_id = ? AND idx = ?",
            [episode_id, args["turn"]],
        ).fetchone()
        if turn is None:
            return
        first, last = turn
    host = db.execute("SELECT host FROM episodes WHERE id = ?", [episode_id]).fetchone()[0]
    role = "host" if args["person"] == host else "guest"
    db.execute(
        """UPDATE turns SET speaker = ?, role = ?, confidence = 1.0, origin = 'correction'
           WHERE episode_id = ? AND first_sentence >= ? AND last_sentence <= ?""",
        [args["person"], role, episode_id, first, last],
    )
    db.execute(
        """UPDATE sentences SET speaker = ?, role = ?, speaker_confidence = 1.0
           WHERE episode_id = ? AND idx BETWEEN ? AND ?""",
        [args["person"], role, episode_id, first, last],
    )


def people_summary(db: sqlite3.Connection) -> list[dict]:
    """Each person with aliases, episodes, words spoken and role per episode."""
    out = []
    for p in db.execute("SELECT id, name FROM people ORDER BY name").fetchall():
        aliases = sorted(
            {r[0] for r in db.execute("SELECT alias FROM aliases WHERE person_id = ?", [p["id"]])} - {p["name"]}
        )
        roles = []
        for r in db.execute(
            """SELECT e.id, e.title, e.number, e.host,
                      (SELECT coalesce(sum(length(text) - length(replace(text, ' ', '')) + 1), 0)
                       FROM sentences s WHERE s.episode_id = e.id AND s.speaker = ?) AS words
               FROM episodes e
               WHERE e.host = ? OR EXISTS (SELECT 1 FROM json_each(e.guests) WHERE value = ?)
                  OR EXISTS (SELECT 1 FROM turns t WHERE t.episode_id = e.id AND t.speaker = ?)
               ORDER BY e.id""",
            [p["name"]] * 4,
        ):
            roles.append(
                {
                    "episode_id": r["id"],
                    "title": r["title"],
                    "number": r["number"],
                    "role": "host" if r["host"] == p["name"] else "guest",
                    "words": r["words"],
                }
            )
        out.append(
            {
                "id": p["id"],
                "name": p["name"],
                "aliases": aliases,
                "episodes": len(roles),
                "words": sum(r["words"] for r in roles),
                "appearances": roles,
            }
        )
    return out


def all_names(db: sqlite3.Connection) -> list[str]:
    """Every person's name and every spelling of it (aliases)."""
    return [n for (n,) in db.execute("SELECT name FROM people UNION SELECT alias FROM aliases") if n]


def spoken_texts(db: sqlite3.Connection, person: str) -> Iterator[str]:
    """The text of every sentence a person said (canonical name), in no particular order."""
    for (text,) in db.execute("SELECT text FROM sentences WHERE speaker = ?", [person]):
        yield text

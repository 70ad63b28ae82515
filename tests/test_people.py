"""People, aliases and corrections that survive re-ingest, through the command line."""

import json
import random

import pytest
from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.errors import PersonNotFound
from podtwin.formats import parse_transcript
from podtwin.ingest import process_transcript
from podtwin.speakers.people import aka, name_similarity, resolve_aka, resolve_name
from podtwin.store.library import Library
from podtwin.store.people import person_id
from podtwin.twin.persona import load_persona

VOCABULARY = (
    "engine loom ship wire code number machine poem pattern card river harbor nanosecond compiler bug "
    "garden theory letter music bridge cable signal table window candle ladder kettle mirror orbit"
).split()


def episode(guest: str, topic: str, host_spelling: str = "Pat Quill") -> str:
    """A small unlabelled episode whose conversation differs from every other topic's."""
    rng = random.Random(topic)
    talk = " ".join(
        f"I think the {rng.choice(VOCABULARY)} of {topic} is like a {rng.choice(VOCABULARY)}, "
        f"and the {rng.choice(VOCABULARY)} {rng.choice(VOCABULARY)} follows."
        for _ in range(30)
    )
    return (
        f"The following is a conversation with {guest}. This is the {host_spelling} podcast. "
        f"And now, dear friends, here's {guest}. So tell me about {topic}. {talk} "
        f"What else about {topic}? Nothing else. Thanks for listening to this conversation with {guest}."
    )


def run(db, *args):
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    return result


def people(db):
    return {p["name"]: p for p in json.loads(run(db, "people", "--json").output)}


def test_misspellings_resolve_by_spelling_and_sound_not_a_list():
    cast = ["Lex Fridman", "Wojciech Zaremba", "Manolis Kellis", "Mark Zuckerberg"]
    assert resolve_name("Alex Friedman", cast) == "Lex Fridman"
    assert resolve_name("lex freeman", cast) == "Lex Fridman"
    assert resolve_name("flex", cast) == "Lex Fridman"
    assert resolve_name("Wojciech Saramba", cast) == "Wojciech Zaremba"
    assert resolve_name("manoas kallis", cast) == "Manolis Kellis"
    assert resolve_name("Mark Andreessen", cast) is None
    assert resolve_name("Elena Verna", cast) is None
    # a word that only ends in the sounds of a name is not that name
    assert resolve_name("nobody-here", ["Hari Srinivasan", *cast]) is None
    assert name_similarity("Jason Fried", "Jason Feifer") < name_similarity("Jason Fried", "Jason Freid")


def test_host_spelled_two_ways_is_one_person_with_aliases(tmp_path):
    (tmp_path / "a.txt").write_text(episode("Ada Lovelace", "engines", "Pat Quill"))
    (tmp_path / "b.txt").write_text(episode("Grace Hopper", "ships", "Pat Quil"))
    db = tmp_path / "lib.db"
    assert run(db, "ingest", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")).exit_code == 0
    found = people(db)
    # with equal evidence either spelling may name the host; the other is an alias
    (host,) = set(found) - {"Ada Lovelace", "Grace Hopper"}
    assert host in {"Pat Quill", "Pat Quil"}
    assert found[host]["episodes"] == 2
    assert ({"Pat Quill", "Pat Quil"} - {host}) <= set(found[host]["aliases"])
    assert {a["role"] for a in found["Ada Lovelace"]["appearances"]} == {"guest"}
    assert {a["role"] for a in found[host]["appearances"]} == {"host"}
    assert found["Ada Lovelace"]["words"] > 0


def test_corrections_persist_across_later_ingests(tmp_path):
    (tmp_path / "a.txt").write_text(episode("Ada Lovelace", "engines"))
    (tmp_path / "b.txt").write_text(episode("Ada Lovlace Byron", "looms"))
    db = tmp_path / "lib.db"
    run(db, "ingest", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert {"Ada Lovelace", "Ada Lovlace Byron"} <= set(people(db))

    episodes = json.loads(run(db, "episodes", "--json").output)
    looms_id = next(e["id"] for e in episodes if e["guests"] == ["Ada Lovlace Byron"])
    assert run(db, "people", "merge", "Ada Lovlace Byron", "Ada Lovelace").exit_code == 0
    assert run(db, "people", "rename", "Ada Lovelace", "Augusta Ada King").exit_code == 0
    turn = run(db, "speakers", "set", str(looms_id), "0", "Pat Quill")
    assert turn.exit_code == 0, turn.output

    def check():
        found = people(db)
        assert "Ada Lovelace" not in found and "Ada Lovlace Byron" not in found
        assert {"Ada Lovelace", "Ada Lovlace Byron"} <= set(found["Augusta Ada King"]["aliases"])
        assert found["Augusta Ada King"]["episodes"] == 2
        episodes = json.loads(run(db, "episodes", "--json").output)
        ada = [e for e in episodes if "Grace Hopper" not in e["guests"]]
        assert [e["guests"] for e in ada] == [["Augusta Ada King"], ["Augusta Ada King"]]
        rows = [json.loads(line) for line in run(db, "export", str(looms_id)).output.splitlines()]
        assert {r["speaker"] for r in rows if r["index"] == 0} == {"Pat Quill"}
        spoken = {r["speaker"] for r in rows if r["kind"] == "conversation"}
        assert spoken <= {"Pat Quill", "Augusta Ada King"}

    check()
    # a later ingest rebuilds the registry; the corrections are applied again
    (tmp_path / "c.txt").write_text(episode("Grace Hopper", "ships"))
    assert run(db, "ingest", str(tmp_path)).exit_code == 1  # lib.db itself is not a transcript
    check()


def test_correction_errors_are_clear(tmp_path):
    (tmp_path / "a.txt").write_text(episode("Ada Lovelace", "engines"))
    db = tmp_path / "lib.db"
    run(db, "ingest", str(tmp_path / "a.txt"))
    result = run(db, "people", "merge", "Nobody Atall", "Ada Lovelace")
    assert result.exit_code == 1 and "no person" in result.output
    result = run(db, "speakers", "set", "Ada", "999", "Ada Lovelace")
    assert result.exit_code == 1 and "no turn 999" in result.output


def aka_episode(intro: str) -> str:
    """An unlabelled episode whose intro gives the guest a second name; the handoff and the
    sign-off use the plain name."""
    body = episode("Michael Paulson", "editors")
    return intro + " " + body.split(". ", 1)[1]


def resolves_to(db, spelling: str) -> str:
    with Library(db) as library:
        return person_id(library.db, spelling)[1]


def test_aka_in_the_intro_makes_the_handle_an_alias(tmp_path):
    (tmp_path / "a.txt").write_text(
        aka_episode(
            "The following is a conversation with Michael Paulson, aka ThePrimeagen, a programmer and streamer."
        )
    )
    db = tmp_path / "lib.db"
    assert run(db, "ingest", str(tmp_path / "a.txt")).exit_code == 0
    found = people(db)
    assert "ThePrimeagen" in found["Michael Paulson"]["aliases"]
    assert "ThePrimeagen" not in found  # an alias, not a person of its own
    for spelling in ("ThePrimeagen", "theprimeagen", "the primeagen", "The Primeagen"):
        assert resolves_to(db, spelling) == "Michael Paulson"
    assert resolves_to(db, "Pat Quill") == "Pat Quill"
    with Library(db) as library:  # the twin `ask --as ThePrimeagen` talks to
        assert load_persona(library.db, "ThePrimeagen").person == "Michael Paulson"


def test_aka_in_uncased_unpunctuated_speech(tmp_path):
    spoken = aka_episode("The following is a conversation with Michael Paulson aka the primeagen a programmer.")
    spoken = "".join(c for c in spoken.lower() if c not in ".,'?")
    (tmp_path / "a.txt").write_text(spoken)
    db = tmp_path / "lib.db"
    assert run(db, "ingest", str(tmp_path / "a.txt")).exit_code == 0
    found = people(db)
    # the guest's name stops at the aka; the handle is kept as spoken
    assert "Michael Paulson" in found and "Michael Paulson Aka" not in found
    assert "the primeagen" in found["Michael Paulson"]["aliases"]
    for spelling in ("ThePrimeagen", "the primeagen"):
        assert resolves_to(db, spelling) == "Michael Paulson"


def test_better_known_as_and_also_known_as(tmp_path):
    (tmp_path / "a.txt").write_text(
        aka_episode("The following is a conversation with Michael Paulson, better known as ThePrimeagen.")
    )
    rock = episode("Dwayne Johnson", "wrestling").replace(
        "conversation with Dwayne Johnson.", "conversation with Dwayne Johnson, also known as The Rock."
    )
    (tmp_path / "b.txt").write_text(rock)
    db = tmp_path / "lib.db"
    assert run(db, "ingest", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")).exit_code == 0
    found = people(db)
    assert "ThePrimeagen" in found["Michael Paulson"]["aliases"]
    assert "The Rock" in found["Dwayne Johnson"]["aliases"]
    assert resolves_to(db, "the rock") == "Dwayne Johnson"


def test_aka_of_someone_outside_the_cast_adds_nothing(tmp_path):
    (tmp_path / "a.txt").write_text(
        aka_episode(
            "The following is a conversation with Michael Paulson. "
            "He worked with Ada Lovelace, aka The Enchantress, on engines."
        )
    )
    db = tmp_path / "lib.db"
    assert run(db, "ingest", str(tmp_path / "a.txt")).exit_code == 0
    found = people(db)
    aliases = {a for p in found.values() for a in p["aliases"]}
    assert "The Enchantress" not in aliases and "Ada Lovelace" not in found
    assert "The Enchantress" not in found["Michael Paulson"]["aliases"]
    with Library(db) as library, pytest.raises(PersonNotFound):
        person_id(library.db, "The Enchantress")


def test_aka_mentions_are_read_from_the_intro():
    def mentions(intro: str) -> list[str]:
        return process_transcript(parse_transcript(aka_episode(intro))).info.mentions

    assert aka("Michael Paulson", "ThePrimeagen") in mentions(
        "The following is a conversation with Michael Paulson (a.k.a. ThePrimeagen), a programmer."
    )
    assert aka("Dwayne Johnson", "The Rock") in mentions(
        "The following is a conversation with The Rock, whose real name is Dwayne Johnson."
    )
    # an aka outside the cast is read too; the registry will not resolve it
    assert aka("Ada Lovelace", "The Enchantress") in mentions(
        "The following is a conversation with Michael Paulson. He worked with Ada Lovelace, aka The Enchantress."
    )
    # a lowercase word after an aka in cased text is no handle ("Michael, aka the guy who ...")
    said = mentions(
        "The following is a conversation with Michael Paulson. Michael, aka the guy who loves vim, is here."
    )
    assert not [m for m in said if " aka " in m]

    cast = ["Michael Paulson", "Pat Quill"]
    assert resolve_aka(aka("Michael Paulson", "ThePrimeagen"), cast) == ("Michael Paulson", "ThePrimeagen")
    # uncased speech may run other words into the name
    assert resolve_aka(aka("Streamer Michael Paulson", "the primeagen"), cast) == ("Michael Paulson", "the primeagen")
    assert resolve_aka(aka("Ada Lovelace", "The Enchantress"), cast) is None
    assert resolve_aka("Michael Paulson", cast) is None

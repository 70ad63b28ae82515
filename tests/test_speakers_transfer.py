"""Who said what on shows the model never saw: lex-labelled (measure only), several guests,
bad input, confidence and the twin's quoting gate, corrections that spread."""

from __future__ import annotations

import numpy as np
import pytest

from podtwin.corpus import lex_labelled_files
from podtwin.lab.evaluate_speakers import (
    best_mapping,
    evaluate_shows,
    load_show,
    reliability,
    simulate_corrections,
)
from podtwin.speakers.calibration import default_calibration
from podtwin.speakers.metadata import EpisodeInfo
from podtwin.speakers.turns import attribute_sentences, runs
from podtwin.store.library import Library


@pytest.fixture(scope="module")
def lex_labelled(corpus):
    files = lex_labelled_files()
    assert len(files) == 3, "lex-labelled holds three episodes"
    return files


@pytest.fixture(scope="module")
def lex_result(lex_labelled):
    return evaluate_shows({"lex-labelled": lex_labelled}, conditions=(False,))["punctuated"]


def test_two_speaker_lex_episodes_transfer(lex_result):
    """Lex Fridman Podcast, never trained on. The lenny-only model found the turn changes at
    F1 0.31 and gave the host 6 % of the words against a true 26 % (accuracy 0.797). These
    bounds hold the measured gain; the issue's targets (0.92, within 3 points) are not met
    yet (docs/benchmarks.md)."""
    s = lex_result["shows"]["lex-labelled"]["summary"]["two_speakers"]
    assert s["accuracy"] >= 0.80, s
    assert s["change_f1"] >= 0.45, s
    assert s["host_share_error"] <= 0.12, s


def test_three_speakers_named_from_the_intro(lex_result):
    """'a conversation with Dylan Patel and Nathan Lambert': three speakers, each named."""
    ep = next(e for e in lex_result["shows"]["lex-labelled"]["episodes"] if e["file"].startswith("459"))
    assert ep["speakers_true"] == 3
    assert ep["speakers_predicted"] == 3
    # telling the two guests apart from text alone is near chance today (docs/benchmarks.md);
    # the host's words, at least, must not go to the guests wholesale
    assert ep["host_share_predicted"] >= 0.5 * ep["host_share_true"], ep


def test_confidence_is_reported_with_a_reliability_table(lex_result):
    conf = lex_result["confidence"]
    assert 0 <= conf["ece"] <= 1
    assert sum(row["words"] for row in conf["table"]) > 10_000
    # what the twin may quote (at or above the threshold) is purer than everything
    everything = 1 - sum(r["accuracy"] * r["words"] for r in conf["table"]) / sum(r["words"] for r in conf["table"])
    assert conf["wrong_words_kept"] < everything


def test_reliability_and_mapping_helpers():
    outcomes = [(0.95, 19, 20, "guest"), (0.55, 5, 10, "host"), (0.99, 10, 10, "guest")]
    r = reliability(outcomes, bins=10, threshold=0.9)
    assert r["kept_words"] == pytest.approx(30 / 40)
    assert r["wrong_words_kept"] == pytest.approx(1 / 30, abs=1e-4)
    assert best_mapping(list("aabbc"), list("xxyyy")) == {"a": "x", "b": "y"}


# -- bad input --------------------------------------------------------------------------------


def _attribute(texts, info):
    kinds = ["conversation"] * len(texts)
    who = attribute_sentences(texts, [None] * len(texts), kinds, info)
    turns = runs(who.roles, who.speakers, who.confidence, who.origin)
    assert turns[0].first == 0 and turns[-1].last == len(texts) - 1
    assert all(a.last + 1 == b.first for a, b in zip(turns, turns[1:]))
    assert all(0.0 <= c <= 1.0 for c in who.confidence)
    return who


def test_monologue_one_word_lines_and_no_intro():
    monologue = ["Today I want to talk about sleep.", "Most people sleep too little.", "Here is why it matters."] * 20
    who = _attribute(monologue, EpisodeInfo(host="Solo Host"))
    assert set(who.roles) <= {"host", "guest"}
    words = ["so", "yeah", "right", "okay", "well"] * 40
    _attribute(words, EpisodeInfo())
    _attribute(["one"], EpisodeInfo())


def test_six_guests_are_all_named():
    guests = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth"]
    texts = []
    for g in guests * 3:
        first = g.split()[0]
        texts += [f"{first}, what do you think about programs?", "I think programs are proofs in disguise.",
                  "They took me years to understand.", "And the machines were slow."]  # fmt: skip
    who = _attribute(texts, EpisodeInfo(host="Host Person", guests=guests))
    named = {s for s, r in zip(who.speakers, who.roles) if r == "guest"}
    assert named <= set(guests) and len(named) >= 2


def test_a_show_with_no_labelled_data_is_refused_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    from typer.testing import CliRunner

    from podtwin.cli.app import app

    result = CliRunner().invoke(app, ["eval", "speakers", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert "no labelled transcripts" in result.output


# -- corrections ------------------------------------------------------------------------------


def test_corrections_spread_to_the_rest_of_the_show(lex_labelled):
    """A creator corrects turns of one episode; the show is attributed again with them."""
    from podtwin.text.punctuate import default_punctuator

    eps = load_show("lex-labelled", lex_labelled, False, default_punctuator())
    two = [
        e for e in eps if not e.path.endswith(tuple(f"{n}.txt" for n in ("459-deepseek-dylan-patel-nathan-lambert",)))
    ]
    result = simulate_corrections(two, counts=(0, 10), corrected=0)
    assert result[10]["corrected_episode"] >= result[0]["corrected_episode"]
    assert result[10]["other_episodes"] is not None


def test_set_turn_speaker_refuses_unknown_people_and_turns(lex_copy):
    from podtwin.store.people import PersonNotFound
    from podtwin.store.speakers import review_turns, set_turn_speaker

    db_path, _ = lex_copy("corrections")
    with Library(db_path) as library:
        episode = library.db.execute("SELECT min(id) FROM episodes").fetchone()[0]
        before = library.db.execute("SELECT * FROM turns WHERE episode_id = ? ORDER BY idx", [episode]).fetchall()
        for turn, person in ((0, "Nobody Knownhere"), (10**6, "Lex Fridman")):
            with pytest.raises(PersonNotFound):
                with library.atomic() as db:
                    set_turn_speaker(db, episode, turn, person)
        after = library.db.execute("SELECT * FROM turns WHERE episode_id = ? ORDER BY idx", [episode]).fetchall()
        assert [tuple(r) for r in before] == [tuple(r) for r in after]
        review = review_turns(library.db, episode)
        model = [t.confidence for t in review if t.origin == "model"]
        assert model == sorted(model)
        first = review[0]
        with library.atomic() as db:
            out = set_turn_speaker(db, episode, first.idx, "Lex Fridman")
        assert episode in out["reattributed"]
        rows = library.db.execute(
            "SELECT DISTINCT speaker, speaker_confidence FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ?",
            [episode, first.first_sentence, first.last_sentence],
        ).fetchall()
        assert [tuple(r) for r in rows] == [("Lex Fridman", 1.0)]


# -- the twin's quoting gate ------------------------------------------------------------------


def test_twin_quotes_only_confident_sentences_and_says_so(lex_copy):
    from podtwin.twin.answer import ask

    db_path, _ = lex_copy("gate")
    threshold = default_calibration().threshold
    with Library(db_path) as library:
        question = "What do you think about open sourcing AI?"
        first = ask(library, "Elon Musk", question)
        assert not first.abstained
        cited = {(c.episode_id, i) for c in first.citations for i in range(c.sentence, c.last_sentence + 1)}
        # make every sentence the first answer quoted uncertain: it must not be quoted again
        with library.atomic() as db:
            db.executemany(
                "UPDATE sentences SET speaker_confidence = ? WHERE episode_id = ? AND idx = ?",
                [(threshold / 2, e, i) for e, i in cited],
            )
        second = ask(library, "Elon Musk", question)
        again = {(c.episode_id, i) for c in second.citations for i in range(c.sentence, c.last_sentence + 1)}
        assert not (again & cited)
        assert second.withheld_sentences >= 1
        assert "not say for sure" in second.answer
        confidences = [
            library.db.execute(
                "SELECT coalesce(speaker_confidence, 1) FROM sentences WHERE episode_id = ? AND idx = ?", [e, i]
            ).fetchone()[0]
            for e, i in again
        ]
        assert all(c >= threshold for c in confidences)
        assert np.isfinite(threshold)


def test_a_guest_twin_never_quotes_the_hosts_question_back(lex_labelled, tmp_path):
    """Asked the host's own questions, a twin of a show it never saw must not answer with the
    question itself (retrieval finds it first; the model may have given it to the guest)."""
    import re

    from podtwin.ingest import ingest
    from podtwin.lab.evaluate_purity import episode_guest, host_questions, true_turns
    from podtwin.lab.evaluate_speakers import show_hosts, strip_labelled
    from podtwin.search.index import embed_missing
    from podtwin.twin.answer import ask

    source = next(f for f in lex_labelled if f.name.startswith("463-"))
    lt = strip_labelled(source)
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / source.name).write_text(lt.text)

    def words(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'")))

    with Library(tmp_path / "purity.db") as library:
        ingest(library, [folder])
        embed_missing(library)
        questions = host_questions(true_turns(lt), show_hosts(lex_labelled))
        assert len(questions) >= 10
        for question, turn in questions:
            reply = ask(library, turn.speaker, question)
            for c in reply.citations:
                assert words(question) not in words(lt.text[c.start_char : c.end_char]), question
        # the guest a user would pick when the library did not know the true name
        assert episode_guest(library.db, source.name) == questions[0][1].speaker


def test_a_correction_gives_the_host_side_when_the_episode_never_named_its_host():
    texts = ["What do you think about sleep?", "I think sleep is underrated.", "It changed my work.",
             "Why did it change your work?", "Because I could think again."] * 6  # fmt: skip
    info = EpisodeInfo(guests=["Ada Lovelace"])
    fixes = {1: "Lenny", 2: "Lenny", 3: "Ada Lovelace"}
    who = attribute_sentences(texts, [None] * len(texts), ["conversation"] * len(texts), info, corrections=fixes)
    assert [who.roles[i] for i in (1, 2, 3)] == ["host", "host", "guest"]
    assert [who.speakers[i] for i in (1, 2, 3)] == ["Lenny", "Lenny", "Ada Lovelace"]
    assert all(who.origin[i] == "correction" for i in fixes)


def test_an_unnamed_guest_is_named_for_the_purity_evaluation(corpus, tmp_path):
    """An episode that never says its guest's name gives a library with no guest to ask;
    `eval purity` names the guest-role turns, as the creator would, and leaves who said what
    as the model found it."""
    from podtwin.ingest import ingest
    from podtwin.lab.evaluate_purity import episode_guest, name_guest
    from podtwin.lab.evaluate_speakers import strip_labelled

    source = corpus / "shows" / "stephan-livera-podcast" / "2019-10-29-jack-mallers.txt"
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / source.name).write_text(strip_labelled(source).text)
    with Library(tmp_path / "unnamed.db") as library:
        ingest(library, [folder])
        roles = dict(library.db.execute("SELECT role, count(*) FROM sentences WHERE speaker IS NULL GROUP BY role"))
        assert roles.get("guest") and episode_guest(library.db, source.name) is None
        assert name_guest(library, source.name, "Jack Mallers") == "Jack Mallers"
        named = dict(library.db.execute("SELECT role, count(*) FROM sentences GROUP BY role"))
        assert (
            library.db.execute(
                "SELECT count(*) FROM sentences WHERE speaker = 'Jack Mallers' AND role = 'guest'"
            ).fetchone()[0]
            == roles["guest"]
            == named["guest"]
        )
        assert episode_guest(library.db, source.name) == "Jack Mallers"
        assert name_guest(library, source.name, "Someone Else") is None  # named once only

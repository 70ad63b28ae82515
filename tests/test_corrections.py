"""Correcting answers (issue 18, part 3): marks on replies, pins and blocks of excerpts for a
question and its paraphrases, the audit with undo, the checks that a pin holds only the
person's own words, and pins following their words across re-ingest. Real libraries: a copy of
the lex library, and a small labelled transcript ingested, changed and ingested again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podtwin.api.service import Service
from podtwin.errors import CorrectionError
from podtwin.ingest import ingest
from podtwin.search.index import embed_missing
from podtwin.server import create_app
from podtwin.speakers.calibration import default_calibration
from podtwin.store.library import Library
from podtwin.store.people import record_correction

ELON = "Elon Musk"
MARS = "What do you think about going to Mars?"
MARS_AGAIN = "What are your thoughts on traveling to Mars?"
UNRELATED = "What is your favourite food?"


@pytest.fixture(scope="module")
def service(lex_copy):
    db, key = lex_copy("corrections")
    service = Service(db)
    yield service
    service.close()


def sentences_of(service: Service, episode_id: int) -> list[dict]:
    return service.episode(episode_id, sentences=True)["sentences"]


def a_sure_excerpt(service: Service, person: str, query: str) -> tuple[int, int, int]:
    """(episode, first, last): up to three consecutive sentences of the person's, sure of the
    speaker (each sentence's own confidence, as the twin checks it), of ordinary conversation,
    from the best search hit for the query that has them."""
    threshold = default_calibration().threshold
    for hit in service.search(query, speaker=person, kinds=["conversation"], limit=10)["hits"]:
        with sqlite3.connect(service.path) as db:
            rows = db.execute(
                """SELECT idx, speaker = ? AND kind = 'conversation' AND coalesce(speaker_confidence, 1) >= ?
                   FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ? ORDER BY idx""",
                [person, threshold, hit["episode_id"], hit["first_sentence"], hit["last_sentence"]],
            ).fetchall()
        run: list[int] = []
        for idx, ok in rows:
            run = [*run, idx] if ok else []
            if len(run) == 3:
                break
        if run:
            return hit["episode_id"], run[0], run[-1]
    raise AssertionError(f"no sure excerpt of {person} for {query!r}")


def cited_sentences(reply: dict) -> set[tuple[int, int]]:
    return {(c["episode_id"], i) for c in reply["citations"] for i in range(c["sentence"], c["last_sentence"] + 1)}


def test_a_pin_answers_its_question_and_paraphrases_and_says_the_creator_chose_it(service):
    episode, first, last = a_sure_excerpt(service, ELON, "rockets launch reusable")
    before = service.ask(ELON, MARS_AGAIN)
    assert not before["chosen_by_creator"]
    pin = service.correct(
        ELON, "pin", episode=episode, first_sentence=first, last_sentence=last, who="tests", question=MARS
    )
    assert pin["status"] == "in use" and pin["kind"] == "pin" and pin["created_by"] == "tests"

    for asked in (MARS, MARS_AGAIN):
        reply = service.ask(ELON, asked)
        assert reply["chosen_by_creator"] and reply["pin_id"] == pin["id"], asked
        assert cited_sentences(reply) == {(episode, i) for i in range(first, last + 1)}
        assert "creator" in reply["answer"] and "chose" in reply["answer"]
        assert not reply["abstained"]
        assert reply["disclosure"]  # still an AI, and says so
        texts = [s["text"] for s in sentences_of(service, episode)[first : last + 1]]
        assert reply["citations"][0]["quote"].lower().split()[:3] == " ".join(texts).lower().split()[:3]
    why = service.question_why(reply["question_id"])["why"]  # the creator sees which pin, and how close
    pins = next(c for c in why["checks"] if c["name"] == "creator_pins")
    assert pins["outcome"] == "pinned" and pins["detail"]["pin"]["id"] == pin["id"]
    assert 0 < pins["detail"]["pin"]["score"] <= 1
    assert [s["sentence"] for s in why["quoted"][0]["sentences"]] == list(range(first, last + 1))
    other = service.ask(ELON, UNRELATED)
    assert not other["chosen_by_creator"] and other["pin_id"] is None
    service.remove_correction(pin["id"], "tests")
    assert not service.ask(ELON, MARS_AGAIN)["chosen_by_creator"]


def test_a_pin_of_someone_elses_words_is_refused_with_the_reason(service):
    hit = service.search("love and friendship", speaker="Lex Fridman", kinds=["conversation"], limit=1)["hits"][0]
    with pytest.raises(CorrectionError, match="Lex Fridman's words, not Elon Musk's"):
        service.correct(
            ELON, "pin", episode=hit["episode_id"], first_sentence=hit["first_sentence"],
            last_sentence=hit["last_sentence"], who="tests", question="What is love?",
        )  # fmt: skip


def test_a_pin_of_words_whose_speaker_is_uncertain_is_refused(service):
    threshold = default_calibration().threshold
    with sqlite3.connect(service.path) as db:
        row = db.execute(
            """SELECT episode_id, idx, speaker FROM sentences WHERE speaker_confidence < ? AND kind = 'conversation'
               AND speaker IS NOT NULL ORDER BY id LIMIT 1""",
            [threshold],
        ).fetchone()
    assert row is not None, "the lex library has unsure sentences (no labels)"
    episode, idx, speaker = row
    with pytest.raises(CorrectionError, match="uncertain"):
        service.correct(
            speaker, "pin", episode=episode, first_sentence=idx, last_sentence=idx, who="t", question="Why?"
        )
    assert all(c["first_sentence"] != idx for c in service.corrections(speaker))  # nothing stored


def test_a_block_keeps_an_excerpt_out_of_the_answers_to_that_question(service):
    question = "What do you think about artificial intelligence and its risks?"
    first = service.ask(ELON, question)
    assert first["citations"], "the twin answers this from the record"
    c = first["citations"][0]
    block = service.correct(
        ELON, "block", episode=c["episode_id"], first_sentence=c["sentence"], last_sentence=c["last_sentence"],
        who="tests", question_id=first["question_id"],
    )  # fmt: skip
    assert block["question"] == first["resolved_question"]
    blocked = {(c["episode_id"], i) for i in range(c["sentence"], c["last_sentence"] + 1)}
    again = service.ask(ELON, question)
    assert again["blocks_applied"] == [block["id"]]
    checks = {c["name"]: c for c in service.question_why(again["question_id"])["why"]["checks"]}
    assert checks["creator_pins"]["outcome"] == "blocked"
    assert [b["id"] for b in checks["creator_pins"]["detail"]["blocks"]] == [block["id"]]
    assert not cited_sentences(again) & blocked
    # another question may still quote those words
    service.remove_correction(block["id"], "tests")
    assert service.ask(ELON, question)["citations"][0]["sentence"] == c["sentence"]


def test_marks_and_every_change_are_audited_and_can_be_undone(service):
    asked = service.ask(ELON, "Do you think humanity will become multi-planetary?")
    qid = asked["question_id"]
    service.mark(qid, "good", "alice")
    service.mark(qid, "wrong", "bob")
    assert service.question(qid)["mark"] == "wrong"
    assert service.recent_questions(ELON, 1)[0]["mark"] == "wrong"
    log = service.changes(ELON, 10)
    assert [(c["who"], c["action"], c["before"], c["after"]) for c in log[:2]] == [
        ("bob", "mark", "good", "wrong"),
        ("alice", "mark", None, "good"),
    ]
    with pytest.raises(CorrectionError, match="changed since"):
        service.undo(log[1]["id"], "carol")  # the later change first
    undo = service.undo(log[0]["id"], "carol")
    assert undo["undoes"] == log[0]["id"] and undo["who"] == "carol"
    assert service.question(qid)["mark"] == "good"
    with pytest.raises(CorrectionError, match="undone already"):
        service.undo(log[0]["id"], "carol")

    episode, first, last = a_sure_excerpt(service, ELON, "electric cars batteries")
    pin = service.correct(ELON, "pin", episode=episode, first_sentence=first, last_sentence=last, who="alice",
                          question="Why did you build electric cars?")  # fmt: skip
    service.remove_correction(pin["id"], "bob")
    removal = service.changes(ELON, 1)[0]
    assert removal["action"] == "remove pin" and removal["before"]["question"] == "Why did you build electric cars?"
    assert removal["after"] is None
    service.undo(removal["id"], "carol")  # the pin is back in use
    assert next(c for c in service.corrections(ELON) if c["id"] == pin["id"])["status"] == "in use"
    assert service.ask(ELON, "Why did you decide to make electric cars?")["pin_id"] == pin["id"]
    creation = next(
        c for c in service.changes(ELON, 20) if c["target"] == f"correction:{pin['id']}" and c["action"] == "pin"
    )
    service.undo(creation["id"], "carol")  # undoing the pin itself: out of use, kept
    assert next(c for c in service.corrections(ELON) if c["id"] == pin["id"])["status"] == "removed"
    assert not service.ask(ELON, "Why did you decide to make electric cars?")["chosen_by_creator"]


def test_a_pin_whose_words_are_given_to_someone_else_stops_answering(service):
    episode, first, last = a_sure_excerpt(service, ELON, "Tesla factory production")
    pin = service.correct(ELON, "pin", episode=episode, first_sentence=first, last_sentence=last, who="t",
                          question="How hard is it to build a car factory?")  # fmt: skip
    assert service.ask(ELON, "How difficult is building a car factory?")["pin_id"] == pin["id"]
    turn = service.turn_at(episode, first)
    service.set_speaker(episode, turn["idx"], "Lex Fridman", first_sentence=turn["first_sentence"])
    shown = next(c for c in service.corrections(ELON) if c["id"] == pin["id"])
    assert shown["status"] == "unusable" and "Lex Fridman's words" in shown["why"]
    reply = service.ask(ELON, "How difficult is building a car factory?")
    assert not reply["chosen_by_creator"]
    assert not cited_sentences(reply) & {(episode, i) for i in range(first, last + 1)}


# -- across re-ingest --------------------------------------------------------------------------

OPENING = """Ada Lovelace: Welcome back everyone. This is a show about people who built computing.
Ada Lovelace: My guest today needs no introduction at all.
"""
NAVY = """Grace Hopper: The navy was sceptical at first. Admirals did not trust machines at all. But once they \
saw programs written in a week instead of a month, they changed their minds. Budgets followed the results.
"""
TALK = """Ada Lovelace: Tell me about your first compiler.
Grace Hopper: The first compiler I wrote was called A-0. It turned symbolic code into machine code, so people \
could write programs faster. I believed computers should speak the language of business.
Ada Lovelace: What did the navy think about that?
{navy}Ada Lovelace: And COBOL?
Grace Hopper: COBOL came from a committee. I pushed for English words in code, because managers had to read \
the programs too. Many people laughed at the idea. They stopped laughing when the programs ran.
Ada Lovelace: Thank you Grace, that was wonderful.
"""


def write(path: Path, *, opening: bool = False, navy: bool = True) -> None:
    path.write_text((OPENING if opening else "") + TALK.format(navy=NAVY if navy else ""))


def reingest(db: Path, path: Path) -> None:
    with Library(db) as library:
        assert ingest(library, [path]).ok
        embed_missing(library)


def navy_sentences(service: Service) -> tuple[int, int, int]:
    for e in service.episodes():
        rows = sentences_of(service, e["id"])
        idx = [r["index"] for r in rows if r["speaker"] == "Grace Hopper" and r["text"] in NAVY]
        if idx:
            return e["id"], idx[0], idx[-1]
    raise AssertionError("the navy turn is not in the library")


def test_pins_follow_their_words_across_reingest_and_say_when_they_are_gone(tmp_path):
    transcript = tmp_path / "grace.txt"
    write(transcript)
    db = tmp_path / "library.db"
    reingest(db, transcript)
    service = Service(db)
    try:
        episode, first, last = navy_sentences(service)
        pin = service.correct("Grace Hopper", "pin", episode=episode, first_sentence=first, last_sentence=last,
                              who="tests", question="How did the navy react to your work?")  # fmt: skip
        question = "What was the navy's reaction to what you did?"
        assert service.ask("Grace Hopper", question)["pin_id"] == pin["id"]

        write(transcript, opening=True)  # the file changed: the episode is rebuilt, its sentences renumbered
        reingest(db, transcript)
        moved = navy_sentences(service)
        assert moved[1:] != (first, last) or moved[0] != episode
        shown = next(c for c in service.corrections("Grace Hopper") if c["id"] == pin["id"])
        assert (shown["episode_id"], shown["first_sentence"], shown["last_sentence"]) == moved
        assert shown["status"] == "in use"
        reply = service.ask("Grace Hopper", question)
        assert reply["pin_id"] == pin["id"]
        assert cited_sentences(reply) == {(moved[0], i) for i in range(moved[1], moved[2] + 1)}

        write(transcript, opening=True, navy=False)  # the words are gone: the pin says so, and is kept
        reingest(db, transcript)
        shown = next(c for c in service.corrections("Grace Hopper") if c["id"] == pin["id"])
        assert shown["status"] == "gone" and "not in the library since" in shown["why"]
        assert shown["excerpt"].startswith("The navy was sceptical")
        assert not service.ask("Grace Hopper", question)["chosen_by_creator"]

        write(transcript, navy=True)  # back again: the pin answers again
        reingest(db, transcript)
        shown = next(c for c in service.corrections("Grace Hopper") if c["id"] == pin["id"])
        assert shown["status"] == "in use" and shown["gone_since"] is None
        assert service.ask("Grace Hopper", question)["pin_id"] == pin["id"]

        # the person renamed: the pin, its audit and the replies follow the name, a re-ingest too
        with Library(db) as library, library.atomic() as conn:
            record_correction(conn, "rename", {"name": "Grace Hopper", "to": "Grace B. Hopper"})
        for _ in range(2):
            assert [c["id"] for c in service.corrections("Grace B. Hopper")] == [pin["id"]]
            assert service.changes("Grace B. Hopper")[-1]["action"] == "pin"
            assert service.ask("Grace B. Hopper", question)["pin_id"] == pin["id"]
            write(transcript, opening=True)
            reingest(db, transcript)
    finally:
        service.close()


# -- the API and the web pages -----------------------------------------------------------------


@pytest.fixture(scope="module")
def client(lex_copy):
    db, key = lex_copy("corrections-http")
    service = Service(db)
    with TestClient(create_app(service), follow_redirects=False) as client:
        yield client, key, service
    service.close()


def test_the_api_corrects_answers_with_a_key_and_refuses_without(client):
    http, key, service = client
    auth = {"X-API-Key": key}
    asked = http.post("/api/ask", json={"person": ELON, "question": MARS}).json()
    qid = asked["question_id"]
    assert http.put(f"/api/questions/{qid}/mark", json={"mark": "wrong"}).status_code == 401
    assert http.put(f"/api/questions/{qid}/mark", json={"mark": "wrong"}, headers=auth).json()["mark"] == "wrong"
    assert http.put(f"/api/questions/{qid}/mark", json={"mark": "meh"}, headers=auth).status_code == 422
    episode, first, last = a_sure_excerpt(service, ELON, "rockets launch reusable")
    body = {"kind": "pin", "episode_id": episode, "first_sentence": first, "last_sentence": last, "question_id": qid}
    assert http.post("/api/people/elon-musk/corrections", json=body).status_code == 401
    made = http.post("/api/people/elon-musk/corrections", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["question"] == asked["resolved_question"]
    again = http.post("/api/ask", json={"person": ELON, "question": MARS_AGAIN}).json()
    assert again["chosen_by_creator"] and again["pin_id"] == made.json()["id"]
    lex = service.search("love", speaker="Lex Fridman", kinds=["conversation"], limit=1)["hits"][0]
    refused = http.post(
        "/api/people/elon-musk/corrections", headers=auth,
        json={"kind": "pin", "episode_id": lex["episode_id"], "first_sentence": lex["first_sentence"],
              "last_sentence": lex["last_sentence"], "question": "What is love?"},
    )  # fmt: skip
    assert refused.status_code == 400 and "Lex Fridman's words" in refused.json()["error"]
    listed = http.get("/api/people/elon-musk/corrections", headers=auth).json()
    assert [c["id"] for c in listed] == [made.json()["id"]]
    changes = http.get("/api/people/elon-musk/changes", headers=auth).json()
    assert changes[0]["who"] == "key tests" and changes[0]["action"] == "pin"
    assert http.delete(f"/api/corrections/{made.json()['id']}", headers=auth).json()["status"] == "removed"
    latest = http.get("/api/people/elon-musk/changes", headers=auth).json()[0]
    assert http.post(f"/api/changes/{latest['id']}/undo", headers=auth).json()["undoes"] == latest["id"]
    assert http.get("/api/people/elon-musk/corrections", headers=auth).json()[0]["status"] == "in use"
    assert http.post(f"/api/changes/{latest['id']}/undo", headers=auth).status_code == 400  # once only
    assert http.get(f"/api/questions/{qid}").status_code == 401
    assert http.get(f"/api/questions/{qid}", headers=auth).json()["mark"] == "wrong"
    assert http.get("/api/questions/999999", headers=auth).status_code == 404


def test_the_creator_corrects_a_reply_on_the_web(client):
    http, key, service = client
    site = {"Origin": str(http.base_url).rstrip("/")}
    asked = http.post("/api/ask", json={"person": ELON, "question": "What do you think of the Boring Company tunnels?"})
    qid = asked.json()["question_id"]
    assert http.get(f"/creator/questions/{qid}/correct").status_code == 401  # the sign-in page
    assert http.post("/creator/login", data={"key": key}, headers=site).status_code == 303
    page = http.get(f"/creator/questions/{qid}/correct?q=tunnels traffic")
    assert page.status_code == 200 and "Pin this as the answer" in page.text
    episode, first, last = a_sure_excerpt(service, ELON, "tunnels traffic")
    form = {"kind": "pin", "episode_id": episode, "first_sentence": first, "last_sentence": last}
    evil = {"Origin": "https://evil.example"}
    assert http.post(f"/creator/questions/{qid}/correct", data=form, headers=evil).status_code == 403
    done = http.post(f"/creator/questions/{qid}/correct", data=form, headers=site)
    assert done.status_code == 303 and done.headers["location"].endswith("done=pinned")
    assert "now answers this question" in http.get(done.headers["location"]).text
    assert http.post(f"/creator/questions/{qid}/mark", data={"mark": "good"}, headers=site).status_code == 303
    person = http.get("/creator/people/elon-musk").text
    assert "Pins and blocks" in person and "in use" in person and "Boring Company" in person
    assert "key tests" in person and "Undo" in person and "marked good" in person
    lex = service.search("love", speaker="Lex Fridman", kinds=["conversation"], limit=1)["hits"][0]
    bad = {"kind": "pin", "episode_id": lex["episode_id"], "first_sentence": lex["first_sentence"],
           "last_sentence": lex["last_sentence"]}  # fmt: skip
    refused = http.post(f"/creator/questions/{qid}/correct", data=bad, headers=site)
    assert refused.status_code == 400 and "Lex Fridman&#39;s words" in refused.text


def test_what_is_not_there_is_a_404(client):
    http, key, _ = client
    auth = {"X-API-Key": key}
    assert http.delete("/api/corrections/424242", headers=auth).status_code == 404
    assert http.post("/api/changes/424242/undo", headers=auth).status_code == 404
    assert http.put("/api/questions/424242/mark", json={"mark": "good"}, headers=auth).status_code == 404
    too_long = {"kind": "pin", "episode_id": 1, "first_sentence": 0, "last_sentence": 500, "question": "Why?"}
    refused = http.post("/api/people/elon-musk/corrections", json=too_long, headers=auth)
    assert refused.status_code == 400 and "at most 12 sentences" in refused.json()["error"]

"""The creator's speakers review on the real lex corpus: the turns the model was least sure of
first, and one action per turn (who said it), through the CLI, the JSON API and the pages.

The speaker model is retrained from time to time, so nothing here names a confidence or a
turn the model gets wrong: the tests check order, persistence and refusals."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from podtwin.api.service import Service
from podtwin.cli.app import app
from podtwin.server import create_app
from podtwin.store.library import Library

GUEST = "Mark Zuckerberg"


def sign_in(client: TestClient, key: str) -> None:
    """Sign in as the creator page does: the key is exchanged for a session cookie."""
    r = client.post("/creator/login", data={"key": key}, follow_redirects=False)
    assert r.status_code == 303 and client.cookies.get("podtwin_session", "").startswith("pts_")


def run(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def least_confident_first(turns: list[dict]) -> None:
    """Model turns first, then those from labels, structure and corrections; each part by confidence."""
    from_model = [t["origin"] == "model" for t in turns]
    assert from_model == sorted(from_model, reverse=True)
    for part in (True, False):
        confidences = [t["confidence"] for t, m in zip(turns, from_model) if m is part]
        assert confidences == sorted(confidences)


def stored(db) -> dict:
    """What a speaker change writes: turns, sentences' speakers, corrections, people."""
    with Library(db) as library:
        return {
            table: [tuple(r) for r in library.db.execute(query)]
            for table, query in {
                "turns": "SELECT * FROM turns ORDER BY episode_id, idx",
                "sentences": "SELECT episode_id, idx, speaker, role, speaker_confidence, turn FROM sentences "
                "ORDER BY episode_id, idx",
                "corrections": "SELECT * FROM corrections ORDER BY id",
                "people": "SELECT * FROM people ORDER BY id",
            }.items()
        }


def covering(turns: list[dict], sentence: int) -> dict:
    (turn,) = [t for t in turns if t["first_sentence"] <= sentence <= t["last_sentence"]]
    return turn


@pytest.fixture(scope="module")
def library_copy(lex_copy):
    """A copy the tests below only read, or try to change and are refused."""
    return lex_copy("speakers-review")


@pytest.fixture(scope="module")
def client(library_copy):
    db, _ = library_copy
    service = Service(db)
    with TestClient(create_app(service)) as c:
        yield c
    service.close()


@pytest.fixture(scope="module")
def episode(client) -> int:
    """The lex episode whose guest is Mark Zuckerberg."""
    (found,) = [e["id"] for e in client.get("/api/episodes").json() if e["guests"] == [GUEST]]
    return found


def test_cli_review_lists_least_confident_turns_first(library_copy, episode):
    db, _ = library_copy
    result = run(db, "speakers", "review", str(episode), "--limit", "0", "--json")
    assert result.exit_code == 0, result.output
    turns = json.loads(result.output)
    assert turns[0]["origin"] == "model"  # an unlabelled show: the model said who spoke
    least_confident_first(turns)
    assert sorted(t["idx"] for t in turns) == list(range(len(turns)))  # every turn, once
    for t in turns:
        assert set(t) == {
            "idx",
            "first_sentence",
            "last_sentence",
            "role",
            "speaker",
            "confidence",
            "origin",
            "text",
            "before",
            "after",
        }
        assert t["text"] and 0 <= t["confidence"] <= 1 and t["first_sentence"] <= t["last_sentence"]
        for side, neighbour in (("before", t["idx"] - 1), ("after", t["idx"] + 1)):
            if 0 <= neighbour < len(turns):
                assert t[side]["idx"] == neighbour and t[side]["text"]
                assert set(t[side]) == {"idx", "speaker", "role", "text"}
            else:
                assert t[side] is None

    # the episode by part of its guest's name, as `speakers set` takes it; --limit keeps the order
    three = json.loads(run(db, "speakers", "review", "zuckerberg", "--limit", "3", "--json").output)
    assert three == turns[:3]
    text = run(db, "speakers", "review", "zuckerberg", "--limit", "3")
    assert text.exit_code == 0, text.output
    assert [int(n) for n in re.findall(r"^turn (\d+) ", text.output, re.M)] == [t["idx"] for t in three]
    assert f"confidence {three[0]['confidence']:.2f}  model" in text.output
    assert text.output.count("  turn    ") == 3 and "  before  " in text.output and "  after   " in text.output
    assert f"3 of {len(turns)} turns" in text.output

    missing = run(db, "speakers", "review", "no such episode at all")
    assert missing.exit_code == 1 and "no episode" in missing.output


def test_api_review_needs_the_key_and_matches_the_cli(client, library_copy, episode):
    db, key = library_copy
    url = f"/api/episodes/{episode}/speakers"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer ptk_wrong"}).status_code == 401
    r = client.get(url, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert r.json() == json.loads(run(db, "speakers", "review", str(episode), "--limit", "0", "--json").output)
    least_confident_first(r.json())
    assert client.get(url, params={"limit": 2}, headers={"X-API-Key": key}).json() == r.json()[:2]
    assert client.get(url, params={"limit": 0}, headers={"X-API-Key": key}).status_code == 422
    missing = client.get("/api/episodes/999999/speakers", headers={"X-API-Key": key})
    assert missing.status_code == 404 and "no episode" in missing.json()["error"]
    assert client.post(url, json={"turn": 0, "person": GUEST}).status_code == 401


def test_unknown_person_or_turn_is_refused_and_nothing_changes(client, library_copy, episode):
    db, key = library_copy
    headers = {"X-API-Key": key}
    url = f"/api/episodes/{episode}/speakers"
    before = stored(db)
    turn = client.get(url, headers=headers).json()[0]["idx"]

    r = client.post(url, json={"turn": turn, "person": "Nobody Atall Here"}, headers=headers)
    assert r.status_code == 400 and "no person called 'Nobody Atall Here'" in r.json()["error"]
    r = client.post(url, json={"turn": 99_999, "person": GUEST}, headers=headers)
    assert r.status_code == 400 and "no turn 99999" in r.json()["error"]
    r = client.post(url, json={"turn": turn, "person": "   "}, headers=headers)
    assert r.status_code == 400
    r = client.post("/api/episodes/999999/speakers", json={"turn": 0, "person": GUEST}, headers=headers)
    assert r.status_code == 404 and "no episode" in r.json()["error"]
    assert client.post(url, json={"turn": -1, "person": GUEST}, headers=headers).status_code == 422
    assert client.post(url, json={"person": GUEST}, headers=headers).status_code == 422

    # the page: the reason shown, status 400, the typed name kept in that turn's form
    sign_in(client, key)
    try:
        page = client.post(url.replace("/api/", "/creator/"), data={"turn": turn, "other": "Nobody Atall Here"})
        assert page.status_code == 400 and 'role="alert"' in page.text
        assert "no person called &#39;Nobody Atall Here&#39;" in page.text
        assert 'value="Nobody Atall Here"' in page.text
        page = client.post(url.replace("/api/", "/creator/"), data={"turn": turn, "person": "", "other": " "})
        assert page.status_code == 400 and "choose who said it" in page.text
        # a turn renumbered since the page listed it is refused rather than mistaken for another
        listed = client.get(url, headers=headers).json()[0]
        page = client.post(
            url.replace("/api/", "/creator/"),
            data={"turn": listed["idx"], "first_sentence": listed["first_sentence"] + 1, "person": GUEST},
        )
        assert page.status_code == 400 and "no longer the one you saw" in page.text
    finally:
        client.cookies.clear()
    assert stored(db) == before


def test_creator_pages_list_the_review_for_signed_in_creators(client, library_copy, episode):
    _, key = library_copy
    url = f"/creator/episodes/{episode}/speakers"
    assert client.get(url).status_code == 401 and "API key" in client.get(url).text
    assert client.post(url, data={"turn": 0, "person": GUEST}).status_code == 401
    sign_in(client, key)
    try:
        assert f'href="{url}"' in client.get("/creator").text  # linked from the creator area
        assert f'href="{url}"' in client.get(f"/episodes/{episode}").text
        page = client.get(url)
        assert page.status_code == 200
        review = client.get(f"/api/episodes/{episode}/speakers", params={"limit": 20}).json()  # the cookie is a key
        listed = [int(n) for n in re.findall(r'<li class="review-turn" id="t-(\d+)"', page.text)]
        assert listed == [t["idx"] for t in review]
        assert page.text.count('<form method="post" action="' + url + '"') == len(review)  # one action per turn
        assert '<option value="Lex Fridman"' in page.text and f'<option value="{GUEST}"' in page.text
        total = len(client.get(f"/api/episodes/{episode}/speakers").json())
        more = client.get(url, params={"limit": 25}).text
        assert len(re.findall(r'<li class="review-turn"', more)) == min(25, total)
        assert client.get("/creator/episodes/999999/speakers").status_code == 404
    finally:
        client.cookies.clear()


def test_a_turn_given_to_the_guest_is_theirs_and_survives_reingest(lex_copy, corpus):
    db, key = lex_copy("speakers-correction")
    service = Service(db)
    headers = {"X-API-Key": key}
    with TestClient(create_app(service)) as c:
        (episode,) = [e["id"] for e in c.get("/api/episodes").json() if e["guests"] == [GUEST]]
        url = f"/api/episodes/{episode}/speakers"
        # the least confident turn the model did not give to the guest
        turn = next(t for t in c.get(url, headers=headers).json() if t["speaker"] != GUEST)
        first, last = turn["first_sentence"], turn["last_sentence"]

        r = c.post(url, json={"turn": turn["idx"], "person": GUEST}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["person"] == GUEST and body["turn"] == turn["idx"] and episode in body["reattributed"]
        # turns may be renumbered (the show is attributed again); the words are the guest's now
        now = covering(body["review"], first)
        assert body["now"] == now
        assert now["speaker"] == GUEST and now["role"] == "guest" and now["origin"] == "correction"
        assert covering(body["review"], last) == now and now["confidence"] == 1.0
        least_confident_first(body["review"])
        assert body["review"] == c.get(url, headers=headers).json()

    def the_guests_words() -> None:
        review = json.loads(run(db, "speakers", "review", str(episode), "--limit", "0", "--json").output)
        assert covering(review, first)["speaker"] == GUEST and covering(review, first)["origin"] == "correction"
        rows = [json.loads(line) for line in run(db, "export", str(episode)).output.splitlines()]
        assert {r["speaker"] for r in rows if first <= r["index"] <= last} == {GUEST}

    the_guests_words()
    service.close()
    again = run(db, "ingest", str(corpus / "lex"), "--no-embed")  # the same files: people rebuilt
    assert again.exit_code == 0, again.output
    assert "episodes added 0" in again.output
    the_guests_words()


def test_a_turn_given_on_the_page_redirects_to_a_confirmation(lex_copy):
    db, key = lex_copy("speakers-page")
    service = Service(db)
    with TestClient(create_app(service)) as c:
        sign_in(c, key)
        (e,) = [e for e in c.get("/api/episodes").json() if e["guests"] == [GUEST]]
        url = f"/creator/episodes/{e['id']}/speakers"
        turn = c.get(f"/api/episodes/{e['id']}/speakers", params={"limit": 1}).json()[0]
        r = c.post(
            url,
            data={"turn": turn["idx"], "first_sentence": turn["first_sentence"], "person": e["host"], "limit": 5},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"{url}?limit=5&changed={turn['first_sentence']}#changed"
        page = c.get(r.headers["location"])
        assert page.status_code == 200
        changed = page.text.split('<section id="changed"', 1)[1].split("</section>", 1)[0]
        assert 'role="status"' in changed and f"is now {e['host']}'s" in changed
        assert (
            f'<span class="speaker">{e["host"]}</span> <span class="count">host, confidence 1.00, correction' in changed
        )
        assert len(re.findall(r'<li class="review-turn"', page.text)) == 5
    service.close()

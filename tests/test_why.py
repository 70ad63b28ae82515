"""Look inside (issue 18): why each reply was given, for the creator only. On the real lex
library: the trace's numbers are the reply's and the library's own (sentence confidences,
P(in record), the cited passages), it shows the check that decided a decline or an abstention,
it is logged with the question, and listeners never see it (API, pages, chat)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from podtwin.api.service import Service
from podtwin.cli.app import app as cli
from podtwin.server import create_app
from podtwin.speakers.calibration import default_calibration
from podtwin.store.library import Library
from podtwin.twin.answer import FEATURES, SPAN_PASSAGES, TRACE_SENTENCES, ask, load_calibration
from podtwin.twin.persona import Persona

ANSWERED = ("Elon Musk", "what do you think about open sourcing AI?")
ABSTAINED = ("Mark Zuckerberg", "which sushi restaurant do you like best?")
STEPS = [
    "disclosure", "off_limits", "creator_pins", "in_record", "speaker_gate", "questions_to_you", "echo", "quotable",
    "premise",
]


@pytest.fixture(scope="module")
def library_copy(lex_copy):
    return lex_copy("why")


@pytest.fixture(scope="module")
def library(library_copy):
    with Library(library_copy[0]) as lib:
        yield lib


@pytest.fixture(scope="module")
def client(library_copy):
    service = Service(library_copy[0])
    with TestClient(create_app(service)) as c:
        yield c
    service.close()


def stored(library, episode_id: int, idx: int) -> tuple[float, str | None, str]:
    """A sentence's speaker confidence as the library stores it, what gave the speaker, and the speaker."""
    return library.db.execute(
        """SELECT coalesce(s.speaker_confidence, 1.0), t.origin, s.speaker FROM sentences s
           LEFT JOIN turns t ON t.episode_id = s.episode_id AND t.idx = s.turn
           WHERE s.episode_id = ? AND s.idx = ?""",
        [episode_id, idx],
    ).fetchone()


def test_an_answer_shows_its_checks_candidates_and_the_confidence_of_each_quoted_sentence(library):
    reply = ask(library, *ANSWERED)
    assert not reply.abstained and reply.citations
    why = reply.why.as_json()
    json.dumps(why)  # JSON-able as it is
    assert [c["name"] for c in why["checks"]] == STEPS
    assert all(set(c) == {"name", "outcome", "detail"} for c in why["checks"])

    record = why["in_record"]  # P(in record) is the reply's confidence, above the threshold it was held to
    assert record["p"] == reply.confidence and record["decision"] == "answer"
    assert record["threshold"] == load_calibration().threshold <= reply.confidence
    assert set(record["features"]) == set(FEATURES)

    # each quoted sentence: exactly the cited ones, with the confidence and speaker the library stores
    threshold = default_calibration().threshold
    assert [b["n"] for b in why["quoted"]] == list(range(1, len(reply.citations) + 1))
    for block, citation in zip(why["quoted"], reply.citations):
        assert block["episode_id"] == citation.episode_id
        assert [s["sentence"] for s in block["sentences"]] == list(range(citation.sentence, citation.last_sentence + 1))
        for s in block["sentences"]:
            confidence, origin, speaker = stored(library, citation.episode_id, s["sentence"])
            assert s["confidence"] == confidence >= threshold
            assert s["given_by"] == origin and s["by_model"] == (origin == "model")
            assert s["speaker"] == speaker == "Elon Musk"

    # the candidates: the fused results ranked 1..n, the passages weighed, and the cited ones among them
    candidates = why["candidates"]
    fused = [p["fused_rank"] for p in candidates if p["fused_rank"] is not None]
    assert sorted(fused) == list(range(1, len(fused) + 1))
    assert 1 <= sum(p["chosen"] for p in candidates) <= SPAN_PASSAGES
    cited = [p for p in candidates if p["cited"]]
    assert {p["passage_id"] for p in cited} == {b["passage_id"] for b in why["quoted"]}
    for block, citation in zip(why["quoted"], reply.citations):
        (p,) = [p for p in cited if p["passage_id"] == block["passage_id"]]
        assert p["chosen"] and p["episode_id"] == citation.episode_id
        assert p["first_sentence"] <= citation.last_sentence and p["last_sentence"] >= citation.sentence
    for p in candidates:
        assert p["cosine"] is not None and -1 <= p["cosine"] <= 1

    # the candidate sentences: best first, the quoted ones marked
    scores = [s["score"] for s in why["sentences"]]
    assert 1 <= len(scores) <= TRACE_SENTENCES and scores == sorted(scores, reverse=True)
    quoted = {(b["episode_id"], s["sentence"]) for b in why["quoted"] for s in b["sentences"]}
    assert any(s["quoted"] for s in why["sentences"])
    assert all(s["quoted"] == ((s["episode_id"], s["sentence"]) in quoted) for s in why["sentences"])

    # what the speaker checks left out is what the reply says it left out
    checks = {c["name"]: c for c in why["checks"]}
    gate, asks = checks["speaker_gate"]["detail"], checks["questions_to_you"]["detail"]
    assert gate["withheld"] + asks["withheld"] == reply.withheld_sentences
    assert gate["threshold"] == threshold
    for s in gate["sentences"]:
        assert s["confidence"] == stored(library, s["episode_id"], s["sentence"])[0] < threshold
    for s in asks["sentences"]:
        assert s["given_by"] == "model"
    assert checks["off_limits"]["outcome"] == "no topics" and checks["in_record"]["outcome"] == "answered"


def test_an_off_limits_question_shows_the_check_that_declined_it(library):
    persona = Persona("Elon Musk", off_limits=["war"])
    threshold = load_calibration().topic_threshold
    by_meaning = ask(library, "Elon Musk", "what makes people fight each other?", persona=persona)
    assert by_meaning.declined_by_policy
    why = by_meaning.why.as_json()
    assert [c["name"] for c in why["checks"]] == ["disclosure", "off_limits"]  # nothing after the decline ran
    check = why["checks"][1]
    assert check["outcome"] == "declined" and check["detail"]["topic"] == "war"
    assert check["detail"]["threshold"] == threshold
    war = next(t for t in check["detail"]["topics"] if t["topic"] == "war")
    assert war["cosine"] >= threshold and not war["word_match"]
    assert why["in_record"] is None and why["candidates"] == [] and why["quoted"] == []

    by_word = ask(library, "Elon Musk", "is war ever justified?", persona=persona).why.as_json()
    check = by_word["checks"][1]
    assert check["outcome"] == "declined" and check["detail"]["topic"] == "war"
    assert next(t for t in check["detail"]["topics"] if t["topic"] == "war")["word_match"]

    allowed = ask(library, "Elon Musk", "how much compute was Grok trained on?", persona=persona).why.as_json()
    check = allowed["checks"][1]
    assert check["outcome"] == "passed" and check["detail"]["topic"] is None
    assert all(not t["word_match"] and t["cosine"] < threshold for t in check["detail"]["topics"])


def test_an_abstention_shows_the_threshold_decision(library):
    reply = ask(library, *ABSTAINED)
    assert reply.abstained
    why = reply.why.as_json()
    record = why["in_record"]
    assert record["decision"] == "abstain" and record["p"] == reply.confidence < record["threshold"]
    check = next(c for c in why["checks"] if c["name"] == "in_record")
    assert check["outcome"] == "abstained"
    assert check["detail"] == {"p": reply.confidence, "threshold": record["threshold"]}
    assert why["candidates"] and not any(p["chosen"] or p["cited"] for p in why["candidates"])
    assert why["quoted"] == [] and why["sentences"] == []


def test_the_public_reply_never_holds_the_trace(library, client):
    reply = ask(library, *ANSWERED)
    public = reply.as_json()
    assert "why" not in public and reply.why is not None
    r = client.post("/api/ask", json={"person": "elon-musk", "question": ANSWERED[1]})
    assert r.status_code == 200 and "why" not in r.json() and '"checks"' not in r.text
    # asked for without the creator's key: refused, not quietly left out
    r = client.post("/api/ask", json={"person": "elon-musk", "question": ANSWERED[1], "explain": True})
    assert r.status_code == 401 and "API key" in r.json()["error"]
    chat = client.post("/v1/chat/completions", json={"model": "elon-musk", "messages": [
        {"role": "user", "content": ANSWERED[1]}]}).json()  # fmt: skip
    assert "why" not in chat["podtwin"] and '"checks"' not in json.dumps(chat)
    page = client.post("/people/elon-musk", data={"question": ANSWERED[1]}).text
    assert "Checks that ran" not in page and "/creator/questions/" not in page


def test_the_creator_gets_the_trace_and_the_logged_one_later(client, library_copy):
    _, key = library_copy
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/api/ask", json={"person": "elon-musk", "question": ANSWERED[1], "explain": True}, headers=auth)
    assert r.status_code == 200
    reply = r.json()
    why = reply.pop("why")
    assert why["in_record"]["p"] == reply["confidence"] and why["quoted"]

    url = f"/api/questions/{reply['question_id']}/why"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "ptk_not-a-key"}).status_code == 401
    logged = client.get(url, headers=auth).json()
    assert logged["why"] == why  # what was logged is what the creator was shown
    assert logged["question"] == ANSWERED[1] and logged["outcome"] == "answered"
    assert logged["reply"] == {k: v for k, v in reply.items() if k != "question_id"}
    assert logged["confidence"] == reply["confidence"]
    assert client.get("/api/questions/99999999/why", headers=auth).status_code == 404

    # a listener's question (no explain): logged with its trace all the same
    asked = client.post("/api/ask", json={"person": "mark-zuckerberg", "question": ABSTAINED[1]}).json()
    logged = client.get(f"/api/questions/{asked['question_id']}/why", headers=auth).json()
    assert logged["outcome"] == "abstained" and logged["why"]["in_record"]["decision"] == "abstain"


def test_the_why_page(client, library_copy):
    _, key = library_copy
    asked = client.post("/api/ask", json={"person": "elon-musk", "question": ANSWERED[1]}).json()
    page = f"/creator/questions/{asked['question_id']}"
    client.cookies.clear()
    assert client.get(page).status_code == 401  # the sign-in page
    assert client.post("/creator/login", data={"key": key}, follow_redirects=False).status_code == 303
    try:
        assert f'href="{page}"' in client.get("/creator/people/elon-musk").text  # the person page links it
        r = client.get(page)
        assert r.status_code == 200
        html = r.text
        assert "<script" not in html and "Checks that ran" in html and "P(in record)" in html
        why = client.get(f"/api/questions/{asked['question_id']}/why").json()["why"]
        assert f"{why['in_record']['p']:.3f}" in html
        for feature in FEATURES:
            assert f"<code>{feature}</code>" in html
        rows = re.findall(r"<tr[^>]*>\s*<td><a href=\"/episodes/\d+\?cite=", html)
        assert len(rows) >= len(why["candidates"])  # a row a candidate passage (and a row a sentence)
        for block in why["quoted"]:  # every quoted sentence, with its confidence
            for s in block["sentences"]:
                assert f"confidence {s['confidence']:.3f}" in html
        assert client.get("/creator/questions/99999999").status_code == 404
    finally:
        client.cookies.clear()


def test_cli_ask_explain_and_questions_why(library_copy):
    db, _ = library_copy
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db), "ask", "--as", ANSWERED[0], ANSWERED[1], "--explain", "--json"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["why"]["in_record"]["p"] == reply["confidence"]
    result = runner.invoke(cli, ["--db", str(db), "ask", "--as", ANSWERED[0], ANSWERED[1], "--json"])
    assert "why" not in json.loads(result.output)
    result = runner.invoke(cli, ["--db", str(db), "ask", "--as", ANSWERED[0], ANSWERED[1], "--explain"])
    assert result.exit_code == 0 and "checks that ran" in result.output and "P(in record)" in result.output

    service = Service(db)
    try:
        question_id = service.ask(*ABSTAINED)["question_id"]
    finally:
        service.close()
    listed = runner.invoke(cli, ["--db", str(db), "questions", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["id"] == question_id
    result = runner.invoke(cli, ["--db", str(db), "questions", "why", str(question_id), "--json"])
    assert result.exit_code == 0, result.output
    logged = json.loads(result.output)
    assert logged["why"]["in_record"]["decision"] == "abstain"
    result = runner.invoke(cli, ["--db", str(db), "questions", "why", str(question_id)])
    assert result.exit_code == 0 and "in_record: abstained" in result.output
    result = runner.invoke(cli, ["--db", str(db), "questions", "why", "99999999"])
    assert result.exit_code == 1 and "no question 99999999" in result.output


@pytest.fixture
def half_supported_llm_url():
    """An OpenAI-compatible endpoint on loopback that answers with the first passage it is given,
    then a sentence of its own that nothing the person said supports."""
    made_up = "My cat is called Biscuit and she paints watercolours."

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = request["messages"][-1]["content"]
            first = re.search(r"^\[1\] (.*)$", prompt, re.M)[1]
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": f"{first} {made_up}"}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", made_up
    finally:
        server.shutdown()
        server.server_close()


def test_the_generative_support_check_lists_the_sentences_it_removed(library, half_supported_llm_url):
    url, made_up = half_supported_llm_url
    reply = ask(library, *ANSWERED, llm=url)
    assert reply.removed_sentences == 1
    (check,) = [c for c in reply.why.as_json()["checks"] if c["name"] == "generative_support"]
    assert check["outcome"] in ("removed", "fell back")
    assert check["outcome"] == ("fell back" if reply.mode.startswith("extractive") else "removed")
    detail = check["detail"]
    assert detail["generated"] == reply.generated_sentences and detail["removed"] == 1
    (removed,) = detail["removed_sentences"]
    assert removed["text"] == made_up
    assert removed["cosine"] < detail["min_cosine"] or removed["word_share"] < detail["min_word_share"]

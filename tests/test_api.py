"""The JSON API, the pages' safety and the service's limits, through httpx against the app."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from podtwin.api.service import Limits, Service
from podtwin.server import create_app
from podtwin.store.keys import create_key, revoke_key
from podtwin.store.library import Library

TRANSCRIPT = """Ada Lovelace: Welcome to the show. Today I talk with Grace about compilers.
Grace Hopper: Thanks for having me. <script>alert("owned")</script> The first compiler I wrote was called A-0.
Ada Lovelace: What did it do?
Grace Hopper: It turned symbolic code into machine code, so people could write programs faster.
"""


@pytest.fixture(scope="module")
def library_copy(lex_copy):
    return lex_copy("api")


@pytest.fixture(scope="module")
def client(library_copy):
    db, _ = library_copy
    service = Service(db)
    with TestClient(create_app(service)) as c:
        yield c
    service.close()


@pytest.fixture(scope="module")
def key(library_copy):
    return library_copy[1]


def test_people_and_person(client):
    people = client.get("/api/people").json()
    mark = next(p for p in people if p["slug"] == "mark-zuckerberg")
    assert mark["name"] == "Mark Zuckerberg" and mark["words"] > 1000
    info = client.get("/api/people/mark-zuckerberg").json()
    assert "AI" in info["persona"]["disclosure_text"] and "Mark Zuckerberg" in info["persona"]["disclosure_text"]
    assert info["topics"] and all(t["term"].isalpha() for t in info["topics"])
    assert client.get("/api/people/nobody-here").status_code == 404


def test_episodes(client):
    episodes = client.get("/api/episodes").json()
    assert len(episodes) >= 4
    one = client.get(f"/api/episodes/{episodes[0]['id']}", params={"transcript": True}).json()
    assert one["sources"] and one["sentences"][0]["text"]
    assert client.get("/api/episodes/999999").status_code == 404


def test_search(client):
    body = client.get("/api/search", params={"q": "metaverse avatars", "speaker": "Mark Zuckerberg"}).json()
    assert body["hits"] and all(h["speaker"] == "Mark Zuckerberg" for h in body["hits"])
    assert any(h["highlights"] for h in body["hits"])
    assert client.get("/api/search", params={"q": ""}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "limit": 500}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "mode": "magic"}).status_code == 422


def test_ask_has_the_cli_json_shape_and_only_the_persons_words(client, key):
    r = client.post("/api/ask", json={"person": "mark-zuckerberg", "question": "what do you think about open source?"})
    assert r.status_code == 200
    reply = r.json()
    for field in ("persona", "question", "answer", "abstained", "declined_by_policy", "citations", "disclosure"):
        assert field in reply
    assert reply["mode"] == "extractive" and reply["latency_ms"] > 0
    assert reply["citations"] and all(c["speaker"] == "Mark Zuckerberg" for c in reply["citations"])
    for c in reply["citations"]:
        for field in ("episode_id", "episode_number", "title", "source_file", "start_char", "end_char", "quote"):
            assert field in c
    # the answer as blocks: the main one, then "also" ones, each with its own citation
    blocks = reply["blocks"]
    assert 1 <= len(blocks) <= 3 and [b["role"] for b in blocks] == ["answer"] + ["also"] * (len(blocks) - 1)
    for n, b in enumerate(blocks, 1):
        assert b["n"] == n and b["citation"] == reply["citations"][n - 1] and b["quote"] == b["citation"]["quote"]
        assert b["text"] and b["text"] in reply["answer"]
    assert len(reply["answer"].split("\n\n")) >= len(blocks)  # a paragraph a block
    # the creator sees it among the questions asked; only with a key
    assert client.get("/api/people/mark-zuckerberg/questions").status_code == 401
    asked = client.get("/api/people/mark-zuckerberg/questions", headers={"Authorization": f"Bearer {key}"}).json()
    assert asked[0]["question"] == "what do you think about open source?" and asked[0]["channel"] == "api"


def test_ask_refuses_bad_input(client):
    assert client.post("/api/ask", json={"person": "mark-zuckerberg", "question": "x" * 1001}).status_code == 422
    assert client.post("/api/ask", json={"person": "mark-zuckerberg"}).status_code == 422
    r = client.post("/api/ask", json={"person": "nobody-here", "question": "hello?"})
    assert r.status_code == 404 and "nobody" in r.json()["error"].lower()


def test_persona_edits_need_a_valid_key(client, key, library_copy):
    change = {"off_limits": ["war"], "decline": "Not a topic for this twin."}
    url = "/api/people/elon-musk/persona"
    assert client.patch(url, json=change).status_code == 401
    assert client.patch(url, json=change, headers={"Authorization": "Bearer ptk_wrong"}).status_code == 401
    r = client.patch(url, json=change, headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["off_limits"] == ["war"]
    reply = client.post("/api/ask", json={"person": "elon-musk", "question": "what makes people fight each other?"})
    assert reply.json()["declined_by_policy"] and reply.json()["answer"] == "Not a topic for this twin."
    assert client.patch(url, json={"style": "shouting"}, headers={"X-API-Key": key}).status_code == 422
    # a revoked key stops working at once
    db, _ = library_copy
    with Library(db) as library:
        other = create_key(library.db, "temporary")
        assert client.patch(url, json={"max_words": 100}, headers={"X-API-Key": other}).status_code == 200
        revoke_key(library.db, library.db.execute("SELECT max(id) FROM api_keys").fetchone()[0])
    assert client.patch(url, json={"max_words": 90}, headers={"X-API-Key": other}).status_code == 401


def test_upload_stays_in_the_library_folder_and_pages_escape_transcripts(client, key, library_copy):
    db, _ = library_copy
    headers = {"X-API-Key": key}
    files = {"file": ("../../../etc/evil name.txt", TRANSCRIPT.encode(), "text/plain")}
    assert client.post("/api/uploads", files=files).status_code == 401
    r = client.post("/api/uploads", files=files, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    stored = (db.parent / report["stored_as"]).resolve()
    assert stored.parent == (db.parent / "uploads").resolve() and stored.name == "evil_name.txt"
    assert report["added"] and not report["failed"]
    episode = report["episode_ids"][0]
    html = client.get(f"/episodes/{episode}").text
    assert "alert(" in html and "<script>alert" not in html and "&lt;script&gt;" in html
    assert client.get("/search", params={"q": "compiler <b>A-0</b>"}).text.count("<b>A-0</b>") == 0
    # the same file again is recognised and not kept on disk; the first stays as it was
    uploads = sorted(p.name for p in stored.parent.iterdir())
    again = client.post("/api/uploads", files=files, headers=headers).json()
    assert again["skipped"] == ["evil_name-2.txt"] and again["stored_as"] is None and not again["added"]
    assert sorted(p.name for p in stored.parent.iterdir()) == uploads and stored.read_text() == TRANSCRIPT
    # a different file of the same name does not overwrite the first
    files = {"file": ("evil name.txt", TRANSCRIPT.replace("compiler", "linker").encode(), "text/plain")}
    other = client.post("/api/uploads", files=files, headers=headers).json()
    assert other["stored_as"] == "uploads/evil_name-2.txt" and stored.read_text() == TRANSCRIPT
    bad = client.post("/api/uploads", files={"file": ("x.exe", b"MZ\x90", "application/octet-stream")}, headers=headers)
    assert bad.status_code == 400 and "not a transcript type" in bad.json()["error"]
    binary = client.post("/api/uploads", files={"file": ("x.txt", b"\xff\xfe\x00bad", "text/plain")}, headers=headers)
    assert binary.status_code == 400 and "UTF-8" in binary.json()["error"]


def test_limits_on_size_and_rate(library_copy):
    db, _ = library_copy
    service = Service(db, limits=Limits(request_bytes=2000, requests_per_minute=6))
    with TestClient(create_app(service)) as c:
        big = c.post("/api/ask", json={"person": "mark-zuckerberg", "question": "y" * 900, "history": ["z" * 900] * 3})
        assert big.status_code == 413
        # no Content-Length (a chunked body): refused once the bytes read pass the limit
        chunked = c.post(
            "/api/ask",
            content=iter([b'{"person": "mark-zuckerberg", "question": "', b"y" * 3000, b'"}']),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        codes = [c.get("/api/episodes").status_code for _ in range(6)]
        assert codes[:4] == [200] * 4 and 429 in codes[4:]
    service.close()


def test_private_library_needs_a_key_to_read(library_copy):
    db, key = library_copy
    service = Service(db)
    with TestClient(create_app(service, private=True)) as c:
        assert c.get("/api/people").status_code == 401
        assert c.get("/", follow_redirects=False).status_code == 401
        assert c.get("/api/people", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        for elsewhere in ("//evil.example", "https://evil.example/", "//evil"):  # never off the site
            r = c.post("/creator/login", data={"key": key, "next": elsewhere}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/creator"
        assert c.post("/creator/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
        assert c.get("/").status_code == 200  # the login set the cookie
    service.close()


def test_pages_render(client):
    assert "Mark Zuckerberg" in client.get("/").text
    page = client.get("/people/mark-zuckerberg").text
    assert 'class="disclosure"' in page and "Talked about most" in page
    answered = client.post("/people/mark-zuckerberg", data={"question": "what is the metaverse?"}).text
    assert 'class="citations"' in answered and "/episodes/" in answered
    # each block of the answer is a paragraph of its own, with its own reference
    twitter = {"person": "elon-musk", "question": "Why did you buy Twitter?"}
    blocks = client.post("/api/ask", json=twitter).json()["blocks"]
    html = client.post("/people/elon-musk", data={"question": twitter["question"]}).text
    paras = re.findall(r'<p class="block">(.*?)</p>', html, re.S)
    cited = [p for p in paras if 'class="said"' in p]
    assert len(cited) == len(blocks) >= 1
    for n, para in enumerate(cited, 1):
        assert re.findall(r'class="ref"[^>]*>\[(\d+)\]', para) == [str(n)]
    assert client.get("/people/nobody-here").status_code == 404
    assert "<mark>" in client.get("/search", params={"q": "metaverse"}).text
    assert client.get("/creator").status_code == 200 and "API key" in client.get("/creator").text
    assert client.get("/creator/login").status_code == 405

"""What the security and reliability review found, each confirmed fixed against the running app:
configuration never reaches a client, no message is over a question's cap, the disclosure is
never replaced, forwarded headers are trusted only from named proxies, bad ids are 4xx, the
creator's cookie is a session guarded from other sites, replies show file names only, the
off-limits list is the creator's, and the API's reference is private under --private."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from podtwin.api.app import default_workers
from podtwin.api.service import Limits, Service
from podtwin.errors import LLMError, PersonaError
from podtwin.server import create_app
from podtwin.store.keys import create_key, revoke_key
from podtwin.store.library import Library
from podtwin.twin.generate import chat_completion
from podtwin.twin.persona import Persona, save_persona

ELON = "elon-musk"
ANSWERED = "What do you think about the first principles approach to engineering?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def library_copy(lex_copy):
    return lex_copy("security")


@pytest.fixture(scope="module")
def service(library_copy):
    service = Service(library_copy[0], limits=Limits(requests_per_minute=0))
    yield service
    service.close()


@pytest.fixture(scope="module")
def key(library_copy) -> str:
    return library_copy[1]


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service)) as c:
        yield c


def questions_logged(db: Path) -> int:
    with Library(db) as library:
        return library.db.execute("SELECT count(*) FROM questions").fetchone()[0]


# -- 1. the language model's address ----------------------------------------------------------

SECRETS = ("hunter2", "sk-S3CRET", "llm-user")


def test_an_unreachable_model_leaks_no_configuration_and_the_twin_answers_extractively(service):
    url = f"http://llm-user:hunter2@127.0.0.1:{free_port()}/v1?api_key=sk-S3CRET"
    with TestClient(create_app(service, llm=url)) as c:
        r = c.post("/api/ask", json={"person": ELON, "question": ANSWERED})
        assert r.status_code == 200, r.text
        reply = r.json()
        assert reply["mode"] == "extractive (language model unavailable)" and reply["citations"]
        assert "could not be reached" in reply["answer"]
        chat = c.post("/v1/chat/completions", json={"model": ELON, "messages": [{"role": "user", "content": ANSWERED}]})
        assert chat.status_code == 200 and "could not be reached" in chat.json()["choices"][0]["message"]["content"]
        streamed = c.post(
            "/v1/chat/completions",
            json={"model": ELON, "stream": True, "messages": [{"role": "user", "content": ANSWERED}]},
        )
        assert streamed.status_code == 200 and "[DONE]" in streamed.text
        page = c.post(f"/people/{ELON}", data={"question": ANSWERED})
        assert page.status_code == 200
    for text in (r.text, chat.text, streamed.text, page.text):
        assert not any(secret in text for secret in SECRETS)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the handler's name in http.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        status = 200 if self.path.startswith("/v1/") else 503
        data = json.dumps({"choices": [{"message": {"content": "Rockets are hard."}}]}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_credentials_in_the_url_go_as_basic_auth_and_errors_never_quote_the_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        text = chat_completion(f"http://llm-user:hunter2@127.0.0.1:{port}/v1?api_key=sk-S3CRET", [])
        assert text == "Rockets are hard."
        seen = _Recorder.seen[-1]
        assert seen["path"] == "/v1/chat/completions?api_key=sk-S3CRET"
        assert seen["auth"] == "Basic bGxtLXVzZXI6aHVudGVyMg=="  # llm-user:hunter2
        with pytest.raises(LLMError) as failed:  # the server answers 503 outside /v1/
            chat_completion(f"http://llm-user:hunter2@127.0.0.1:{port}/chat/completions?api_key=sk-S3CRET", [])
        assert "503" in str(failed.value)
    finally:
        server.shutdown()
    for url in (f"http://llm-user:hunter2@127.0.0.1:{free_port()}/v1?api_key=sk-S3CRET", "http://llm-user:hunter2@:x"):
        with pytest.raises(LLMError) as failed:
            chat_completion(url, [])
        assert not any(secret in str(failed.value) for secret in SECRETS) and "127.0.0.1" not in str(failed.value)


# -- 2. the size of every message -------------------------------------------------------------


def test_no_message_or_history_item_is_over_a_questions_cap(client, library_copy):
    db = library_copy[0]
    before = questions_logged(db)
    huge = "tell me about rockets " * 230_000  # 5 MB, under the body limit
    r = client.post(
        "/v1/chat/completions",
        json={"model": ELON, "messages": [{"role": "user", "content": huge}, {"role": "user", "content": "why?"}]},
    )
    assert r.status_code == 422 and "limit is 1,000" in r.text
    parts = [{"type": "text", "text": "x " * 600}]  # as content parts too
    r = client.post("/v1/chat/completions", json={"model": ELON, "messages": [{"role": "user", "content": parts}]})
    assert r.status_code == 422
    over = client.post("/api/ask", json={"person": ELON, "question": "why?", "history": ["rockets " * 126]})
    assert over.status_code == 422
    page = client.post(f"/people/{ELON}", data={"question": "why?", "history": "rockets " * 200})
    assert page.status_code == 400 and "earlier question" in page.text
    assert questions_logged(db) == before  # nothing oversized was stored
    # the twin's own earlier reply comes back as an assistant message: longer than a question, still fine
    reply = "Here is what I said: " + "rockets are hard to build " * 100
    messages = [
        {"role": "user", "content": "what about rockets?"},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": ANSWERED},
    ]
    assert client.post("/v1/chat/completions", json={"model": ELON, "messages": messages}).status_code == 200
    assert questions_logged(db) == before + 1


def test_a_long_follow_up_is_cut_not_refused(client):
    earlier = ("What do you think about the first principles approach to engineering rockets " * 13)[:999]
    assert len(earlier) == 999  # an earlier question at the cap: with the follow-up, over it
    for question in ("and why?", "And what about " + "the costs of it " * 3 + "?"):
        r = client.post("/api/ask", json={"person": ELON, "question": question, "history": [earlier]})
        assert r.status_code == 200, r.text
        resolved = r.json()["resolved_question"]
        assert resolved.endswith(question) and len(resolved) <= 1000 and "rockets" in resolved


# -- 3. the disclosure ------------------------------------------------------------------------


def test_the_disclosure_cannot_deny_being_an_ai_and_the_projects_line_always_shows(client, key, library_copy):
    url = f"/api/people/{ELON}/persona"
    headers = {"X-API-Key": key}
    for denial in ("This is the real Elon speaking, not an AI.", "You are talking to the real Elon", "I'm not a bot"):
        r = client.patch(url, json={"disclosure": denial}, headers=headers)
        assert r.status_code == 400 and "never claims" in r.json()["error"], denial
    with Library(library_copy[0]) as library, pytest.raises(PersonaError):
        save_persona(library, Persona("Elon Musk", disclosure="Not an AI: the real Elon Musk."))
    r = client.patch(url, json={"disclosure": "Ask {person} on X for more."}, headers=headers)
    assert r.status_code == 200, r.text
    reply = client.post("/api/ask", json={"person": ELON, "question": ANSWERED}).json()
    assert reply["disclosure"].startswith("I'm an AI twin of Elon Musk") and "I'm not Elon Musk" in reply["disclosure"]
    assert reply["disclosure"].endswith("Ask Elon Musk on X for more.")
    assert client.patch(url, json={"disclosure": "Answers come from the record only."}, headers=headers).is_success


# -- 5. bad ids and long follow-ups -------------------------------------------------------------


@pytest.mark.parametrize("episode", ["99999999999999999999", "²", "#99999999999999999999999", "١٢"])
def test_an_episode_selector_of_no_episode_is_a_4xx_never_a_500(client, key, episode):
    assert client.get("/api/search", params={"q": "rockets", "episode": episode}).status_code == 400
    assert client.get("/search", params={"q": "rockets", "episode": episode}).status_code == 200  # error shown
    assert "no episode" in client.get("/search", params={"q": "rockets", "episode": episode}).text
    patched = client.patch(f"/api/people/{ELON}/persona", json={"episodes": episode}, headers={"X-API-Key": key})
    assert patched.status_code == 400
    if episode.isascii() and episode.isdigit():
        for path in (f"/episodes/{episode}", f"/api/episodes/{episode}", f"/creator/episodes/{episode}/speakers"):
            assert client.get(path, headers={"X-API-Key": key}).status_code in (404, 422), path
        speakers = client.get(f"/api/episodes/{episode}/speakers", headers={"X-API-Key": key})
        assert speakers.status_code in (404, 422)
    elif not episode.startswith("#"):  # (in a path, # starts the fragment)
        assert client.get(f"/episodes/{episode}").status_code == 422


# -- 6. the creator's session, other sites, paths, off-limits topics, /docs ------------------------


def test_the_cookie_holds_a_session_not_the_key_and_sign_out_or_revoking_ends_it(service, library_copy):
    db = library_copy[0]
    with Library(db) as library:
        key = create_key(library.db, "session test")
        key_id = library.db.execute("SELECT max(id) FROM api_keys").fetchone()[0]
    with TestClient(create_app(service), base_url="https://testserver") as c:
        r = c.post("/creator/login", data={"key": key}, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert key not in cookie and "podtwin_session=pts_" in cookie
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert c.get("/api/people/elon-musk/questions").status_code == 200  # the session is the creator
        session = c.cookies.get("podtwin_session")
        c.post("/creator/logout")
        c.cookies.set("podtwin_session", session)
        assert c.get("/api/people/elon-musk/questions").status_code == 401  # ended on sign-out
        c.cookies.clear()
        c.post("/creator/login", data={"key": key})
        assert c.get("/api/people/elon-musk/questions").status_code == 200
        with Library(db) as library:
            revoke_key(library.db, key_id)
        assert c.get("/api/people/elon-musk/questions").status_code == 401  # ended with its key
    with TestClient(create_app(service)) as c:  # over http: no Secure flag, or the browser would drop it
        with Library(db) as library:
            other = create_key(library.db, "plain http")
        r = c.post("/creator/login", data={"key": other}, follow_redirects=False)
        assert r.status_code == 303 and "Secure" not in r.headers["set-cookie"]


def test_other_sites_cannot_post_with_the_creators_cookie(service, key):
    with TestClient(create_app(service)) as c:
        evil = {"Origin": "https://evil.example"}
        assert c.post("/creator/login", data={"key": key}, headers=evil).status_code == 403
        assert c.post("/creator/login", data={"key": key}, follow_redirects=False).status_code == 303
        url = f"/creator/people/{ELON}"
        form = {"disclosure": "Answers come from the record only.", "style": "verbatim", "max_words": "120"}
        for headers in (
            evil,
            {"Origin": "null"},
            {"Referer": "https://evil.example/page"},
            {"Sec-Fetch-Site": "cross-site"},  # a browser that sent neither Origin nor Referer
        ):
            r = c.post(url, data=form, headers=headers, follow_redirects=False)
            assert r.status_code == 403 and "another site" in r.text, headers
        for headers in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/creator"}):
            assert c.post(url, data=form, headers=headers, follow_redirects=False).status_code == 303, headers
        # the JSON API with the cookie is guarded alike; with a key in a header, no cookie, it is not
        patch = {"max_words": 120}
        assert c.patch(f"/api/people/{ELON}/persona", json=patch, headers=evil).status_code == 403
        c.cookies.clear()
        headers = {**evil, "X-API-Key": key}
        assert c.patch(f"/api/people/{ELON}/persona", json=patch, headers=headers).status_code == 200
        # a public question from another site carries no session: nothing to forge
        assert c.post("/api/ask", json={"person": ELON, "question": ANSWERED}, headers=evil).status_code == 200


def test_replies_and_pages_show_file_names_not_server_paths(client, corpus):
    folder = str(corpus.resolve())
    episodes = client.get("/api/episodes").json()
    one = episodes[0]["id"]
    texts = [
        client.get(f"/api/episodes/{one}", params={"transcript": True}).text,
        client.get(f"/episodes/{one}").text,
        client.get("/api/search", params={"q": "rockets"}).text,
        client.get("/search", params={"q": "rockets"}).text,
        client.post("/api/ask", json={"person": ELON, "question": ANSWERED}).text,
        client.post(
            "/v1/chat/completions", json={"model": ELON, "messages": [{"role": "user", "content": ANSWERED}]}
        ).text,
    ]
    info = client.get(f"/api/episodes/{one}").json()
    assert info["sources"] and all("/" not in s["path"] and s["path"].endswith(".txt") for s in info["sources"])
    for text in texts:
        assert folder not in text and "/lex/" not in text


def test_off_limits_topics_are_shown_only_to_the_creator(client, key):
    headers = {"X-API-Key": key}
    url = f"/api/people/{ELON}/persona"
    assert client.patch(url, json={"off_limits": ["his children"]}, headers=headers).json()["off_limits"] == [
        "his children"
    ]
    try:
        for path in (url, f"/api/people/{ELON}"):
            public = client.get(path).json()
            persona = public.get("persona", public)
            assert "off_limits" not in persona and "his children" not in json.dumps(public)
            mine = client.get(path, headers=headers).json()
            assert mine.get("persona", mine)["off_limits"] == ["his children"]
        assert "his children" not in client.get(f"/people/{ELON}").text
        assert "his children" not in client.get("/openapi.json").text
    finally:
        client.patch(url, json={"off_limits": []}, headers=headers)


def test_the_api_reference_is_private_under_private_and_served_from_this_site(service, key):
    with TestClient(create_app(service, private=True)) as c:
        for path in ("/openapi.json", "/docs"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": key}).status_code == 200, path
    with TestClient(create_app(service)) as c:
        page = c.get("/docs")
        assert page.status_code == 200 and "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
        assert c.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
        assert c.get("/docs/assets/swagger-ui.css").status_code == 200
        assert "/api/ask" in c.get("/openapi.json").json()["paths"]


def test_workers_are_what_serve_promises(service):
    cores = os.cpu_count() or 2
    assert default_workers(None) == cores and default_workers("http://127.0.0.1:1/v1") == 4 * cores
    for llm, workers, expected in ((None, None, cores), ("http://127.0.0.1:1/v1", None, 4 * cores), (None, 3, 3)):
        with TestClient(create_app(service, llm=llm, workers=workers)) as c:
            tokens = c.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == expected, (llm, workers)


# -- 4. forwarded headers, against a real `podtwin serve` ---------------------------------------


def serve(db: Path, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "podtwin.cli", "--db", str(db), "serve", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            urllib.request.urlopen(f"{url}/api/people", timeout=2).close()
            return process, url
        except OSError:  # not listening yet (urllib's errors are OSErrors)
            time.sleep(0.25)
    process.kill()
    raise AssertionError("the server did not start")


def status(url: str, headers: dict[str, str]) -> int:
    """The status of a GET (urllib: the test extra has no other client of its own)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_forwarded_for_is_trusted_only_from_named_proxies(library_copy):
    db = library_copy[0]
    codes = {}
    for options in ((), ("--forwarded-allow-ips", "127.0.0.1")):
        process, url = serve(db, "--rate-limit", "3", *options)
        try:
            codes[options] = [status(f"{url}/api/episodes", {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(6)]
        finally:
            process.terminate()
            process.wait(10)
    # by default the header is ignored: six requests of one address pass its limit of three a
    # minute (in one minute, or across two: either way at least one is refused) ...
    assert 429 in codes[()] and set(codes[()]) <= {200, 429}
    # ... and from a named proxy each forwarded address is a client of its own
    assert codes[("--forwarded-allow-ips", "127.0.0.1")] == [200] * 6


# -- the house: one resolution per request --------------------------------------------------------


def test_a_request_resolves_its_person_once(service, monkeypatch):
    """/api/ask, /v1 and the page's ask each name the person once: resolving it (a slug, an id
    or a spelling of the name) happens once per request, not again in each layer below."""
    import podtwin.api.service as service_module
    import podtwin.store.people as people_module

    calls: list[str] = []
    resolve, lookup = Service.person_name, people_module.person_id

    def counted_resolve(self, who):
        calls.append(who)
        return resolve(self, who)

    def counted_lookup(db, name):
        calls.append(name)
        return lookup(db, name)

    monkeypatch.setattr(service_module.Service, "person_name", counted_resolve)
    monkeypatch.setattr(people_module, "person_id", counted_lookup)
    import podtwin.twin.persona as persona_module

    monkeypatch.setattr(persona_module, "person_id", counted_lookup)
    with TestClient(create_app(service)) as c:
        for send in (
            lambda: c.post("/api/ask", json={"person": ELON, "question": ANSWERED}),
            lambda: c.post(
                "/v1/chat/completions", json={"model": ELON, "messages": [{"role": "user", "content": ANSWERED}]}
            ),
            lambda: c.post(f"/people/{ELON}", data={"question": ANSWERED}),
        ):
            calls.clear()
            assert send().status_code == 200
            assert calls == [ELON], calls

"""Webhooks (issue 18, "take over"): events raised by asks and flags, queued in the library,
delivered signed to a real HTTP receiver on loopback that fails, times out and restarts;
bad URLs refused; flags rate limited."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podtwin.api.service import Limits, Service
from podtwin.api.webhooks import deliver_due, sign, verify
from podtwin.errors import WebhookError
from podtwin.ingest import ingest
from podtwin.search.index import embed_missing
from podtwin.server import create_app
from podtwin.store.keys import create_key
from podtwin.store.library import Library
from podtwin.store.webhooks import enqueue_event, list_events, set_webhook, webhook_of
from podtwin.twin.answer import load_calibration

TRANSCRIPT = """Ada Lovelace: Welcome to the show. Today I talk with Grace about compilers and the navy.
Grace Hopper: Thanks for having me. The first compiler I wrote was called A-0. It turned symbolic code into \
machine code, so people could write programs faster. I believed computers should speak the language of business.
Ada Lovelace: What did the navy think about that?
Grace Hopper: The navy was sceptical at first. Admirals did not trust machines. But once they saw programs \
written in a week instead of a month, they changed their minds. Budgets followed the results.
Ada Lovelace: And COBOL?
Grace Hopper: COBOL came from a committee. I pushed for English words in code, because managers had to read \
the programs too. Many people laughed at the idea.
"""

TIMEOUT = 0.5  # the sender's; the receiver's slow answer sleeps past it
BACKOFF = 0.05  # seconds before the first retry, doubling


@pytest.fixture(scope="module")
def small_library(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("webhooks")
    (folder / "grace.txt").write_text(TRANSCRIPT)
    db = folder / "library.db"
    with Library(db) as library:
        assert ingest(library, [folder / "grace.txt"]).ok
        embed_missing(library)
        key = create_key(library.db, "tests")
    return db, key


class Receiver:
    """A webhook receiver on a fixed loopback port: it checks each signature, processes each
    delivery id once (a repeat is answered 200 and not processed again), and can be told to
    fail the next requests or to answer one too late."""

    def __init__(self, secret: str, port: int) -> None:
        self.secret, self.port = secret, port
        self.processed: dict[str, dict] = {}  # delivery id -> the event
        self.seen: list[str] = []  # every delivery id that arrived, repeats too
        self.bad_signatures = 0
        self.fail_next = 0
        self.slow_next = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["X-Podtwin-Delivery"]
                with receiver.lock:
                    receiver.seen.append(delivery)
                    if receiver.fail_next:
                        receiver.fail_next -= 1
                        return self._answer(500)
                    slow = receiver.slow_next > 0
                    receiver.slow_next -= slow
                    if not verify(receiver.secret, body, self.headers["X-Podtwin-Signature-256"]):
                        receiver.bad_signatures += 1
                        return self._answer(401)
                    event = json.loads(body)
                    assert event["id"] == delivery and event["kind"] == self.headers["X-Podtwin-Event"]
                    receiver.processed.setdefault(delivery, event)  # once per id
                if slow:  # processed, but the answer comes after the sender gave up
                    time.sleep(TIMEOUT * 3)
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deliver_until_settled(db: Path, seconds: float = 20.0) -> None:
    """Delivery passes (as the server's thread makes them) until no event is pending."""
    deadline = time.monotonic() + seconds
    with Library(db) as library:
        while list_events(library.db, status="pending"):
            assert time.monotonic() < deadline, list_events(library.db, status="pending")
            deliver_due(library, timeout=TIMEOUT, backoff_s=BACKOFF)
            time.sleep(BACKOFF)


def test_sign_is_hmac_sha256_of_the_raw_body():
    # GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify("It's a Secret to Everybody", b"Hello, World!", expected)
    assert not verify("another secret", b"Hello, World!", expected)
    assert not verify("It's a Secret to Everybody", b"Hello, World?", expected)
    assert not verify("It's a Secret to Everybody", b"Hello, World!", None)


@pytest.mark.parametrize("url", ["ftp://x", "javascript:alert(1)", "file:///etc/passwd", "http://", "", "hooks"])
def test_a_url_that_is_not_http_is_refused_with_the_reason(small_library, url):
    db, _ = small_library
    with Library(db) as library, pytest.raises(WebhookError) as caught:
        set_webhook(library.db, "Grace Hopper", url)
    message = str(caught.value)
    assert "http" in message or "host" in message, message
    if url.startswith(("ftp", "javascript")):
        assert f"not {url.split(':')[0]}:" in message
    with Library(db) as library:
        assert library.db.execute("SELECT COUNT(*) FROM webhooks").fetchone()[0] == 0


def test_events_are_delivered_signed_exactly_once_by_id_through_failures_timeouts_and_restarts(small_library):
    db, _ = small_library
    port = free_port()
    with Library(db) as library, library.atomic() as conn:
        hook = set_webhook(
            conn, "Grace Hopper", f"http://127.0.0.1:{port}/hook", watch_topics=["navy"], unsure_below=1.0
        )
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    with Library(db) as library:  # shown once: never read back without asking for it
        assert "secret" not in webhook_of(library.db, "Grace Hopper")

    # events queued by asks and a flag, then the service closes before anything is sent
    service = Service(db)
    navy = service.ask("grace-hopper", "what did the navy think of your compiler?")
    assert navy["question_id"] > 0 and not navy["abstained"]
    cooking = service.ask("grace-hopper", "do you like cooking pasta?")  # abstains: unsure, no topic
    assert cooking["abstained"]
    service.flag(navy["question_id"], "that is not what she said", "127.0.0.1")
    service.close()

    # a restart: a new service over the same file finds them queued
    service = Service(db)
    events = service.webhook_events("grace-hopper")
    service.close()
    kinds = sorted((e["kind"], e["data"]["question_id"]) for e in events)
    navy_id, cooking_id = navy["question_id"], cooking["question_id"]
    assert kinds == [("flagged", navy_id), ("unsure", navy_id), ("unsure", cooking_id), ("watched_topic", navy_id)]
    assert {e["status"] for e in events} == {"pending"}
    watched = next(e for e in events if e["kind"] == "watched_topic")
    assert watched["data"]["topic"] == "navy"
    unsure = {e["data"]["question_id"]: e["data"]["abstained"] for e in events if e["kind"] == "unsure"}
    assert unsure == {navy_id: False, cooking_id: True}

    receiver = Receiver(secret, port)
    # 1. nobody listening: connection refused, each event waits to be tried again
    with Library(db) as library:
        counts = deliver_due(library, timeout=TIMEOUT, backoff_s=BACKOFF)
    assert counts == {"delivered": 0, "retry": 4, "failed": 0}

    # 2. the receiver is up but answers 500 twice, then answers one event too late
    receiver.start()
    receiver.fail_next, receiver.slow_next = 2, 1
    time.sleep(BACKOFF * 2)
    with Library(db) as library:
        deliver_due(library, timeout=TIMEOUT, backoff_s=BACKOFF)

    # 3. it goes away mid-test, and comes back on the same port
    receiver.stop()
    with Library(db) as library:
        time.sleep(BACKOFF * 4)
        deliver_due(library, timeout=TIMEOUT, backoff_s=BACKOFF)
    receiver.start()

    # 4. more events while it is back, then delivery until nothing is pending
    service = Service(db)
    second = service.ask("grace-hopper", "tell me about the navy admirals")
    service.close()
    deliver_until_settled(db)
    receiver.stop()

    with Library(db) as library:
        final = list_events(library.db)
    ids = {e["id"] for e in final}
    assert len(final) >= 5 and {e["status"] for e in final} == {"delivered"}, final
    assert any(e["kind"] == "watched_topic" and e["data"]["question_id"] == second["question_id"] for e in final)
    assert set(receiver.processed) == ids  # every event arrived and was processed once
    assert receiver.bad_signatures == 0  # every signature verified
    assert len(receiver.seen) > len(ids)  # failures and the late answer meant repeats ...
    repeats = {i for i in receiver.seen if receiver.seen.count(i) > 1}
    assert repeats, receiver.seen  # ... which the receiver recognised by their delivery id
    assert all(e["attempts"] >= 2 for e in final if e["data"]["question_id"] == navy["question_id"])
    first = [e for e in final if e["data"]["question_id"] == navy["question_id"]]
    by_kind = {e["kind"]: receiver.processed[e["id"]] for e in first}
    assert by_kind["flagged"]["data"]["reason"] == "that is not what she said"
    assert by_kind["unsure"]["data"]["confidence"] < 1.0
    assert all(ev["person"] == "Grace Hopper" for ev in receiver.processed.values())


def test_an_event_is_given_up_after_its_attempts(small_library):
    db, _ = small_library
    port = free_port()  # nothing listens there
    with Library(db) as library:
        with library.atomic() as conn:
            set_webhook(conn, "Ada Lovelace", f"http://127.0.0.1:{port}/")
            event_id = enqueue_event(conn, "flagged", "Ada Lovelace", {"question_id": 1})
        for _ in range(3):
            deliver_due(library, timeout=TIMEOUT, backoff_s=0.0, max_attempts=3)
        (event,) = [e for e in list_events(library.db, person="Ada Lovelace") if e["id"] == event_id]
    assert event["status"] == "failed" and event["attempts"] == 3
    assert event["last_error"].startswith("could not connect")


def test_the_api_sets_webhooks_with_a_key_and_flags_are_rate_limited(small_library):
    db, key = small_library
    service = Service(db, limits=Limits(flags_per_minute=3))
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(service, webhooks=False)) as client:
        url = "/api/people/ada-lovelace/webhook"
        body = {"url": "https://hooks.example/ada", "watch_topics": ["compilers"], "unsure_below": 0.8}
        assert client.put(url, json=body).status_code == 401
        assert client.get("/api/webhook/events").status_code == 401
        r = client.put(url, json={**body, "url": "ftp://x"}, headers=auth)
        assert r.status_code == 400 and "http:// or https://" in r.json()["error"]
        r = client.put(url, json=body, headers=auth)
        assert r.status_code == 200
        hook = client.get(url, headers=auth).json()
        assert hook["url"] == "https://hooks.example/ada" and hook["watch_topics"] == ["compilers"]
        assert "secret" not in hook
        assert client.get("/api/people/grace-hopper/webhook", headers=auth).status_code in (200, 404)

        reply = client.post("/api/ask", json={"person": "ada-lovelace", "question": "why compilers?"}).json()
        qid = reply["question_id"]
        for _ in range(3):  # public: no key
            r = client.post(f"/api/questions/{qid}/flag", json={"reason": "wrong"})
            assert r.status_code == 200, r.text
        r = client.post(f"/api/questions/{qid}/flag", json={"reason": "wrong"})
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert client.post(f"/api/questions/{qid}/flag", json={"reason": "x" * 501}).status_code == 422

        events = client.get("/api/webhook/events", params={"person": "ada-lovelace"}, headers=auth).json()
        flagged = [e for e in events if e["kind"] == "flagged" and e["data"]["question_id"] == qid]
        assert len(flagged) == 3 and all(e["status"] == "pending" for e in flagged)
    service.close()


def test_a_flag_on_no_question_is_404(small_library):
    db, _ = small_library
    service = Service(db)
    with TestClient(create_app(service, webhooks=False)) as client:
        assert client.post("/api/questions/999999/flag", json={}).status_code == 404
    service.close()


def test_the_web_app_flags_answers_and_shows_the_creator_the_events(small_library):
    db, key = small_library
    with Library(db) as library, library.atomic() as conn:  # nothing is sent: no server runs the sender here
        set_webhook(conn, "Grace Hopper", f"http://127.0.0.1:{free_port()}/hook")
    service = Service(db, limits=Limits(flags_per_minute=2))
    with TestClient(create_app(service, webhooks=False), base_url="http://127.0.0.1") as client:
        page = client.post("/people/grace-hopper", data={"question": "what did the navy think of your compiler?"})
        assert page.status_code == 200
        found = re.search(r'action="/questions/(\d+)/flag"', page.text)
        assert found, "the answer has no flag form"
        headers = {"Origin": "http://127.0.0.1"}
        r = client.post(found.group(0)[8:-1], data={"reason": "made up"}, headers=headers)
        assert r.status_code == 200 and "flagged" in r.text
        client.post(found.group(0)[8:-1], data={"reason": "again"}, headers=headers)
        r = client.post(found.group(0)[8:-1], data={"reason": "once more"}, headers=headers)
        assert r.status_code == 429 and "Too many flags" in r.text

        assert client.post("/creator/login", data={"key": key}, headers=headers).status_code == 200
        creator = client.get("/creator/people/grace-hopper")
        assert creator.status_code == 200 and "Webhook" in creator.text
        assert "made up" in creator.text and "flagged" in creator.text  # the event of the flag, listed
    service.close()


def test_the_server_sends_events_in_the_background_and_stops_its_sender_on_shutdown(small_library):
    db, _ = small_library
    port = free_port()
    with Library(db) as library, library.atomic() as conn:
        secret = set_webhook(
            conn, "Ada Lovelace", f"http://127.0.0.1:{port}/", watch_topics=["compilers"], new_secret=True
        )["secret"]
    receiver = Receiver(secret, port)
    receiver.start()
    service = Service(db)
    settings = {"interval": 0.05, "timeout": TIMEOUT, "backoff_s": BACKOFF}
    try:
        with TestClient(create_app(service, webhooks=settings)) as client:
            deliverer = client.app.state.deliverer
            reply = client.post("/api/ask", json={"person": "ada-lovelace", "question": "what about compilers?"}).json()
            deadline = time.monotonic() + 10
            while not any(e["data"]["question_id"] == reply["question_id"] for e in receiver.processed.values()):
                assert time.monotonic() < deadline, "the server's sender did not deliver the event"
                time.sleep(0.05)
        assert deliverer._thread is None  # stopped and joined with the app
    finally:
        receiver.stop()
        service.close()
    assert receiver.bad_signatures == 0


def test_unsure_fires_below_the_creators_confidence_for_answers_and_abstentions_alike(small_library):
    """A confidence set below the twin's abstention threshold still hears of the least sure
    replies, which are abstentions; a reply declined by the policy has no confidence, no event."""
    db, _ = small_library
    service = Service(db)
    abstain_below = load_calibration().threshold
    try:
        answered = service.ask("grace-hopper", "what did the navy think about your compiler?")
        abstained = service.ask("grace-hopper", "what is your favourite pasta recipe?")
        assert not answered["abstained"] and abstained["abstained"]
        assert abstained["confidence"] < abstain_below <= answered["confidence"]

        def unsure_events(question: str, unsure_below: float, **persona) -> list[dict]:
            service.set_webhook("grace-hopper", f"http://127.0.0.1:{free_port()}/", [], unsure_below)
            if persona:
                service.set_persona("Grace Hopper", persona)
            reply = service.ask("grace-hopper", question)
            return [
                e["data"]
                for e in service.webhook_events("grace-hopper")
                if e["kind"] == "unsure" and e["data"]["question_id"] == reply["question_id"]
            ]

        # below the abstention threshold: only the abstention, marked as one
        low = round(abstained["confidence"] + (abstain_below - abstained["confidence"]) / 2, 4)
        (event,) = unsure_events("what is your favourite pasta recipe?", low)
        assert event["abstained"] is True and event["confidence"] < low and event["unsure_below"] == low
        assert unsure_events("what did the navy think about your compiler?", low) == []
        # above the answer's confidence: the answer too, not an abstention
        (event,) = unsure_events("what did the navy think about your compiler?", 1.0)
        assert event["abstained"] is False and event["confidence"] == answered["confidence"]
        assert unsure_events("what is your favourite pasta recipe?", 0.0) == []  # nothing is below 0
        # declined by the creator's policy: no confidence, no unsure event
        assert unsure_events("what did the navy think about your compiler?", 1.0, off_limits=["navy"]) == []
    finally:
        service.set_persona("Grace Hopper", {"off_limits": []})
        service.close()


def test_the_creator_sets_replaces_and_removes_the_webhook_on_the_twins_page(lex_copy):
    """The form on /creator/people/{person}: bad input shown on the page with nothing stored, the
    signing secret shown once when made, replaced settings, removal (pending events given up);
    every POST passes the same-origin check, and needs a signed-in creator."""
    db, key = lex_copy("webhook-form")
    service = Service(db)
    same_site = {"Origin": "http://127.0.0.1"}

    def stored(name: str, secret: bool = False) -> dict | None:
        with Library(db) as library:
            return webhook_of(library.db, name, secret=secret)

    with TestClient(create_app(service, webhooks=False), base_url="http://127.0.0.1") as client:
        person = client.get("/api/people").json()[0]
        slug, name = person["slug"], person["name"]
        form_url = f"/creator/people/{slug}/webhook"
        topics = "military\ncrypto, Elon Musk"  # one per line or separated by commas
        good = {"url": "https://hooks.example/podtwin", "watch_topics": topics, "unsure_below": "0.5"}

        r = client.post(form_url, data=good, headers=same_site)  # not signed in
        assert r.status_code == 401 and stored(name) is None
        assert client.post("/creator/login", data={"key": key}, headers=same_site).status_code == 200

        page = client.get(f"/creator/people/{slug}")
        assert page.status_code == 200
        assert f'action="{form_url}"' in page.text and "Create webhook" in page.text and "No events yet" in page.text
        assert "X-Podtwin-Signature-256" in page.text and "hmac.compare_digest" in page.text  # how to verify

        r = client.post(form_url, data=good, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and stored(name) is None  # another site's page cannot set it

        for bad, message in [
            ({"url": "ftp://hooks.example/x"}, "must start with http:// or https://, not ftp:"),
            ({"url": "javascript:alert(1)"}, "not javascript:"),
            ({"url": ""}, "needs a URL"),
            ({"unsure_below": "1.5"}, "from 0 to 1"),
            ({"unsure_below": "-0.1"}, "from 0 to 1"),
            ({"unsure_below": "sure"}, "must be a number from 0 to 1"),
            ({"watch_topics": "\n".join(f"topic {i}" for i in range(51))}, "the limit is 50"),
        ]:
            r = client.post(form_url, data={**good, **bad}, headers=same_site)
            assert r.status_code == 400, (bad, r.status_code)
            assert 'role="alert"' in r.text and "Not saved:" in r.text and message in r.text, (bad, r.text[-3000:])
            for value in bad.values():  # what was typed stays in the form, escaped
                if value and "\n" not in value:
                    assert f'value="{value}"' in r.text, bad
            assert stored(name) is None, bad

        r = client.post(form_url, data=good, headers=same_site)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        hook = stored(name, secret=True)
        assert hook["url"] == good["url"] and hook["watch_topics"] == ["military", "crypto", "Elon Musk"]
        assert hook["unsure_below"] == 0.5
        secret = hook["secret"]
        assert "shown this once" in r.text and secret in r.text
        again = client.get(f"/creator/people/{slug}")
        assert secret not in again.text and "Save webhook" in again.text and "Remove webhook" in again.text
        assert "military\ncrypto\nElon Musk</textarea>" in again.text and 'value="0.5"' in again.text

        # replaced: every setting as given, the secret kept (not shown)
        r = client.post(form_url, data={"url": "http://127.0.0.1:9/hook", "watch_topics": "", "unsure_below": ""},
                        headers=same_site, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"].endswith("?webhook=saved#webhook")
        assert "Webhook saved." in client.get(r.headers["location"]).text
        hook = stored(name, secret=True)
        assert (hook["url"], hook["watch_topics"], hook["unsure_below"]) == ("http://127.0.0.1:9/hook", [], None)
        assert hook["secret"] == secret

        r = client.post(form_url, data={"url": "http://127.0.0.1:9/hook", "new_secret": "true"}, headers=same_site)
        new_secret = stored(name, secret=True)["secret"]
        assert r.status_code == 200 and new_secret != secret and new_secret in r.text and secret not in r.text

        # removed: an event waiting to be sent is given up, and listed as such
        with Library(db) as library, library.atomic() as conn:
            waiting = enqueue_event(conn, "flagged", name, {"question_id": 1, "question": "why?", "reason": "x"})
        r = client.post(f"{form_url}/delete", headers=same_site, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?webhook=removed#webhook")
        page = client.get(r.headers["location"])
        assert "Webhook removed" in page.text and "Create webhook" in page.text and stored(name) is None
        with Library(db) as library:
            (event,) = [e for e in list_events(library.db, name) if e["id"] == waiting]
        assert event["status"] == "failed" and event["last_error"] == "the webhook was removed"
        assert "the webhook was removed" in page.text
        r = client.post(f"{form_url}/delete", headers=same_site)
        assert r.status_code == 404 and "Nothing to remove:" in r.text and "has no webhook" in r.text

        # the API removes one too, with a key
        client.cookies.clear()  # signed out
        auth = {"Authorization": f"Bearer {key}"}
        api = f"/api/people/{slug}/webhook"
        assert client.put(api, json={"url": "https://hooks.example/x"}, headers=auth).status_code == 200
        assert client.delete(api).status_code == 401
        assert client.delete(api, headers=auth).json() == {"person": name, "removed": True}
        assert client.delete(api, headers=auth).status_code == 404
    service.close()


def test_the_cli_sets_shows_and_removes_a_webhook(small_library):
    from typer.testing import CliRunner

    from podtwin.cli.app import app

    db, _ = small_library

    def run(*args):
        return CliRunner().invoke(app, ["--db", str(db), "webhook", *args])

    r = run("set", "ada lovelace", "https://hooks.example/ada", "--watch", "compilers", "--unsure-below", "0.4")
    assert r.exit_code == 0, r.output
    assert json.loads(run("show", "Ada Lovelace", "--json").output)["unsure_below"] == 0.4
    r = run("remove", "ada lovelace")
    assert r.exit_code == 0 and "removed Ada Lovelace's webhook" in r.output
    r = run("remove", "ada lovelace")
    assert r.exit_code == 1 and "has no webhook" in r.output
    assert run("set", "ada lovelace", "ftp://x").exit_code == 1


def test_the_creators_page_shows_each_events_status_attempts_last_error_and_times(small_library):
    from datetime import UTC, datetime, timedelta

    from podtwin.store.webhooks import mark_delivered, mark_failed

    db, key = small_library
    at = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    with Library(db) as library, library.atomic() as conn:
        set_webhook(conn, "Grace Hopper", f"http://127.0.0.1:{free_port()}/hook")
        data = {"question_id": 1, "answer": "", "confidence": 0.42, "abstained": True}
        delivered = enqueue_event(conn, "unsure", "Grace Hopper", {**data, "question": "delivered one?"}, now=at)
        pending = enqueue_event(conn, "watched_topic", "Grace Hopper", {**data, "question": "pending one?",
                                                                          "topic": "navy"}, now=at)  # fmt: skip
        failed = enqueue_event(conn, "flagged", "Grace Hopper", {**data, "question": "failed one?", "reason": "odd"},
                               now=at)  # fmt: skip
        mark_failed(conn, delivered, "HTTP 502", at + timedelta(seconds=1))
        mark_delivered(conn, delivered, at + timedelta(seconds=3))
        mark_failed(conn, pending, "HTTP 500", at + timedelta(seconds=1), backoff_s=60)
        for i in range(3):
            mark_failed(conn, failed, "timed out after 5 s", at + timedelta(seconds=i), max_attempts=3)
    service = Service(db)
    with TestClient(create_app(service, webhooks=False), base_url="http://127.0.0.1") as client:
        signed_in = client.post("/creator/login", data={"key": key}, headers={"Origin": "http://127.0.0.1"})
        assert signed_in.status_code == 200
        page = client.get("/creator/people/grace-hopper").text
    service.close()
    found = re.findall(r'<li class="event \w+">.*?</li>', page, re.S)
    items = {status: next(r for r in found if f"{status} one?" in r) for status in ("delivered", "pending", "failed")}
    assert all(item.startswith(f'<li class="event {status}">') for status, item in items.items())
    assert all(f'<span class="status">{status}</span>' in item for status, item in items.items())
    delivered, pending, failed = items["delivered"], items["pending"], items["failed"]
    assert "unsure</strong> (abstained, confidence 0.42)" in delivered
    assert "2 attempts; raised 2026-12-03 10:00:00 UTC, delivered 2026-12-03 10:00:03 UTC" in delivered
    assert "HTTP 502" not in delivered  # delivered: the error is behind it
    assert "watched_topic</strong> (navy)" in pending and "Last error: HTTP 500" in pending
    assert "1 attempt; raised 2026-12-03 10:00:00 UTC, next try 2026-12-03 10:01:01 UTC" in pending
    assert "flagged: odd" in failed and "Last error: timed out after 5 s" in failed
    assert "3 attempts; raised 2026-12-03 10:00:00 UTC, given up" in failed

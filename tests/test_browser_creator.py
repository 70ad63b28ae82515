"""The creator in the loop, end to end in a real browser (Debian's Chromium, headless, driven by
Playwright): sign in, see the dashboard, pin an excerpt as a reply's answer, ask the twin again
as a listener and see the pinned answer, flag it, and see the flag's webhook event delivered to
a real receiver on loopback, signed."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import ANSWER_MS, DESKTOP, PHONE, browser, shot, words  # noqa: F401 (browser: a fixture)

from podtwin.api.webhooks import verify

ZUCK = "Mark Zuckerberg"
QUESTION = "What do you think about open sourcing AI models?"
PARAPHRASE = "How do you feel about making AI models open source?"
PIN_SEARCH = "open source Llama developers"
EVENT_WAIT_S = 30  # the server's sender passes every second; a slow machine gets room


class Receiver:
    """A webhook receiver on loopback: keeps each event whose signature verifies, counts the others."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[dict] = []
        self.bad = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if verify(receiver.secret, body, self.headers.get("X-Podtwin-Signature-256", "")):
                    receiver.events.append(json.loads(body))
                else:
                    receiver.bad += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def flow_server(lex_copy) -> Iterator:
    """A server of its own (pins change answers the other browser tests check), with a webhook
    on Mark Zuckerberg's twin pointing at a loopback receiver."""
    from conftest import LiveServer

    db, key = lex_copy("creator-flow")
    server = LiveServer(db, key)
    receiver = Receiver()
    receiver.secret = server.service.set_webhook(ZUCK, receiver.url, [], None)["secret"]
    yield server, receiver
    receiver.stop()
    server.stop()


def ask(page: Page, question: str) -> dict:
    """Ask on the person page (JavaScript: the answer streams in); the final reply."""
    with page.expect_response(
        lambda r: r.url.endswith("/v1/chat/completions") and r.request.method == "POST", timeout=ANSWER_MS
    ) as info:
        page.fill("#question", question)
        page.locator("#ask button[type=submit]").click()
    events = [e.strip()[len("data: ") :] for e in info.value.text().split("\n\n") if e.strip()]
    assert events[-1] == "[DONE]", events[-3:]
    answer = page.locator("#conversation li.twin .answer").last
    expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=ANSWER_MS)
    return json.loads(events[-2])["podtwin"]


def test_the_creator_pins_an_answer_and_hears_of_a_flag(browser: Browser, flow_server) -> None:  # noqa: F811
    server, receiver = flow_server
    creator = browser.new_context(base_url=server.url, viewport=DESKTOP)
    listener = browser.new_context(base_url=server.url, viewport=DESKTOP)
    for context in (creator, listener):
        context.set_default_timeout(15_000)
    try:
        # a listener asks; the twin answers from the record on its own
        you = listener.new_page()
        you.goto("/people/mark-zuckerberg")
        first = ask(you, QUESTION)
        assert not first["chosen_by_creator"] and first["question_id"]

        # the creator signs in and sees the dashboard: the twin's page and its insights
        me = creator.new_page()
        me.goto("/creator")
        me.fill("#key", server.key)
        me.locator("form[action='/creator/login'] button[type=submit]").click()
        expect(me.locator("h1")).to_have_text("Creator area")
        me.locator("ul.people a", has_text=ZUCK).click()
        expect(me.locator("h1")).to_have_text(f"{ZUCK}'s twin")
        me.locator("a", has_text="What people ask").click()
        expect(me.locator("svg").first).to_be_visible()
        expect(me.locator("p.count", has_text="question").first).to_contain_text("1 question on 1 day")  # the one asked
        shot(me, "creator-insights.png")
        me.go_back()

        # the creator corrects that reply: searches Mark's words and pins an excerpt
        asked = me.locator("ol.questions > li", has_text=QUESTION).first
        asked.locator("a", has_text="Correct this reply").click()
        expect(me).to_have_url(re.compile(rf"/creator/questions/{first['question_id']}/correct$"))
        me.fill("#q", PIN_SEARCH)
        me.locator("form.search button[type=submit]").click()
        hit = me.locator("ol.hits > li", has=me.locator("button", has_text="Pin this as the answer")).first
        pinned = words(hit.locator("q").text_content() or "").removesuffix(" …")
        hit.locator("button", has_text="Pin this as the answer").click()
        expect(me.locator("[role=status]")).to_contain_text("now answers this question")
        shot(me, "creator-correct.png")

        # the listener asks again in other words: the creator's choice answers, and says so
        again = ask(you, PARAPHRASE)
        assert again["chosen_by_creator"], again["answer"]
        answer = you.locator("#conversation li.twin .answer").last
        expect(answer).to_contain_text("The creator of this twin chose it")
        shown = words(" ".join(answer.locator("span.said").all_text_contents()))
        assert pinned[:40].lower() in shown.lower(), (pinned, shown)

        # the listener flags it; the webhook hears of it, signed, and the creator's page shows it sent
        you.once("dialog", lambda dialog: dialog.accept("Not how I would put it"))
        answer.locator("button", has_text="Flag this answer").click()
        expect(answer.locator("p.flag")).to_have_text("Flagged for the creator. Thank you.")
        deadline = time.monotonic() + EVENT_WAIT_S
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [e["kind"] for e in receiver.events] == ["flagged"] and receiver.bad == 0, receiver.events
        data = receiver.events[0]["data"]
        assert data["question_id"] == again["question_id"] and data["reason"] == "Not how I would put it"
        me.goto("/creator/people/mark-zuckerberg")
        event = me.locator("ol.events li.event", has_text="flagged").first
        expect(event).to_contain_text("delivered")
        expect(me.locator("table.corrections")).to_contain_text("in use")
        shot(me, "creator-person.png")

        # the creator's pages read on a phone: nothing wider than the screen
        phone = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True, has_touch=True)
        try:
            phone.add_cookies(creator.cookies())
            small = phone.new_page()
            pages = ("/creator/people/mark-zuckerberg", "/creator/people/mark-zuckerberg/insights",
                     f"/creator/questions/{first['question_id']}/correct")  # fmt: skip
            for path in pages:
                small.goto(path)
                width = small.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
        finally:
            phone.close()
    finally:
        creator.close()
        listener.close()

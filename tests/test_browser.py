"""The web app end to end in a real browser: Debian's Chromium, headless, driven by Playwright.

Ask a twin with JavaScript (the answer streams in over server-sent events, then its citations
render as links), follow a citation to the quoted sentence, and do the same without JavaScript
(the form posts to the page). Search highlights its hits and needs no JavaScript either, and so
does the creator's speakers review (sign in, give a turn to the host, see it saved).

PODTWIN_SCREENSHOTS=folder saves full-page PNGs of the pages there (docs/screenshots).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from podtwin.twin.answer import paragraphs as reply_paragraphs

CHROMIUM = "/usr/bin/chromium"
# No outside network here: without these Chromium stalls on refused connections.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ZUCK = "Mark Zuckerberg"
QUESTION = "what do you think about open sourcing AI models?"
ANSWER_MS = 60_000  # a twin's answer (retrieval and span choice) on a slow machine
SHOTS = os.environ.get("PODTWIN_SCREENSHOTS")
DEEP_LINK = re.compile(r"^/episodes/(\d+)#s-(\d+)$")
CITE_LINK = re.compile(r"^/episodes/(\d+)\?cite=(\d+)-(\d+)#s-(\d+)$")

# Records every text the page puts into a paragraph as one text node, in order: that is what
# chat.js does while the answer streams (text.textContent += delta). The final render builds
# its paragraphs before attaching them, so it adds no such records.
RECORD_STREAM = """
window.__streamed = [];
new MutationObserver((records) => {
  for (const r of records) {
    const nodes = [...r.addedNodes];
    if (r.target.nodeName === "P" && nodes.length && nodes.every((n) => n.nodeType === Node.TEXT_NODE)) {
      window.__streamed.push(nodes.map((n) => n.data).join(""));
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def words(text: str) -> str:
    return " ".join(text.split())


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A PNG in $PODTWIN_SCREENSHOTS, if set."""
    if SHOTS:
        folder = Path(SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=full_page, animations="disabled")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"the browser test drives Debian's Chromium at {CHROMIUM} (apt install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context_for(browser: Browser, live_server) -> Iterator:
    """New browser contexts on the live server, closed after the test."""
    opened: list[BrowserContext] = []

    def open_context(**options) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, **{"viewport": DESKTOP, **options})
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def sse_events(body: str) -> list[str]:
    """The data of each server-sent event."""
    events = [e.strip() for e in body.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events), body[:500]
    return [e[len("data: ") :] for e in events]


def ask_with_javascript(page: Page) -> tuple[dict, list[dict], list[str]]:
    """Ask on the person page; the streamed answer's final reply, its citations and its content pieces."""
    with page.expect_response(
        lambda r: r.url.endswith("/v1/chat/completions") and r.request.method == "POST", timeout=ANSWER_MS
    ) as info:
        page.fill("#question", QUESTION)
        page.locator("#ask button[type=submit]").click()
    response = info.value
    assert response.status == 200, response.text()
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    assert json.loads(response.request.post_data or "{}")["stream"] is True

    events = sse_events(response.text())
    assert events[-1] == "[DONE]", events[-3:]
    chunks = [json.loads(e) for e in events[:-1]]
    assert not [c for c in chunks if "error" in c], chunks
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks]
    pieces = [p for p in pieces if p]
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    return final["podtwin"], final["citations"], pieces


def check_answer(page: Page, reply: dict, citations: list[dict]) -> None:
    """The rendered answer (the last one in the conversation) shows the reply, its citations and the disclosure."""
    answer = page.locator("#conversation li.twin .answer").last
    expect(answer.locator("ol.citations a").first).to_be_visible(timeout=ANSWER_MS)
    expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"))  # the final render replaced the stream
    said = [p["text"] for p in reply["parts"] if p["citation"] is not None]
    assert said, reply
    expect(answer.locator("span.said")).to_have_text([words(t) for t in said])
    links = answer.locator("ol.citations > li > a")
    expect(links).to_have_count(len(citations))
    hrefs = [links.nth(i).get_attribute("href") for i in range(len(citations))]
    assert hrefs == [c["url"] for c in citations]
    assert all(CITE_LINK.match(h) for h in hrefs), hrefs
    expect(answer.locator("ol.citations q")).to_have_text([words(c["quote"]) for c in citations])
    refs = answer.locator("a.ref")
    cited = [p["citation"] for p in reply["parts"] if p["citation"] is not None]
    expect(refs).to_have_count(len(cited))
    assert [refs.nth(i).get_attribute("href") for i in range(len(cited))] == [hrefs[c] for c in cited]
    # each block of the answer is a paragraph of its own, holding its one reference
    paragraphs = answer.locator("p.block")
    expect(paragraphs).to_have_count(len(reply_paragraphs(reply["parts"])))
    refs_in = [paragraphs.nth(i).locator("a.ref").all_text_contents() for i in range(paragraphs.count())]
    assert [r for r in refs_in if r] == [[f"[{b['n']}]"] for b in reply["blocks"]], refs_in
    disclosure = answer.locator("p.disclosure")
    expect(disclosure).to_be_visible()
    expect(disclosure).to_have_text(words(reply["disclosure"]))


def check_deep_link(page: Page, quote: str, href: str) -> None:
    """The page is the cited episode at the cited sentence, the first of the quote, and the
    sentences marked as cited are the quote."""
    episode, first, last, index = CITE_LINK.match(href).groups()
    assert index == first
    expect(page).to_have_url(re.compile(rf"/episodes/{episode}\?cite={first}-{last}#s-{index}$"))
    marked = page.locator(".sentence.cited")
    expect(marked).to_have_count(int(last) - int(first) + 1)
    assert words(" ".join(marked.all_text_contents())) == words(quote)
    sentence = page.locator(f'[id="s-{index}"]')
    expect(sentence).to_have_count(1)
    expect(sentence).to_have_class(re.compile(r"\bsentence\b"))
    assert sentence.evaluate("el => el.matches(':target')")
    expect(sentence).to_be_visible()
    expect(sentence).to_be_in_viewport()
    # the link goes to the quote's first sentence (a quote may run on over the next ones)
    text, quote = words(sentence.text_content() or ""), words(quote)
    assert text, href
    assert quote.startswith(text) or quote in text, (text, quote)


def test_ask_streams_then_cites_and_links_to_the_sentence(context_for, live_server) -> None:
    context = context_for()
    context.add_init_script(RECORD_STREAM)
    page = context.new_page()

    page.goto("/")
    expect(page.locator("h1")).to_be_visible()
    shot(page, "home.png")
    person = page.locator("ul.people a", has_text=ZUCK)
    expect(person).to_have_count(1)
    person.click()
    expect(page).to_have_url(f"{live_server.url}/people/mark-zuckerberg")
    expect(page.locator("h1")).to_have_text(ZUCK)
    disclosure = page.locator("#disclosure")
    expect(disclosure).to_be_visible()
    expect(disclosure).to_have_text(re.compile(r"\S"))

    page.evaluate("window.__streamed = []")  # forget the parser's text, keep what the chat adds
    reply, citations, pieces = ask_with_javascript(page)
    assert not reply["abstained"] and citations, reply
    expect(page.locator("#conversation li.you")).to_have_text(QUESTION)
    check_answer(page, reply, citations)

    # Streamed: the content arrived in several events (the cited sentences, the references, the
    # disclosure) and the page showed it growing, one event at a time, before the final render.
    assert len(pieces) >= 3, pieces
    assert page.evaluate("window.__streamed") == list(accumulate(pieces))
    shot(page, "person-answer.png")

    first = page.locator("#conversation .answer ol.citations > li").first
    href = first.locator("a").get_attribute("href") or ""
    quote = first.locator("q").text_content() or ""
    first.locator("a").click()
    check_deep_link(page, quote, href)
    expect(page.locator("h1")).to_contain_text(citations[0]["title"] or "")
    shot(page, "episode-sentence.png", full_page=False)  # the viewport: where the link landed


def test_ask_without_javascript(context_for, live_server) -> None:
    context = context_for(java_script_enabled=False)
    page = context.new_page()
    chats: list[str] = []
    page.on("request", lambda r: chats.append(r.url) if "/v1/" in r.url else None)

    page.goto("/people/mark-zuckerberg")
    expect(page.locator("#disclosure")).to_be_visible()
    page.fill("#question", QUESTION)
    with page.expect_response(
        lambda r: r.url == f"{live_server.url}/people/mark-zuckerberg" and r.request.method == "POST",
        timeout=ANSWER_MS,
    ) as info:
        page.locator("#ask button[type=submit]").click()
    assert info.value.status == 200
    assert info.value.headers["content-type"].startswith("text/html")
    page.wait_for_load_state()
    assert chats == []  # the page itself answered, not chat.js

    expect(page.locator("#conversation li.you")).to_have_text(QUESTION)
    answer = page.locator("#conversation li.twin .answer")
    expect(answer).to_have_count(1)
    expect(answer.locator("span.said").first).to_be_visible()
    expect(answer.locator("p.disclosure")).to_be_visible()
    expect(answer.locator("p.disclosure")).to_have_text(re.compile(r"\S"))
    links = answer.locator("ol.citations > li > a")
    expect(links.first).to_be_visible()
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert all(CITE_LINK.match(h) for h in hrefs), hrefs
    assert page.locator("#history").input_value() == QUESTION  # the next question carries it

    first = answer.locator("ol.citations > li").first
    quote = first.locator("q").text_content() or ""
    first.locator("a").click()
    check_deep_link(page, quote, hrefs[0])


def test_deep_link_opens_a_folded_segment(context_for) -> None:
    """A link to a sentence in a folded segment (an intro, a sponsor read) unfolds it and scrolls there.

    Chromium unfolds a <details> holding a link's target by itself, even without JavaScript;
    static/episode.js does it for browsers that do not."""
    page = context_for().new_page()
    page.goto("/")
    episodes = page.locator("ul.episodes a")
    expect(episodes.first).to_be_visible()
    for href in [episodes.nth(i).get_attribute("href") for i in range(episodes.count())]:
        page.goto(href or "")
        folded = page.locator("details.segment .sentence")
        if folded.count():
            break
    else:
        pytest.fail("no episode has a folded segment (intro, sponsor read) to link into")
    target = folded.nth(folded.count() // 2)
    index = target.get_attribute("id")
    segment = page.locator(f'details.segment:has([id="{index}"])')
    expect(segment).not_to_have_attribute("open", "")
    expect(target).to_be_hidden()
    page.goto(f"{href}#{index}")  # the same page: a hash change
    expect(segment).to_have_attribute("open", "")
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport()

    # and a link from elsewhere (a page load), with JavaScript and without
    for context in (page.context, context_for(java_script_enabled=False)):
        fresh = context.new_page()
        fresh.goto(f"{href}#{index}")
        target = fresh.locator(f'[id="{index}"]')
        expect(target).to_be_visible()
        expect(target).to_be_in_viewport()


def test_person_page_on_a_phone(context_for) -> None:
    context = context_for(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto("/people/mark-zuckerberg")
    reply, citations, _ = ask_with_javascript(page)
    check_answer(page, reply, citations)
    # readable: nothing wider than the screen, so no sideways scrolling
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
    shot(page, "person-phone.png")


def test_search_highlights_without_javascript(context_for, live_server) -> None:
    page = context_for(java_script_enabled=False).new_page()
    page.goto("/search")
    page.fill("#q", "metaverse")
    page.locator("form.search button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/search\?q=metaverse\b"))
    expect(page.locator("#q")).to_have_value("metaverse")

    hits = page.locator("ol.results > li")
    expect(hits.first).to_be_visible()
    assert hits.count() > 1
    marks = page.locator("ol.results mark")
    expect(marks.first).to_be_visible()
    assert all("metavers" in t.lower() for t in marks.all_text_contents()), marks.all_text_contents()
    links = page.locator("ol.results .where a")
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert hrefs and all(DEEP_LINK.match(h) for h in hrefs), hrefs
    shot(page, "search.png")


SPEAKERS_MS = 120_000  # a speaker change attributes the whole show again (seconds on a slow machine)


@pytest.fixture(scope="module")
def speakers_server(lex_copy) -> Iterator:
    """A server of its own: a speaker change re-attributes the show, which the other tests'
    answers (on live_server) must not see."""
    from conftest import LiveServer

    db, key = lex_copy("speakers-browser")
    server = LiveServer(db, key)
    yield server
    server.stop()


def test_creator_gives_a_turn_to_the_host_without_javascript(browser: Browser, speakers_server) -> None:
    context = browser.new_context(base_url=speakers_server.url, viewport=DESKTOP, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/creator")
        page.fill("#key", speakers_server.key)
        page.locator("form[action='/creator/login'] button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Creator area")

        review = page.locator("a.review-link").first
        href = review.get_attribute("href") or ""
        episode = re.fullmatch(r"/creator/episodes/(\d+)/speakers", href)
        assert episode, href
        review.click()
        expect(page).to_have_url(f"{speakers_server.url}{href}")
        turns = page.locator("ol.review > li.review-turn")
        expect(turns.first).to_be_visible()
        first = turns.first
        option = first.locator("select[name=person] option", has_text=" (host)")
        expect(option).to_have_count(1)  # the episode's host is one of the choices
        host = words(option.text_content() or "").removesuffix(" (host)")
        sentence = first.get_attribute("data-first-sentence")
        said = words(first.locator(".said").text_content() or "")
        shot(page, "creator-speakers.png")

        first.locator("select[name=person]").select_option(label=f"{host} (host)")
        with page.expect_navigation(timeout=SPEAKERS_MS):
            first.locator("button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"{re.escape(href)}\?limit=\d+&changed={sentence}#changed$"))
        confirmation = page.locator("#changed [role=status]")
        expect(confirmation).to_be_visible()
        expect(confirmation).to_contain_text(f"is now {host}'s")
        changed = page.locator("#changed")
        expect(changed.locator("h3 .speaker")).to_have_text(host)
        expect(changed.locator("h3 .count")).to_contain_text("correction")
        expect(changed.locator(".said")).to_contain_text(said)
        # a turn the creator settled is no longer among the ones to check
        expect(turns.first).not_to_have_attribute("data-first-sentence", sentence or "")
        assert page.locator(f'ol.review > li[data-first-sentence="{sentence}"]').count() == 0
        shot(page, "creator-speakers-saved.png")

        # readable on a phone: nothing wider than the screen
        phone = browser.new_context(
            base_url=speakers_server.url, viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
        )
        try:
            phone.add_cookies(context.cookies())
            small = phone.new_page()
            small.goto(href)
            expect(small.locator("ol.review > li.review-turn").first).to_be_visible()
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the review is {width}px wide on a {PHONE['width']}px phone"
            shot(small, "creator-speakers-phone.png")
        finally:
            phone.close()
    finally:
        context.close()


def test_the_api_reference_renders_from_this_site_under_its_content_security_policy(context_for, live_server) -> None:
    """/docs is Swagger UI served by podtwin itself: Chromium renders every operation with the
    site's Content-Security-Policy in force, asks nothing of another host, and reports no violation."""
    context = context_for()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url + "/") else elsewhere.append(r.url))
    response = page.goto("/docs")
    assert response is not None and "content-security-policy" in response.headers
    expect(page.locator(".opblock").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/ask" in [p.replace("\u200b", "") for p in paths] and len(paths) >= 10
    shot(page, "docs.png")
    assert not problems, problems
    assert not elsewhere, elsewhere

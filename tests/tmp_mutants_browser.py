"""Temporary: the browser tests must fail when streaming, citations or deep links break."""
import re
from pathlib import Path

import pytest
import test_browser as tb
from test_browser import DESKTOP, browser  # noqa: F401

JS = (Path(tb.__file__).parents[1] / "src/podtwin/web/static/chat.js").read_text()

def js(old, new):
    assert old in JS, old
    return ("**/static/chat.js", lambda body: body.replace(old, new))

MUTANTS = {
    "no-stream": [js("stream: true", "stream: false")],
    "no-incremental-text": [js("if (delta.content) text.textContent += delta.content;", "")],
    "citation-href-wrong": [js("a.href = c.url;", 'a.href = "/episodes/" + c.episode_id;')],
    "citation-off-by-one": [js("a.href = c.url;", 'a.href = c.url.replace(/#s-(\\d+)/, (m, n) => "#s-" + (+n + 1));')],
    "no-disclosure": [js('box.append(el("p", "disclosure", reply.disclosure));', "")],
    "episode-ids-gone": [("**/episodes/*", lambda body: body.replace('id="s-', 'id="x-'))],
    "nojs-no-citations": [("**/people/mark-zuckerberg", lambda body: body.replace('<ol class="citations">', '<ol>'))],
    "search-no-mark": [("**/search?*", lambda body: body.replace("<mark>", "<b>").replace("</mark>", "</b>"))],
}

@pytest.fixture(params=list(MUTANTS))
def mutant(request):
    return request.param

@pytest.fixture
def context_for(browser, live_server, mutant):  # noqa: F811
    opened = []
    def open_context(**options):
        context = browser.new_context(base_url=live_server.url, **{"viewport": DESKTOP, **options})
        context.set_default_timeout(5_000)
        for pattern, change in MUTANTS[mutant]:
            def handler(route, change=change):
                response = route.fetch()
                route.fulfill(response=response, body=change(response.text()))
            context.route(pattern, handler)
        opened.append(context)
        return context
    yield open_context
    for c in opened:
        c.close()

@pytest.mark.parametrize("test", ["test_ask_streams_then_cites_and_links_to_the_sentence", "test_ask_without_javascript", "test_person_page_on_a_phone", "test_search_highlights_without_javascript"])
def test_mutant(test, mutant, context_for, live_server):
    try:
        getattr(tb, test)(context_for, live_server) if "phone" not in test else getattr(tb, test)(context_for)
    except AssertionError as e:
        print(f"KILLED {mutant} {test}: {str(e).splitlines()[0][:150]}")
        return
    print(f"SURVIVED {mutant} {test}")

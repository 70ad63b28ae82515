"""The creator's insights (issue 18): what people ask a twin, and what its record lacks.

The log's own figures on rows written by log_question; the gaps grouped by meaning with the
shipped embedder; the SVG charts parsed as XML; the API, the page and the CLI over a copy of
the lex library whose questions were really asked through Service.ask, plus logged volume."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from podtwin.api.insights import gap_topics, gaps_csv, insights, per_day_filled
from podtwin.api.service import Service
from podtwin.cli.app import app as cli
from podtwin.search.embed import default_embedder
from podtwin.server import create_app
from podtwin.store.library import Library
from podtwin.store.questions import (
    abstained_questions,
    last_question_id,
    log_question,
    log_questions,
    lowest_confidence,
    most_asked,
    normalised_question,
    outcome_counts,
    questions_per_day,
)
from podtwin.web.charts import bars_per_day, share_bar

SVG = "{http://www.w3.org/2000/svg}"
PERSON = "Mark Zuckerberg"

VISION_PRO = [
    "What do you think of the Apple Vision Pro?",
    "Have you tried Apple's Vision Pro headset?",
    "Is the Vision Pro from Apple worth buying?",
    "apple vision pro thoughts?",
]
BITCOIN = [
    "What's your prediction for the price of bitcoin?",
    "Where is the bitcoin price going?",
    "How much will one bitcoin cost next year?",
]


def reply(outcome: str, confidence: float | None = None, answer: str = "…") -> dict:
    return {
        "answer": answer,
        "abstained": outcome == "abstained",
        "declined_by_policy": outcome == "declined",
        "confidence": confidence,
    }


def at(day: int, hour: int = 12) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+00:00"


@pytest.fixture
def db(tmp_path):
    with Library(tmp_path / "log.db") as library:
        yield library.db


# -- the log's figures ------------------------------------------------------------------------


def test_per_day_counts_shares_and_ordering(db):
    rows = [
        ("Ada", "What is a compiler?", reply("answered", 0.9), "web", at(1)),
        ("Ada", "what is a compiler", reply("answered", 0.4), "api", at(1, 15)),
        ("Ada", "What is a COMPILER?!", reply("answered", 0.7), "mcp", at(3)),
        ("Ada", "Your salary?", reply("declined", 0.8), "web", at(3)),
        ("Ada", "Bitcoin?", reply("abstained", 0.1), "web", at(4)),
        ("Ada", "Bitcoin ?", reply("abstained", 0.05), "web", at(4)),
        ("Bea", "What is a compiler?", reply("answered", 0.2), "web", at(2)),
    ]
    assert log_questions(db, rows) == 7
    assert questions_per_day(db, "Ada") == [
        {"day": "2026-03-01", "count": 2}, {"day": "2026-03-03", "count": 2}, {"day": "2026-03-04", "count": 2},
    ]  # fmt: skip
    assert [d["count"] for d in questions_per_day(db, None)] == [2, 1, 2, 2]
    assert outcome_counts(db, "Ada") == {"answered": 3, "abstained": 2, "declined": 1}
    assert outcome_counts(db, None)["answered"] == 4
    # least sure answered replies first (abstentions are the gaps, not here)
    assert [r["confidence"] for r in lowest_confidence(db, "Ada", 10)] == [0.4, 0.7, 0.9]
    assert [r["person"] for r in lowest_confidence(db, None, 1)] == ["Bea"]
    top = most_asked(db, "Ada", 2)
    assert [(t["count"], t["answered"]) for t in top] == [(3, 3), (2, 0)]
    assert top[0]["question"] == "What is a COMPILER?!"  # the latest wording
    assert top[1]["abstained"] == 2 and top[1]["last_asked"] == at(4)
    assert [q["question"] for q in abstained_questions(db, "Ada", 10)] == ["Bitcoin ?", "Bitcoin?"]
    assert last_question_id(db, "Ada", "abstained") == 6 and last_question_id(db, "Bea") == 7

    report = insights(db, "Ada")
    assert report["total"] == 6 and report["days_asked"] == 3
    assert report["shares"] == {"answered": 0.5, "abstained": 2 / 6, "declined": 1 / 6}
    # every day of the span, days without questions at 0
    assert [(d["day"][-2:], d["count"]) for d in report["per_day"]] == [("01", 2), ("02", 0), ("03", 2), ("04", 2)]
    assert insights(db, "Nobody")["total"] == 0 and insights(db, "Nobody")["per_day"] == []


def test_log_question_writes_outcome_confidence_and_normalised_text(db):
    log_question(db, "Ada", "  What's   the PRICE of Bitcoin?? ", reply("abstained", 0.125), "web")
    log_question(db, "Ada", "Salary?", {"answer": "no", "declined_by_policy": True}, "web")
    assert [tuple(r) for r in db.execute("SELECT outcome, confidence, normalised FROM questions ORDER BY id")] == [
        ("abstained", 0.125, "what's the price of bitcoin"),
        ("declined", None, "salary"),
    ]
    assert normalised_question("Why, Mark?") == normalised_question("why mark")


def test_per_day_keeps_the_last_days_only():
    days = [{"day": "2026-01-01", "count": 5}, {"day": "2026-03-01", "count": 1}]
    filled = per_day_filled(days, 10)
    assert len(filled) == 10 and filled[0]["day"] == "2026-02-20" and filled[-1] == days[-1]


# -- what the record lacks ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder():
    return default_embedder()


def test_gaps_group_paraphrases_and_keep_other_subjects_apart(embedder):
    asked = [{"question": q, "asked_at": at(1 + i)} for i, q in enumerate(VISION_PRO + BITCOIN)]
    asked.append({"question": "What is your favourite pizza topping?", "asked_at": at(20)})
    topics = gap_topics(asked, embedder.embed)
    assert [t["count"] for t in topics] == [4, 3, 1]
    assert set(topics[0]["examples"]) == set(VISION_PRO) and topics[0]["topic"] in VISION_PRO
    assert set(topics[1]["examples"]) == set(BITCOIN) and topics[1]["topic"] in BITCOIN
    assert topics[0]["first_asked"] == at(1) and topics[0]["last_asked"] == at(4)


def test_gaps_count_repeats_once_embedded(embedder):
    seen = []

    def vectors(texts):
        seen.extend(texts)
        return embedder.embed(texts)

    asked = [{"question": "Bitcoin price?", "asked_at": at(1)}] * 5 + [{"question": "bitcoin PRICE", "asked_at": at(2)}]
    (topic,) = gap_topics(asked, vectors)
    assert topic["count"] == 6 and topic["wordings"] == 1 and seen == ["bitcoin PRICE"]  # the latest wording
    assert gap_topics([], vectors) == []


def test_gaps_export_csv_with_formulas_kept_as_text():
    report = {
        "person": "Ada",
        "topics": [
            {"topic": "=HYPERLINK(\"x\")", "count": 2, "wordings": 2, "examples": ["=HYPERLINK(\"x\")", "a, b"],
             "first_asked": at(1), "last_asked": at(2)},
        ],
    }  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(gaps_csv(report))))
    assert rows == [
        {"topic": "'=HYPERLINK(\"x\")", "count": "2", "wordings": "2", "first_asked": at(1), "last_asked": at(2),
         "examples": "'=HYPERLINK(\"x\") | a, b"},
    ]  # fmt: skip


# -- the charts ---------------------------------------------------------------------------------


def test_svg_charts_are_well_formed_with_a_bar_per_day():
    days = [{"day": f"2026-03-{d:02d}", "count": c} for d, c in zip(range(1, 8), [3, 0, 5, 1, 0, 0, 9])]
    svg = ET.fromstring(str(bars_per_day(days, 'Asked of <Ada> & "friends"')))
    assert svg.tag == f"{SVG}svg" and svg.get("width") == "100%" and svg.get("viewBox")
    bars = svg.findall(f"{SVG}rect[@class='day']")
    assert len(bars) == 7
    heights = [float(b.get("height")) for b in bars]
    assert heights[6] == max(heights) and heights[1] == 0 and heights[0] == pytest.approx(heights[6] / 3, abs=0.01)
    assert [b.find(f"{SVG}title").text for b in bars][0] == "2026-03-01: 3"
    assert svg.find(f"{SVG}title").text == 'Asked of <Ada> & "friends"'  # escaped in, read back whole
    assert ET.fromstring(str(bars_per_day([]))).findall(f"{SVG}rect") == []

    share = ET.fromstring(str(share_bar({"answered": 6, "abstained": 3, "declined": 1})))
    widths = {r.get("class"): float(r.get("width")) for r in share.findall(f"{SVG}rect") if r.get("class")}
    assert widths["share-answered"] == pytest.approx(2 * widths["share-abstained"])
    assert sum(widths.values()) == pytest.approx(float(share.get("viewBox").split()[2]))


# -- the API, the page and the CLI over a real library ----------------------------------------------


@pytest.fixture(scope="module")
def served(lex_copy):
    """A copy of the lex library: real asks through Service.ask, then volume logged directly."""
    db, key = lex_copy("insights")
    service = Service(db)
    replies = [
        service.ask(PERSON, q, channel="web")
        for q in ["What is the metaverse?", "what is the metaverse", "What do you think about open source AI?",
                  *BITCOIN]
    ]  # fmt: skip
    with Library(db) as library, library.atomic() as conn:
        log_questions(
            conn,
            [(PERSON, q, reply("abstained", 0.05), "api", at(1 + i)) for i, q in enumerate(VISION_PRO)]
            + [(PERSON, "What is the metaverse?", reply("answered", 0.8), "web", at(d)) for d in range(1, 11)],
        )
    with TestClient(create_app(service)) as client:
        yield client, key, replies, db
    service.close()


def test_insights_count_real_asks_and_logged_ones(served):
    client, key, replies, _ = served
    url = f"/api/people/{PERSON.lower().replace(' ', '-')}/insights"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "ptk_wrong"}).status_code == 401
    report = client.get(url, params={"days": 3660}, headers={"X-API-Key": key}).json()
    asked = {
        "answered": sum(not r["abstained"] and not r["declined_by_policy"] for r in replies) + 10,
        "abstained": sum(r["abstained"] for r in replies) + 4,
        "declined": sum(r["declined_by_policy"] for r in replies),
    }
    assert report["counts"] == asked and report["total"] == len(replies) + 14
    assert report["most_asked"][0]["question"] == "What is the metaverse?"
    assert report["most_asked"][0]["count"] == 12  # two real asks (one in other words) and ten logged
    assert sum(d["count"] for d in report["per_day"]) == report["total"]
    confidences = [r["confidence"] for r in report["lowest_confidence"]]
    assert confidences == sorted(confidences) and len(confidences) >= 2


def test_gaps_through_the_api_as_json_and_csv(served):
    client, key, replies, _ = served
    url = "/api/people/mark-zuckerberg/gaps"
    assert client.get(url).status_code == 401
    report = client.get(url, headers={"Authorization": f"Bearer {key}"}).json()
    assert report["abstained"] == sum(r["abstained"] for r in replies) + 4 == report["clustered"]
    vision = [t for t in report["topics"] if t["topic"] in VISION_PRO]
    assert len(vision) == 1 and vision[0]["count"] == 4
    r = client.get(url, params={"format": "csv"}, headers={"X-API-Key": key})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="mark-zuckerberg-gaps.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["topic"], int(row["count"])) for row in rows] == [(t["topic"], t["count"]) for t in report["topics"]]
    assert client.get(url, params={"format": "xml"}, headers={"X-API-Key": key}).status_code == 422


def test_insights_page_with_charts_and_gaps(served):
    client, key, _, _ = served
    page = "/creator/people/mark-zuckerberg/insights"
    client.cookies.clear()
    assert client.get(page).status_code == 401  # the sign-in page
    assert client.post("/creator/login", data={"key": key}, follow_redirects=False).status_code == 303
    assert 'href="/creator/people/mark-zuckerberg/insights"' in client.get("/creator/people/mark-zuckerberg").text
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert html.count("<svg") == 2 and "<script" not in html
    svg = ET.fromstring(html[html.index("<svg") : html.index("</svg>") + 6])
    report = client.get("/api/people/mark-zuckerberg/insights").json()  # the session opens the API too
    assert len(svg.findall(f"{SVG}rect[@class='day']")) == len(report["per_day"])
    assert "Asked 4 times, never discussed:" in html
    assert 'href="/api/people/mark-zuckerberg/gaps?format=csv"' in html
    client.cookies.clear()


def test_cli_insights_and_gaps(served):
    _, _, _, db = served
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db), "insights", PERSON, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["person"] == PERSON
    result = runner.invoke(cli, ["--db", str(db), "insights", "mark-zuckerberg"])
    assert result.exit_code == 0 and "asked most often" in result.stdout
    result = runner.invoke(cli, ["--db", str(db), "gaps", PERSON, "--format", "csv"])
    assert result.exit_code == 0 and result.stdout.startswith("topic,count,")
    assert json.loads(runner.invoke(cli, ["--db", str(db), "gaps", PERSON, "--format", "json"]).stdout)["topics"]
    result = runner.invoke(cli, ["--db", str(db), "gaps", PERSON])
    assert result.exit_code == 0 and "asked 4 times, never discussed:" in result.stdout
    assert runner.invoke(cli, ["--db", str(db), "gaps", PERSON, "--format", "xml"]).exit_code == 1


def test_kept_gaps_are_shown_while_new_ones_are_worked_out(tmp_path, embedder):
    path = tmp_path / "gaps.db"
    with Library(path) as library:
        log_questions(
            library.db, [("Ada", q, reply("abstained", 0.1), "web", at(1 + i)) for i, q in enumerate(BITCOIN)]
        )
    service = Service(path, embedder=embedder)
    try:
        first = service.gaps(None)
        assert [t["count"] for t in first["topics"]] == [3] and not first["refreshing"]
        assert service.gaps(None) == first  # kept
        with Library(path) as library:
            log_question(library.db, "Ada", VISION_PRO[0], reply("abstained", 0.1), "web", at(9))
        stale = service.gaps(None)  # at once: the kept report, a thread works out the new one
        assert stale["refreshing"] and stale["topics"] == first["topics"]
        fresh = service.gaps(None, fresh=True)
        assert [t["count"] for t in fresh["topics"]] == [3, 1] and not fresh["refreshing"]
        assert fresh["as_of_question"] == 4
    finally:
        service.close()

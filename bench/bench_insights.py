"""Insights benchmark (issue 18): the creator's dashboard over 100,000 logged questions.

    python bench/bench_insights.py [--library podtwin.db] [--questions 100000] [--requests 20]

Copies a library (default: the lex transcripts ingested and embedded into a new one, a few
minutes) and logs QUESTIONS questions of one twin into the copy with the store's bulk insert
(log_questions): real replies of that twin (one answered, one abstained, asked through the
service) with their flags and confidence varied, over 180 days, about 70 % answered, 25 %
abstained and 5 % declined, the wordings about 1,600, of 112 subjects in 10 templates. Then,
through the app in-process (TestClient, signed in as the creator), it times REQUESTS
requests each of the insights page (which shows the gaps too), the insights JSON and the gaps
JSON, and prints p50/p99. The gaps are clustered once per new abstention and kept: the first
request after one (cold: every distinct question embedded; after a new abstention: only it)
is timed and reported on its own; after a new abstention pages show the kept gaps while a
thread works out the new ones, and that work is timed too. Then the creator marks 200 replies
and pins and blocks 10 excerpts, and the dashboard, the twin's page and the page that corrects
a reply are timed the same way. Target: pages within 300 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient  # noqa: E402

from podtwin.api.service import Service  # noqa: E402
from podtwin.corpus import corpus_dir  # noqa: E402
from podtwin.server import create_app  # noqa: E402
from podtwin.store.keys import create_key  # noqa: E402
from podtwin.store.library import Library  # noqa: E402
from podtwin.store.questions import log_questions  # noqa: E402

TARGET_MS = 300.0
PERSON = "Mark Zuckerberg"
SUBJECTS = (
    "the metaverse|open source AI|Llama|Threads|Twitter|Elon Musk|the cage fight|jiu-jitsu|VR headsets|"
    "Apple Vision Pro|Quest 3|smart glasses|Ray-Ban glasses|AI safety|superintelligence|the price of bitcoin|"
    "Ethereum|crypto regulation|your kids|your parents|Harvard|dropping out|the movie The Social Network|"
    "Cambridge Analytica|Congress|TikTok|Instagram|WhatsApp|encryption|content moderation|free speech|"
    "the election|hiring engineers|remote work|layoffs|the year of efficiency|Hawaii|cattle ranching|hunting|"
    "fencing|surfing|MMA|UFC|Lex's podcast|books you love|Roman history|Augustus|Greek mythology|"
    "programming languages|PHP|Hack|React|PyTorch|GPUs|Nvidia|data centers|nuclear power|climate change|Mars|"
    "SpaceX|Tesla|self-driving cars|robots|humanoid robots|brain computer interfaces|Neuralink|longevity|diet|"
    "sleep|meditation|fear|death|meaning of life|love|friendship|loneliness|social media and teens|"
    "mental health|the future of work|universal basic income|China|Europe|India|the war in Ukraine|Israel|"
    "philanthropy|CZI|curing disease|education|Khan Academy|chess|Go|poker|video games|Minecraft|Fortnite|"
    "music|Taylor Swift|movies|Star Wars|anime|dogs|cats|cooking|coffee|fashion|t-shirts|wristwatches|cars|"
    "airplanes"
).split("|")
TEMPLATES = [
    "What do you think about {s}?",
    "What's your take on {s}?",
    "How do you feel about {s}?",
    "Have you ever talked about {s}?",
    "What would you say about {s} in {y}?",
    "Tell me about {s}.",
    "Is {s} overrated?",
    "What did you learn from {s}?",
    "Where is {s} going by {y}?",
    "Why does {s} matter to you?",
]


def build_lex(path: Path) -> None:
    from podtwin.ingest import ingest
    from podtwin.search.index import embed_missing

    with Library(path) as library:
        report = ingest(library, [corpus_dir() / "lex"])
        assert report.ok, report.failed
        embed_missing(library)


def seed(db_path: Path, n: int, service: Service) -> tuple[dict, dict]:
    """n questions of PERSON's twin, logged with the store's bulk insert; what it took."""
    rng = random.Random(18)
    answered = service.ask(PERSON, "What is the metaverse?", channel="web")
    abstained = service.ask(PERSON, "What's your favourite Taylor Swift album?", channel="web")
    assert not answered["abstained"] and abstained["abstained"], "pick other seed questions"
    now = datetime.now(UTC).replace(microsecond=0)
    texts = [t.format(s=s, y=y) for s in SUBJECTS for t in TEMPLATES for y in (2026, 2030, 2035)]
    texts = list(dict.fromkeys(texts))
    weights = [1 / (i + 1) ** 0.8 for i in range(len(texts))]  # some asked far more than others
    rng.shuffle(texts)

    def rows():
        for i in range(n):
            roll = rng.random()
            kind = "answered" if roll < 0.70 else "abstained" if roll < 0.95 else "declined"
            reply = dict(answered if kind != "abstained" else abstained)
            reply["declined_by_policy"] = kind == "declined"
            reply["confidence"] = round(rng.uniform(0.5, 1.0) if kind == "answered" else rng.uniform(0, 0.5), 4)
            when = now - timedelta(seconds=int(180 * 86400 * (1 - i / n)) + rng.randint(0, 600))
            question = rng.choices(texts, weights)[0]
            yield (PERSON, question, reply, rng.choice(["web", "api", "openai", "mcp"]), when.isoformat())

    t0 = time.perf_counter()
    with Library(db_path) as library, library.atomic() as db:
        logged = log_questions(db, rows())
    return {
        "logged": logged,
        "distinct_wordings": len(texts),
        "seconds": round(time.perf_counter() - t0, 1),
        "reply_json_bytes": [len(json.dumps(answered)), len(json.dumps(abstained))],
    }, abstained


def correct_some(service: Service, client: TestClient) -> dict:
    """The creator marks 200 logged replies and pins and blocks 10 excerpts (through the API, as
    the pages do): the twin's page lists them and their audit."""
    recent = service.recent_questions(PERSON, 50)
    for i, q in enumerate(recent[:50] * 4):
        assert (
            client.put(f"/api/questions/{q['id']}/mark", json={"mark": "good" if i % 3 else "wrong"}).status_code == 200
        )
    made = 0
    for i, hit in enumerate(
        service.search("the metaverse and virtual reality", speaker=PERSON, kinds=["conversation"], limit=20)["hits"]
    ):
        body = {"kind": "pin" if i % 2 else "block", "episode_id": hit["episode_id"],
                "first_sentence": hit["first_sentence"], "last_sentence": hit["first_sentence"],
                "question": f"What did you say about virtual reality, part {i}?"}  # fmt: skip
        made += client.post("/api/people/mark-zuckerberg/corrections", json=body).status_code == 201
        if made >= 10:
            break
    return {"marks": 200, "pins_and_blocks": made, "question_id": recent[0]["id"]}


def timed(client: TestClient, url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
    p99 = sorted(times)[math.ceil(0.99 * len(times)) - 1]  # nearest rank: of 20, the slowest
    return {"p50_ms": round(statistics.median(times), 1), "p99_ms": round(p99, 1), "max_ms": round(max(times), 1)}


def once(client: TestClient, url: str) -> float:
    t0 = time.perf_counter()
    assert client.get(url).status_code == 200
    return round((time.perf_counter() - t0) * 1000, 1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, help="a library holding the lex transcripts (default: built here)")
    ap.add_argument("--questions", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-insights-") as tmp:
        copy = Path(tmp) / "insights.db"
        t0 = time.perf_counter()
        if args.library:
            with Library(args.library, create=False) as source, Library(copy) as target:
                source.db.backup(target.db)
        else:
            build_lex(copy)
        made = round(time.perf_counter() - t0, 1)
        with Library(copy) as library:
            key = create_key(library.db, "bench")
        service = Service(copy)
        seeded, gaps_reply = seed(copy, args.questions, service)
        slug = "mark-zuckerberg"
        page = f"/creator/people/{slug}/insights"
        result: dict = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "library_made_s": made,
            "seeded": seeded,
            "library_mb": round(copy.stat().st_size / 1e6),
        }
        with TestClient(create_app(service)) as client:
            assert client.post("/creator/login", data={"key": key}, follow_redirects=False).status_code == 303
            once(client, f"/creator/people/{slug}")  # the person's page: topics and people, loaded once
            result["gaps_cold_ms"] = once(client, f"/api/people/{slug}/gaps")  # every distinct wording embedded
            gaps = client.get(f"/api/people/{slug}/gaps").json()
            result["gaps"] = {
                "abstained": gaps["abstained"],
                "clustered": gaps["clustered"],
                "topics": len(gaps["topics"]),
                "top": [f"asked {t['count']} times: {t['topic']}" for t in gaps["topics"][:5]],
            }
            result["insights_page"] = timed(client, page, args.requests)
            # the creator's other pages: the dashboard, the twin's page (recent questions with their
            # marks, pins and blocks, the audit, webhook events), and correcting one reply
            corrected = correct_some(service, client)
            result["corrections_made"] = corrected
            result["dashboard_page"] = timed(client, "/creator", args.requests)
            result["person_page"] = timed(client, f"/creator/people/{slug}", args.requests)
            result["correct_page"] = timed(
                client, f"/creator/questions/{corrected['question_id']}/correct", args.requests
            )
            result["insights_json"] = timed(client, f"/api/people/{slug}/insights", args.requests)
            result["gaps_json"] = timed(client, f"/api/people/{slug}/gaps", args.requests)
            result["gaps_csv"] = timed(client, f"/api/people/{slug}/gaps?format=csv", args.requests)
            # a new abstention: the gaps are clustered again (only the new question embedded)
            with Library(copy) as library, library.atomic() as db:
                new = {**gaps_reply, "confidence": 0.1}
                log_questions(db, [(PERSON, "What do you think of the new Nintendo console?", new, "web", None)])
            result["page_after_new_abstention_ms"] = once(client, page)  # the kept gaps, refreshed meanwhile
            t0 = time.perf_counter()
            service.gaps(PERSON, fresh=True)  # what the refresh costs (the new question embedded, all clustered)
            result["gaps_refresh_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        service.close()
    pages = ("insights_page", "gaps_json", "dashboard_page", "person_page", "correct_page")
    worst = max(result[p]["p99_ms"] for p in pages)
    result["target"] = f"p99 {worst} ms: " + ("met" if worst <= TARGET_MS else "MISSED") + f" ({TARGET_MS:.0f} ms)"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

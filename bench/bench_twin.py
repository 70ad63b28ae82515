"""Twin benchmark: extractive `ask` latency in-process, warm, on a full-corpus library.

    python bench/bench_twin.py --library corpus.db [--rounds N]

The questions are every case of eval/twin (all splits, all kinds: answers, abstentions,
policy declines, follow-ups), asked of their persona with the case's off-limits topics;
after a warm-up pass, each round asks them all again and every reply's time is recorded.
Also reports the process's peak memory. Build the library with `make corpus.db` (or
`python bench/bench_search.py --keep corpus.db`).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from podtwin.store.library import Library  # noqa: E402
from podtwin.twin.answer import ask  # noqa: E402
from podtwin.twin.cases import case_persona, load_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
P50_TARGET_MS, P99_TARGET_MS = 300.0, 800.0  # issue 16: with the re-ranker, on 2 cores


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, default=ROOT / "corpus.db")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rerank", action="store_true", help="with the cross-encoder over the candidates")
    args = ap.parse_args(argv)
    if not args.library.exists():
        sys.exit(f"no library at {args.library}: build one with `make corpus.db`")
    cases = load_cases(sorted((ROOT / "eval" / "twin").glob("*.jsonl")))
    with Library(args.library, create=False) as library:
        jobs = []
        for c in cases:
            persona = case_persona(library, c)
            if persona is not None:
                jobs.append((persona.person, c["question"], c.get("history") or [], persona))
        for job in jobs:  # warm-up: model, index and per-person caches
            ask(library, job[0], job[1], history=job[2], persona=job[3], rerank=args.rerank)
        times: list[float] = []
        start = time.perf_counter()
        for _ in range(args.rounds):
            for person, question, history, persona in jobs:
                t0 = time.perf_counter()
                ask(library, person, question, history=history, persona=persona, rerank=args.rerank)
                times.append((time.perf_counter() - t0) * 1000)
        wall = time.perf_counter() - start
    q = statistics.quantiles(times, n=100)
    result = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
        "library": str(args.library),
        "rerank": args.rerank,
        "asks": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(q[98], 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    result["targets"] = {
        "p50": "met" if result["p50_ms"] <= P50_TARGET_MS else "MISSED",
        "p99": "met" if result["p99_ms"] <= P99_TARGET_MS else "MISSED",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

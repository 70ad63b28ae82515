"""Ingest benchmark: the whole shared corpus into a fresh library, against the simplest baseline.

    python bench/bench_ingest.py [--corpus DIR] [--workers N]

Embeddings are left out (`--no-embed`; bench_search.py measures them). Measures wall
time, words per second and peak memory (summed RSS of the ingest process and its
workers, sampled every 20 ms from /proc), then times the baseline in the same run: read
every file and split on '. ? !'.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from podtwin.corpus import corpus_dir  # noqa: E402


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_ingest(corpus: Path, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        cmd = [sys.executable, "-m", "podtwin.cli", "--db", str(db), "ingest", "--json", "--no-embed", str(corpus)]
        if workers:
            cmd[5:5] = ["--workers", str(workers)]
        peak = 0
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"ingest failed ({proc.returncode}):\n{err[-2000:]}")
        import json
        import sqlite3

        report = json.loads(out)
        con = sqlite3.connect(db)
        words = con.execute("SELECT sum(words) FROM episodes").fetchone()[0]
        episodes = con.execute("SELECT count(*) FROM episodes").fetchone()[0]
        sentences = con.execute("SELECT count(*) FROM sentences").fetchone()[0]
        con.close()
        return {
            "seconds": elapsed,
            "peak_rss_mb": peak / 2**20,
            "files": len(report["added"]) + len(report["merged"]) + len(report["failed"]),
            "episodes": episodes,
            "sentences": sentences,
            "words": words,
            "db_mb": db.stat().st_size / 2**20,
        }


def run_baseline(corpus: Path) -> dict:
    start = time.perf_counter()
    sentences = words = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        parts = [s for s in re.split(r"[.?!]", text) if s.strip()]
        sentences += len(parts)
        words += len(text.split())
    return {"seconds": time.perf_counter() - start, "sentences": sentences, "words": words}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"corpus: {args.corpus.resolve()}")
    result = run_ingest(args.corpus, args.workers)
    base = run_baseline(args.corpus)
    print(
        f"podtwin ingest: {result['files']} files, {result['episodes']} episodes, {result['words']:,} words, "
        f"{result['sentences']:,} sentences in {result['seconds']:.1f} s "
        f"({result['words'] / result['seconds']:,.0f} words/s), peak memory {result['peak_rss_mb']:.0f} MB, "
        f"library {result['db_mb']:.0f} MB"
    )
    print(
        f"baseline (read + split on . ? !): {base['words']:,} words, {base['sentences']:,} sentences in "
        f"{base['seconds']:.2f} s ({base['words'] / base['seconds']:,.0f} words/s)"
    )
    ok_time = result["seconds"] <= 60
    ok_mem = result["peak_rss_mb"] < 1024
    print(f"targets: time <= 60 s {'MET' if ok_time else 'MISSED'}; memory < 1 GB {'MET' if ok_mem else 'MISSED'}")
    sys.exit(0 if ok_time and ok_mem else 1)


if __name__ == "__main__":
    main()

"""Soak benchmark: one `podtwin serve` process on loopback under ten minutes of steady, mixed load.

    python bench/bench_soak.py [--library LIB] [--seconds 600] [--warmup 60] [--search-rps 20] [--ask-rps 5]
                               [--chat-rps 1] [--upload-every 10] [--upload-chars 2000] [--json PATH]

Targets (the issue): 10 minutes of mixed load on loopback with 0 errors; the server's RSS
grows under 10 % after the warm-up; p99 within issue 6's targets: `/api/search` and
`/api/ask` under 500 ms, time to the first streamed token of a chat under 300 ms.

The script copies --library (SQLite's backup, so the copy holds what the WAL holds) into a
temporary folder, or without --library builds the sample library there
(`podtwin ingest $PODTWIN_CORPUS/lex`, a few minutes); makes an API key on the copy
(`podtwin keys create soak`); starts `python -m podtwin.cli --db COPY serve --rate-limit 0`
on a free port (bench_server.Server) and stops it at the end. Uploads land in the copy's
uploads/ folder, next to it, and are deleted with it.

Four generators run together, each a bounded open loop (count = rate x (warm-up + seconds);
request i is due at start + i / rate, whatever happened to the ones before it, and its
latency runs from that due time, so a stalled server shows as latency):

- search: `GET /api/search?q=...` at --search-rps, the eval/search questions in order;
- ask: `POST /api/ask` at --ask-rps, the eval/twin cases (answer, outside, false premise,
  other speaker) whose persona is in the library (`GET /v1/models`), in order;
- chat: `POST /v1/chat/completions` with `stream: true` at --chat-rps, the same cases, the
  person's slug as model: timed to the first chunk with content (time to first token) and
  to `data: [DONE]`; an error event or no content is an error;
- upload: `POST /api/uploads` (multipart, `X-API-Key`) every --upload-every seconds: a
  small real transcript, a run of --upload-chars characters of whole turns of one of
  $PODTWIN_CORPUS/lenny's transcripts with its front matter (title marked "soak part N"),
  successive runs of successive files, each under its own name, so no upload repeats
  another's content; an answer listing a failed file is an error.

Before the load, one request at a time: a search, an ask and a chat per person asked (their
caches), not counted. Then requests due in the first --warmup seconds are the warm-up: sent
like the others, not counted (their errors are reported). An error is an answer other than 200, a transport
error, an answer later than --timeout (counted late, its latency kept), no answer within
--give-up, or a request not sent because --max-in-flight of its kind were outstanding
("shed"). The server's RSS (VmRSS, /proc/PID/status) is sampled every --sample seconds:
reported at the end of the warm-up, at the end, its maximum, the growth from the end of the
warm-up to the end, and the slope of a least-squares line through the measured samples.
Uploads stall the other requests (ingest and embedding in the server process, then the
search index and people summary built again): the percentiles of the requests due while no
upload was outstanding, nor in the second after one, are reported apart. Also reported:
the server's CPU, the generator's CPU, the machine's load average and, from /proc/stat, the
CPU the rest of the machine used meanwhile (the machine may be shared).
Exit status 1 if any counted request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is a folder of scripts

from bench_server import (  # noqa: E402
    CLK_TCK,
    P99_TARGET_MS,
    ROOT,
    TTFT_TARGET_MS,
    Server,
    ask_cases,
    code_state,
    pct,
    proc_status,
    search_queries,
    show,
)

RSS_GROWTH_TARGET = 0.10
AFTER_UPLOAD_S = 1.0  # an upload's wake (the search index and the twins' caches reloaded) counts as during it
KINDS = ("search", "ask", "chat", "upload")


def corpus_dir() -> Path:
    return Path(os.environ.get("PODTWIN_CORPUS", ROOT.parent / "shared" / "corpus"))


# -- the library -------------------------------------------------------------------------------


def cli(db: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "podtwin.cli", "--db", str(db), *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def prepare(library: Path | None, folder: Path) -> tuple[Path, float]:
    """The library the server will use: a backup copy of library, or the lex sample built anew."""
    copy = folder / "soak.db"
    start = time.perf_counter()
    if library is None:
        lex = corpus_dir() / "lex"
        print(f"building the sample library from {lex} ...", flush=True)
        cli(copy, "ingest", str(lex))
    else:
        with closing(sqlite3.connect(library)) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)
    return copy, time.perf_counter() - start


def library_counts(db: Path) -> dict:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("episodes", "sentences", "passages")
        }


# -- the uploads -------------------------------------------------------------------------------

_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_TURN = re.compile(r"^[^\n]{1,80} \(\d{1,2}:\d{2}(?::\d{2})?\):$", re.MULTILINE)


def upload_pieces(n: int, chars: int) -> list[tuple[str, bytes]]:
    """n small transcripts: runs of about `chars` characters of whole turns of the lenny
    transcripts, in order, each with its file's front matter and a title of its own."""
    out: list[tuple[str, bytes]] = []
    for path in sorted((corpus_dir() / "lenny").glob("*.md")):
        text = path.read_text()
        front = _FRONT.match(text)
        meta = yaml.safe_load(front[1]) if front else None
        if not isinstance(meta, dict):
            continue
        starts = [m.start() for m in _TURN.finditer(text)] + [len(text)]
        turns = [text[a:b].strip() for a, b in zip(starts, starts[1:])]
        part, run = 0, []
        for turn in turns:
            run.append(turn)
            if sum(len(t) for t in run) < chars:
                continue
            part += 1
            title = f"{meta.get('title') or path.stem} (soak part {part})"
            head = yaml.safe_dump({**meta, "title": title}, allow_unicode=True, sort_keys=False)
            body = f"---\n{head}---\n\n# {title}\n\n## Transcript\n\n" + "\n\n".join(run) + "\n"
            out.append((f"soak-{path.stem}-{part}.md", body.encode()))
            run = []
            if len(out) == n:
                return out
    if not out:
        raise SystemExit(f"no lenny transcripts to upload under {corpus_dir() / 'lenny'}")
    return out  # fewer than asked for: the caller reuses them (stored under names of their own)


# -- the load ----------------------------------------------------------------------------------


class Kind:
    """One generator's figures: warm-up and counted requests, split by due time."""

    def __init__(self, name: str, rate: float) -> None:
        self.name, self.rate = name, rate
        self.outcomes = {"warm-up": Counter(), "counted": Counter()}
        # answered 200 (late ones included): (counted?, due s from the start, latency ms, first content ms)
        self.answered: list[tuple[bool, float, float, float | None]] = []
        self.notes: Counter[str] = Counter()

    @property
    def latencies(self) -> list[float]:
        return [took for counted, _, took, _ in self.answered if counted]

    def busy(self, after: float) -> list[tuple[float, float]]:
        """(from, to) in s from the start: while each request was outstanding, and `after` s more."""
        return [(due, due + took / 1000 + after) for _, due, took, _ in self.answered]

    def result(self, windows: list[tuple[float, float]]) -> dict:
        counted = Counter(self.outcomes["counted"])
        ok = counted.pop("ok", 0)
        warm = Counter(self.outcomes["warm-up"])
        warm_ok = warm.pop("ok", 0)
        out = {
            "rate_per_s": self.rate,
            "requests": ok + sum(counted.values()),
            "ok": ok,
            "errors": sum(counted.values()),
            "error_kinds": dict(counted),
            **percentiles(self.latencies),
            "warmup_requests": warm_ok + sum(warm.values()),
            "warmup_errors": dict(warm),
        }
        if self.name == "chat":
            out["first_token"] = percentiles([first for counted, _, _, first in self.answered if counted])
        if windows and self.name != "upload":  # the requests due while no upload was being ingested
            away = [(took, first) for c, due, took, first in self.answered if c and not inside(due, windows)]
            out["away_from_uploads"] = {"requests": len(away), **percentiles([t for t, _ in away])}
            if self.name == "chat":
                out["away_from_uploads"]["first_token"] = percentiles([f for _, f in away])
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


def inside(t: float, windows: list[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in windows)


def percentiles(values: list[float]) -> dict:
    return {
        f"{k}_ms": None if not values else round(pct(values, p) if p < 100 else max(values), 1)
        for k, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    }


async def steady(kind: Kind, send, args, start: float, warm_end: float) -> None:
    """Open loop: request i due at start + i / rate, at most args.max_in_flight outstanding."""
    loop = asyncio.get_running_loop()
    n = max(1, round(kind.rate * (args.warmup + args.seconds)))
    tasks: set[asyncio.Task] = set()
    in_flight = 0

    async def one(i: int, due: float, phase: str) -> None:
        nonlocal in_flight
        try:
            async with asyncio.timeout(args.give_up):
                outcome, first = await send(i, due)
        except TimeoutError:
            outcome, first = f"no answer in {args.give_up:g} s", None
        except (aiohttp.ClientError, OSError) as e:
            outcome, first = type(e).__name__, None
        finally:
            in_flight -= 1
        took = (loop.time() - due) * 1000
        if outcome == "ok":
            kind.answered.append((phase == "counted", due - start, took, first))
        if outcome == "ok" and took > args.timeout * 1000:
            outcome = "late"
        kind.outcomes[phase][f"late (> {args.timeout:g} s)" if outcome == "late" else outcome] += 1

    for i in range(n):
        due = start + i / kind.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        phase = "warm-up" if due < warm_end else "counted"
        if in_flight >= args.max_in_flight:
            kind.outcomes[phase]["shed"] += 1
            continue
        in_flight += 1
        task = asyncio.create_task(one(i, due, phase))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*tasks)


def machine_cpu() -> tuple[float, float]:
    """The whole machine's busy and steal CPU seconds so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    steal = fields[7] if len(fields) > 7 else 0
    return (sum(fields[:8]) - idle - steal) / CLK_TCK, steal / CLK_TCK


async def sample(server: Server, every: float, start: float, until: float, samples: list) -> None:
    """(seconds since start, server VmRSS, load 1m) every `every` seconds until `until`."""
    loop = asyncio.get_running_loop()
    i = 0
    while True:
        at = start + i * every
        if at > until + every / 2:
            return
        await asyncio.sleep(max(0.0, at - loop.time()))
        samples.append((round(loop.time() - start, 1), proc_status(server.proc.pid, "VmRSS"), os.getloadavg()[0]))
        i += 1


async def run(args, server: Server, key: str, pieces: list[tuple[str, bytes]]) -> dict:
    queries = search_queries()
    connector = aiohttp.TCPConnector(limit=4 * args.max_in_flight)
    async with aiohttp.ClientSession(server.url, connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as s:
        async with s.get("/v1/models") as r:
            r.raise_for_status()
            slugs = {m["name"]: m["id"] for m in (await r.json())["data"]}
        cases = [(p, q) for p, q in ask_cases() if p in slugs]
        if not cases:
            raise SystemExit("no eval/twin case asks a person of this library")
        personas = sorted({p for p, _ in cases})
        print(f"asks and chats: {len(cases)} eval/twin cases of {len(personas)} people in the library", flush=True)
        chat_order = random.Random(0).sample(range(len(cases)), len(cases))
        loop = asyncio.get_running_loop()

        async def search(i: int, due: float):
            async with s.get("/api/search?q=" + quote(queries[i % len(queries)])) as r:
                await r.read()
                return ("ok" if r.status == 200 else f"http {r.status}"), None

        async def ask(i: int, due: float):
            person, question = cases[i % len(cases)]
            async with s.post("/api/ask", json={"person": person, "question": question}) as r:
                await r.read()
                return ("ok" if r.status == 200 else f"http {r.status}"), None

        async def chat(i: int, due: float):
            person, question = cases[chat_order[i % len(cases)]]  # another order than the asks'
            body = {"model": slugs[person], "messages": [{"role": "user", "content": question}], "stream": True}
            first, done = None, False
            async with s.post("/v1/chat/completions", json=body) as r:
                if r.status != 200:
                    await r.read()
                    return f"http {r.status}", None
                async for raw in r.content:
                    line = raw.decode().strip()
                    if line == "data: [DONE]":
                        done = True
                    elif line.startswith("data: "):
                        event = json.loads(line[6:])
                        if "error" in event:
                            return "error event", None
                        delta = (event.get("choices") or [{}])[0].get("delta") or {}
                        if first is None and delta.get("content"):
                            first = (loop.time() - due) * 1000
            if first is None:
                return "no content", None
            return ("ok" if done else "no [DONE]"), first

        async def upload(i: int, due: float):
            name, data = pieces[i % len(pieces)]
            form = aiohttp.FormData()
            form.add_field("file", data, filename=name, content_type="text/markdown")
            async with s.post("/api/uploads", data=form, headers={"X-API-Key": key}) as r:
                text = await r.read()
                if r.status != 200:
                    return f"http {r.status}", None
                report = json.loads(text)
            if report["failed"]:
                return "upload failed: " + "; ".join(f["reason"][:80] for f in report["failed"]), None
            for what in ("added", "merged", "updated", "skipped"):
                kinds[3].notes[what] += report[what] if isinstance(report[what], int) else len(report[what])
            kinds[3].notes["passages embedded"] += report["embedded"]
            return "ok", None

        kinds = [
            Kind("search", args.search_rps),
            Kind("ask", args.ask_rps),
            Kind("chat", args.chat_rps),
            Kind("upload", 1 / args.upload_every if args.upload_every > 0 else 0),
        ]
        senders = dict(zip(KINDS, (search, ask, chat, upload)))
        # first, one request at a time: a search, an ask and a chat per person (their caches)
        prewarm: Counter[tuple[str, str]] = Counter()
        t0 = loop.time()
        for person in personas:
            i = next(j for j, (p, _) in enumerate(cases) if p == person)
            for name, send, j in (("search", search, i), ("ask", ask, i), ("chat", chat, chat_order.index(i))):
                prewarm[(name, (await send(j, loop.time()))[0])] += 1
        print(f"pre-warm ({loop.time() - t0:.1f} s, not counted): {dict(prewarm)} (kind, outcome): count", flush=True)
        start = loop.time() + 0.1
        warm_end, end = start + args.warmup, start + args.warmup + args.seconds
        samples: list[tuple[float, int, float]] = []
        cpu0, gen0, machine0 = server.cpu(), time.process_time(), machine_cpu()
        print(f"{args.warmup:g} s of warm-up, then {args.seconds:g} s counted ...", flush=True)
        await asyncio.gather(
            sample(server, args.sample, start, end, samples),
            *(steady(k, senders[k.name], args, start, warm_end) for k in kinds if k.rate > 0),
        )
        wall = loop.time() - start
        server_cpu, gen_cpu = server.cpu() - cpu0, time.process_time() - gen0
        (busy1, steal1), (busy0, steal0) = machine_cpu(), machine0
    return {
        "kinds": {k.name: k.result(kinds[3].busy(AFTER_UPLOAD_S)) for k in kinds if k.rate > 0},
        "people_asked": len(personas),
        "wall_s": round(wall, 1),
        "server_cpu_s": round(server_cpu, 1),
        "generator_cpu_s": round(gen_cpu, 1),
        "others_cpu_s": round(max(0.0, busy1 - busy0 - server_cpu - gen_cpu), 1),
        "steal_cpu_s": round(steal1 - steal0, 1),
        "rss": rss_figures(samples, args.warmup),
    }


def rss_figures(samples: list[tuple[float, int, float]], warmup: float) -> dict:
    mb = 2**20
    counted = [(t, r) for t, r, _ in samples if t >= warmup - 0.5 and r]
    at_warm = counted[0][1] if counted else 0
    at_end = counted[-1][1] if counted else 0
    slope = None
    if len(counted) >= 3:  # least squares, MB per minute
        ts, rs = [t for t, _ in counted], [r / mb for _, r in counted]
        mt, mr = sum(ts) / len(ts), sum(rs) / len(rs)
        slope = sum((t - mt) * (r - mr) for t, r in zip(ts, rs)) / sum((t - mt) ** 2 for t in ts) * 60
    loads = [x for _, _, x in samples]
    return {
        "start_mb": round(samples[0][1] / mb, 1) if samples else None,
        "end_of_warmup_mb": round(at_warm / mb, 1),
        "end_mb": round(at_end / mb, 1),
        "max_mb": round(max(r for _, r, _ in samples) / mb, 1) if samples else None,
        "growth_pct": round(100 * (at_end - at_warm) / at_warm, 2) if at_warm else None,
        "slope_mb_per_min": None if slope is None else round(slope, 3),
        "load_1m_mean": round(sum(loads) / len(loads), 2) if loads else None,
        "load_1m_max": round(max(loads), 2) if loads else None,
        "samples": [(t, round(r / mb, 1)) for t, r, _ in samples],
    }


# -- the report --------------------------------------------------------------------------------


def verdicts(result: dict) -> dict:
    k, rss = result["kinds"], result["rss"]
    out = {"errors": "met" if not any(x["errors"] for x in k.values()) else "MISSED"}
    growth = rss["growth_pct"]
    out["rss growth < 10 %"] = "met" if growth is not None and growth < 100 * RSS_GROWTH_TARGET else "MISSED"
    for name in ("search", "ask"):
        if name in k:
            out[f"{name} p99 < {P99_TARGET_MS:g} ms"] = (
                "met" if (k[name]["p99_ms"] or 1e9) < P99_TARGET_MS else "MISSED"
            )
    if "chat" in k:
        p99 = k["chat"]["first_token"]["p99_ms"]
        out[f"chat first token p99 < {TTFT_TARGET_MS:g} ms"] = "met" if (p99 or 1e9) < TTFT_TARGET_MS else "MISSED"
    return out


def print_table(result: dict) -> None:
    heads = ["kind", "rate/s", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    rows = []
    for name, k in result["kinds"].items():
        label = {"search": "GET /api/search", "ask": "POST /api/ask", "upload": "POST /api/uploads"}.get(name)
        if name == "chat":
            f = k["first_token"]
            rows.append(["chat: first token", k["rate_per_s"], k["requests"], k["errors"]] + [f[x] for x in PCOLS])
            label = "chat: whole answer"
        rows.append([label, k["rate_per_s"], k["requests"], k["errors"]] + [k[x] for x in PCOLS])
    cells = [heads] + [[show(round(c, 3) if isinstance(c, float) else c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(heads))]
    for j, row in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    for name, k in result["kinds"].items():
        if k["error_kinds"]:
            print(f"{name} errors: {k['error_kinds']}")
        if k["warmup_errors"]:
            print(f"{name} errors in the warm-up (not counted): {k['warmup_errors']}")
        if k.get("notes"):
            print(f"{name} (warm-up included): {k['notes']}")
    away = {n: k["away_from_uploads"] for n, k in result["kinds"].items() if "away_from_uploads" in k}
    if away:
        parts = [f"{n} {a['requests']} requests, p50/p99 {a['p50_ms']}/{a['p99_ms']} ms" for n, a in away.items()]
        if "first_token" in away.get("chat", {}):
            f = away["chat"]["first_token"]
            parts.append(f"chat first token p50/p99 {f['p50_ms']}/{f['p99_ms']} ms")
        print(f"due while no upload was in flight (nor in the {AFTER_UPLOAD_S:g} s after one): " + "; ".join(parts))
    r = result["rss"]
    print(
        f"server RSS: {r['start_mb']} MB at start, {r['end_of_warmup_mb']} MB at the end of the warm-up, "
        f"{r['end_mb']} MB at the end (growth {r['growth_pct']} %), max {r['max_mb']} MB, "
        f"slope {r['slope_mb_per_min']} MB/min over the counted samples"
    )
    print(
        f"CPU over {result['wall_s']} s: server {result['server_cpu_s']} s, generator {result['generator_cpu_s']} s, "
        f"the rest of the machine {result['others_cpu_s']} s, steal {result['steal_cpu_s']} s; "
        f"load 1m mean {r['load_1m_mean']}, max {r['load_1m_max']}"
    )
    lib = result["library_before"], result["library_after"]
    print("library: " + ", ".join(f"{t} {lib[0][t]:,} -> {lib[1][t]:,}" for t in lib[0]))
    print(f"code: {result['code']}; machine: {result['machine']}")
    print("targets: " + ", ".join(f"{k} {v}" for k, v in result["targets"].items()))


PCOLS = ("p50_ms", "p95_ms", "p99_ms", "max_ms")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, help="copied first (default: build the lex sample library)")
    ap.add_argument("--seconds", type=float, default=600.0, help="counted, after the warm-up")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds of the same load, not counted")
    ap.add_argument("--search-rps", type=float, default=20.0)
    ap.add_argument("--ask-rps", type=float, default=5.0)
    ap.add_argument("--chat-rps", type=float, default=1.0, help="streamed /v1/chat/completions per second")
    ap.add_argument("--upload-every", type=float, default=10.0, help="seconds between uploads (0: none)")
    ap.add_argument("--upload-chars", type=int, default=2000, help="about how much transcript each upload holds")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--max-in-flight", type=int, default=32, help="outstanding requests per kind")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds: an answer later than this is an error")
    ap.add_argument("--give-up", type=float, default=60.0, help="seconds: stop waiting for an answer")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.library is not None and not args.library.exists():
        sys.exit(f"no library at {args.library}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped below
    code = code_state()
    n_uploads = round((args.warmup + args.seconds) / args.upload_every) if args.upload_every > 0 else 0
    pieces = upload_pieces(max(1, n_uploads), args.upload_chars)
    with tempfile.TemporaryDirectory(prefix="bench_soak_") as folder:
        db, took = prepare(args.library, Path(folder))
        print(f"library ready in {took:.1f} s: {db}", flush=True)
        key = cli(db, "keys", "create", "soak").strip().splitlines()[-1]
        before = library_counts(db)
        server = Server(db, timed=False)
        try:
            ready = server.wait_ready()
            print(f"server pid {server.proc.pid} ready in {ready:.1f} s: {' '.join(server.cmd)}", flush=True)
            result = asyncio.run(run(args, server, key, pieces))
            peak = proc_status(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        result["library_before"], result["library_after"] = before, library_counts(db)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "library": str(args.library) if args.library else f"built from {corpus_dir() / 'lex'}",
        "code": code,
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "timeout_s": args.timeout,
        "max_in_flight": args.max_in_flight,
        "server_ready_s": round(ready, 1),
        "server_peak_rss_mb": round(peak / 2**20, 1),
        **result,
    }
    result["targets"] = verdicts(result)
    print()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if any(k["errors"] for k in result["kinds"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Server benchmark: one `podtwin serve` process on loopback under a bounded, open-loop load.

    python bench/bench_server.py --library corpus.db [--seconds 60] [--search-rps 100] [--ask-rps 30]
                                 [--json PATH] [--server-timing] [--phases search,ask,chat]

Targets (the issue): on the full-corpus library, one server process on this machine,
`/api/search` at least 100 requests/s and `/api/ask` at least 30 requests/s sustained for
60 s with zero errors and p99 under 500 ms; time to first streamed token of a chat answer
under 300 ms. The baseline is the targets themselves: there is no other server to compare.

The script starts one server, `python -m podtwin.cli --db LIBRARY serve --port P
--rate-limit 0` (no per-client limit: all the load comes from one address), on a free
port, waits until `GET /api/people` answers, and stops it at the end. Every ask is written
to the library's `questions` table, so point it at a copy of the library.

1. Warm-up, not counted: for --warmup seconds, one request at a time, searches and asks in
   turn, ending on a search (the model, the search index, the per-person caches).
2. `GET /api/search?q=...` at --search-rps for --seconds: the eval/search questions, in order.
3. `POST /api/ask` at --ask-rps for --seconds: the eval/twin cases of kind answer, outside,
   false_premise and other_speaker, {"person": persona, "question": question}, in order.
4. Time to first token: --chats sequential `POST /v1/chat/completions` with `stream: true`
   (the person's slug as model, from `GET /v1/models`), timed until the first server-sent
   chunk whose delta has non-empty content (not the role-only opening chunk).

The load is open-loop: request i is due at start + i / rate whatever happened to the ones
before it, and its latency runs from that due time, so a stalled server shows up as latency
(no coordinated omission). At most --max-in-flight requests are outstanding, and a slot is
freed only when its answer has arrived (not when the client gives up: the server would go on
working on it), so the server's backlog is bounded too: a request due while the cap is
reached is not sent and counts as an error ("shed"), as do an answer other than 200, a
transport error and an answer later than --timeout ("late"). Latency percentiles are over
the requests answered 200, late ones included. Achieved rate: answered 200 (late or not) /
max(--seconds, time from the first due time to the last answer); after a phase the script
waits for every outstanding answer, then for the server to go idle, before the next.
The timed phases send through aiohttp (the `bench` extra), whose client costs a quarter of
httpx's CPU per request: the generator shares the machine's cores with the server.
Reported alongside: the generator's own CPU seconds
(time.process_time), the server's CPU seconds (/proc/PID/stat), the load average, and the
server's peak RSS (VmHWM).

--server-timing (a diagnostic, not the measurement): the server is started from a small
wrapper instead, the same app and settings as `podtwin serve` plus an ASGI middleware that
times each request inside the server (from the app receiving it to the last byte handed to
uvicorn), the wait for the service's library (its lock, where there is one) and the time
holding it, and rebuilds of the search index and of the people summary; the table then
gets server-side figures per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
SEARCH_FILES = sorted((ROOT / "eval" / "search").glob("*.jsonl"))
TWIN_FILES = sorted((ROOT / "eval" / "twin").glob("*.jsonl"))
ASK_KINDS = {"answer", "outside", "false_premise", "other_speaker"}
SEARCH_RPS_TARGET, ASK_RPS_TARGET, P99_TARGET_MS, TTFT_TARGET_MS = 100.0, 30.0, 500.0, 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The --server-timing wrapper: `podtwin serve` (Service, warm, create_app, uvicorn.run) with
# a timing middleware and GET /_bench/timings, which returns the records so far and clears them.
TIMED_SERVER = r"""
import contextvars, sys, threading, time
from contextlib import contextmanager

import uvicorn

import podtwin.search.query as query
import podtwin.store.people as people
from podtwin.server import create_app
from podtwin.api.service import Limits, Service

db, port = sys.argv[1], int(sys.argv[2])
current = contextvars.ContextVar("bench_record", default=None)
records, depth = [], threading.local()


def add(key, seconds):
    r = current.get()
    if r is not None:
        r[key] = r.get(key, 0.0) + seconds * 1000
        r[key + "_n"] = r.get(key + "_n", 0) + 1


class TimedService(Service):
    @contextmanager
    def library(self):  # waiting: for the lock, or to open this thread's connection
        outer = getattr(depth, "n", 0) == 0
        t0 = time.perf_counter()
        with super().library() as library:
            t1 = time.perf_counter()
            depth.n = getattr(depth, "n", 0) + 1
            try:
                yield library
            finally:
                depth.n -= 1
                if outer:
                    add("lock_wait_ms", t1 - t0)
                    add("lock_held_ms", time.perf_counter() - t1)


class TimedIndex(query.SearchIndex):
    def __init__(self, db):
        t0 = time.perf_counter()
        super().__init__(db)
        add("index_build_ms", time.perf_counter() - t0)


summary = people.people_summary


def timed_summary(db):
    t0 = time.perf_counter()
    try:
        return summary(db)
    finally:
        add("people_summary_ms", time.perf_counter() - t0)


query.SearchIndex = TimedIndex
people.people_summary = timed_summary


class Timing:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/_bench/timings":
            import json

            body = json.dumps(records).encode()
            records.clear()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            return await send({"type": "http.response.body", "body": body})
        record = {"path": scope["path"]}
        current.set(record)
        t0 = time.perf_counter()

        async def timed_send(message):
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                record["total_ms"] = (time.perf_counter() - t0) * 1000

        try:
            await self.app(scope, receive, timed_send)
        finally:
            records.append(record)


service = TimedService(db, limits=Limits(requests_per_minute=0))
service.warm()
app = Timing(create_app(service, private=False, llm=None))
print(f"podtwin (timed) serving {service.path} at http://127.0.0.1:{port}", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


# -- the work ----------------------------------------------------------------------------------


def read_jsonl(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]


def search_queries() -> list[str]:
    return [r.get("question") or r["query"] for r in read_jsonl(SEARCH_FILES)]


def ask_cases() -> list[tuple[str, str]]:
    return [(r["persona"], r["question"]) for r in read_jsonl(TWIN_FILES) if r.get("kind") in ASK_KINDS]


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, field: str) -> int:
    """A size from /proc/PID/status (VmHWM, VmRSS) in bytes; 0 if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def die_with_parent() -> None:
    """In the server: get SIGTERM when the script dies, however it dies (Linux prctl)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    signal.pthread_sigmask(signal.SIG_SETMASK, set())  # whatever the script's mask, the server's is clear


class Server:
    def __init__(self, library: Path, timed: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench_server_", suffix=".log", delete=False)
        if timed:
            cmd = [sys.executable, "-c", TIMED_SERVER, str(library), str(self.port)]
        else:
            cmd = [sys.executable, "-m", "podtwin.cli", "--db", str(library), "serve"]
            cmd += ["--port", str(self.port), "--rate-limit", "0"]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]

    def wait_ready(self, timeout: float = 180.0) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/api/people", timeout=5, trust_env=False).status_code == 200:
                    if self.proc.poll() is None:  # it is ours that answered, not another on the port
                        return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise SystemExit(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    async def settle(self, idle: float = 0.05, most: float = 60.0) -> float:
        """Wait until the server is idle (under idle CPU seconds per second over half a second),
        so work left from one phase (answers to requests given up on) does not land on the next."""
        start = time.perf_counter()
        while time.perf_counter() - start < most:
            cpu0 = self.cpu()
            await asyncio.sleep(0.5)
            if self.cpu() - cpu0 < idle * 0.5:
                break
        return time.perf_counter() - start

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


# -- the load ----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else max(values)


def summary_ms(values: list[float]) -> dict:
    return {
        "p50_ms": _r(pct(values, 50)),
        "p99_ms": _r(pct(values, 99)),
        "max_ms": _r(max(values) if values else None),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


async def open_loop(session: aiohttp.ClientSession, make, rps: float, seconds: float, args) -> dict:
    """Send make(i) at rps for seconds, open loop, at most args.max_in_flight outstanding."""
    loop = asyncio.get_running_loop()
    n = max(1, round(rps * seconds))
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    tasks: set[asyncio.Task] = set()
    in_flight = 0
    last_done = 0.0

    async def one(i: int, due: float) -> None:
        nonlocal in_flight, last_done
        method, url, kwargs = make(i)
        status = None
        try:
            async with asyncio.timeout(args.give_up):
                async with session.request(method, url, **kwargs) as response:
                    await response.read()
                    status = response.status
            outcome = "ok" if status == 200 else f"http {status}"
        except TimeoutError:
            outcome = f"no answer in {args.give_up:g} s"
        except aiohttp.ClientError as e:
            outcome = type(e).__name__
        finally:
            in_flight -= 1
        now = loop.time()
        last_done = max(last_done, now)
        if status == 200:
            latencies.append((now - due) * 1000)
            if now - due > args.timeout:  # answered, but too late: an error
                outcome = f"late (> {args.timeout:g} s)"
        outcomes[outcome] += 1

    cpu0, load0 = time.process_time(), os.getloadavg()[0]
    start = loop.time() + 0.02
    for i in range(n):
        due = start + i / rps
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= args.max_in_flight:
            outcomes["shed"] += 1
            continue
        in_flight += 1
        task = asyncio.create_task(one(i, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*tasks)
    wall = max(seconds, last_done - start)
    ok = outcomes.pop("ok", 0)
    return {
        "target_rps": rps,
        "achieved_rps": round(len(latencies) / wall, 1),
        "requests": n,
        "answered_200": len(latencies),
        "ok": ok,
        "errors": sum(outcomes.values()),
        "error_kinds": dict(outcomes),
        **summary_ms(latencies),
        "wall_s": round(wall, 2),
        "generator_cpu_s": round(time.process_time() - cpu0, 2),
        "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


async def first_tokens(client: httpx.AsyncClient, chats: list[tuple[str, str]], args) -> dict:
    """Sequential streamed chats: time to the first chunk with content, and to the end."""
    loop = asyncio.get_running_loop()
    firsts: list[float] = []
    totals: list[float] = []
    outcomes: Counter[str] = Counter()
    cpu0, load0 = time.process_time(), os.getloadavg()[0]
    start = loop.time()
    for model, question in chats:
        body = {"model": model, "messages": [{"role": "user", "content": question}], "stream": True}
        t0 = loop.time()
        first = None
        outcome = "no content"
        try:
            async with asyncio.timeout(args.give_up):
                async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                    if r.status_code != 200:
                        outcome = f"http {r.status_code}"
                        await r.aread()
                    else:
                        async for line in r.aiter_lines():
                            if not line.startswith("data: ") or line == "data: [DONE]":
                                continue
                            event = json.loads(line[6:])
                            if "error" in event:
                                outcome = "error event"
                                break
                            delta = (event.get("choices") or [{}])[0].get("delta") or {}
                            if first is None and delta.get("content"):
                                first = (loop.time() - t0) * 1000
                                outcome = "ok"
        except TimeoutError:
            outcome = f"no answer in {args.give_up:g} s"
        except httpx.HTTPError as e:
            outcome = type(e).__name__
        if first is not None:
            firsts.append(first)
            totals.append((loop.time() - t0) * 1000)
            if outcome == "ok" and totals[-1] > args.timeout * 1000:
                outcome = f"late (> {args.timeout:g} s)"
        outcomes[outcome] += 1
    wall = loop.time() - start
    ok = outcomes.pop("ok", 0)
    return {
        "target_rps": None,
        "achieved_rps": round(len(totals) / wall, 1),
        "requests": len(chats),
        "answered_200": len(totals),
        "ok": ok,
        "errors": sum(outcomes.values()),
        "error_kinds": dict(outcomes),
        **summary_ms(firsts),
        "full_answer": summary_ms(totals),
        "wall_s": round(wall, 2),
        "generator_cpu_s": round(time.process_time() - cpu0, 2),
        "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def server_side(records: list[dict], wall: float) -> dict:
    """Server-side figures of one phase from the timing wrapper's records."""
    out: dict = {"requests": len(records)}
    for key in ("total_ms", "lock_wait_ms", "lock_held_ms"):
        out[key.removesuffix("_ms")] = summary_ms([r.get(key, 0.0) for r in records if "total_ms" in r])
    held = sum(r.get("lock_held_ms", 0.0) for r in records) / 1000
    out["lock_held_total_s"] = round(held, 2)
    out["lock_busy_share"] = round(held / wall, 2)  # of the phase's wall time
    for key in ("index_build_ms", "people_summary_ms"):
        times = [r[key] for r in records if key in r]
        out[key.removesuffix("_ms")] = {
            "count": len(times),
            "total_s": round(sum(times) / 1000, 2),
            **summary_ms(times),
        }
    return out


async def run(args, server: Server) -> dict:
    queries = search_queries()
    cases = ask_cases()
    limits = httpx.Limits(max_connections=args.max_in_flight, max_keepalive_connections=args.max_in_flight)
    timeout = httpx.Timeout(args.give_up)
    # the timed phases go through aiohttp: 0.7 ms of the generator's CPU per search against
    # httpx's 2.6 ms (measured on this machine), and the generator shares its cores with the server
    connector = aiohttp.TCPConnector(limit=args.max_in_flight)
    async with (
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout, trust_env=False) as client,
        aiohttp.ClientSession(server.url, connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session,
    ):
        r = await client.get("/v1/models")
        r.raise_for_status()
        slugs = {m["name"]: m["id"] for m in r.json()["data"]}
        missing = sorted({p for p, _ in cases} - set(slugs))
        if missing:
            names = ", ".join(missing[:5])
            print(f"note: {len(missing)} personas are no /v1/models name, so chats name them as written: {names}")

        def search(i: int):
            return "GET", "/api/search?q=" + quote(queries[i % len(queries)]), {}

        def ask(i: int):
            person, question = cases[i % len(cases)]
            return "POST", "/api/ask", {"json": {"person": person, "question": question}}

        async def timings() -> list[dict]:
            if not args.server_timing:
                return []
            return (await client.get("/_bench/timings")).json()

        phases: dict[str, dict] = {}
        warm: Counter[tuple] = Counter()
        start = time.perf_counter()
        for i in itertools.count():
            last = time.perf_counter() - start >= args.warmup
            for make in (search,) if last else (search, ask):
                method, url, kwargs = make(i)
                warm[(make.__name__, (await client.request(method, url, **kwargs)).status_code)] += 1
            if last:
                break
        await timings()
        took = time.perf_counter() - start
        print(f"warm-up ({took:.1f} s, not counted): {dict(warm)} (kind, status): count", flush=True)
        plan = [
            ("search", lambda: open_loop(session, search, args.search_rps, args.seconds, args)),
            ("ask", lambda: open_loop(session, ask, args.ask_rps, args.seconds, args)),
        ]
        spread = [cases[i * len(cases) // args.chats] for i in range(args.chats)]
        chats = [(slugs.get(p, p), q) for p, q in spread]
        plan.append(("chat ttft", lambda: first_tokens(client, chats, args)))
        wanted = {p.strip() for p in args.phases.split(",")}
        for name, phase in plan:
            if name.split()[0] not in wanted:
                continue
            settled = await server.settle()
            cpu0 = server.cpu()
            result = await phase()
            result["server_cpu_s"] = round(server.cpu() - cpu0, 2)
            result["settle_before_s"] = round(settled, 1)
            if args.server_timing:
                result["server_side"] = server_side(await timings(), result["wall_s"])
            phases[name] = result
            print(f"{name}: done ({result['answered_200']} answered 200, {result['errors']} errors)", flush=True)
    return phases


# -- the report --------------------------------------------------------------------------------


def show(x) -> str:
    return "-" if x is None else f"{x:g}" if isinstance(x, float) else str(x)


def trio(s: dict) -> str:
    return "/".join(show(s[k]) for k in ("p50_ms", "p99_ms", "max_ms"))


def print_table(result: dict) -> None:
    heads = ["phase", "target rps", "achieved rps", "requests", "errors", "p50 ms", "p99 ms", "max ms"]
    heads += ["gen CPU s", "server CPU s", "load 1m"]
    rows = []
    for name, p in result["phases"].items():
        load = "{}->{}".format(*p["load_avg_1m"])
        rows.append(
            [name, p["target_rps"], p["achieved_rps"], p["requests"], p["errors"], p["p50_ms"], p["p99_ms"]]
            + [p["max_ms"], p["generator_cpu_s"], p["server_cpu_s"], load]
        )
    cells = [heads] + [[show(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(heads))]
    for j, row in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    for name, p in result["phases"].items():
        if p["error_kinds"]:
            print(f"{name} errors: {p['error_kinds']}")
    chat = result["phases"].get("chat ttft")
    if chat:
        f = chat["full_answer"]
        print(f"chat ttft: p50/p99/max is the time to the first content chunk; to the full answer {trio(f)} ms")
    for name, p in result["phases"].items():
        s = p.get("server_side")
        if s:
            t, w, h = s["total"], s["lock_wait"], s["lock_held"]
            ib, ps = s["index_build"], s["people_summary"]
            print(
                f"{name} server-side ({s['requests']} requests) p50/p99/max ms: in the server {trio(t)}, "
                f"waiting for the library {trio(w)}, holding it {trio(h)} (held {s['lock_busy_share']:.0%} of the "
                f"phase, summed over requests); search index rebuilt "
                f"{ib['count']}x ({ib['total_s']} s, p50 {ib['p50_ms']} ms), people summary rebuilt "
                f"{ps['count']}x ({ps['total_s']} s, p50 {ps['p50_ms']} ms)"
            )
    print(f"code: {result['code']}; server: {result['server']}")
    print(f"server peak RSS (VmHWM): {result['server_peak_rss_mb']} MB; ready in {result['server_ready_s']} s")
    targets = ", ".join(f"{k} {v}" for k, v in result["targets"].items())
    print(f"targets: {targets}")


def verdicts(phases: dict) -> dict:
    out = {}
    for name, rps in (("search", SEARCH_RPS_TARGET), ("ask", ASK_RPS_TARGET)):
        if name not in phases:
            continue
        p = phases[name]
        ok = p["achieved_rps"] >= rps * 0.99 and not p["errors"] and (p["p99_ms"] or 1e9) < P99_TARGET_MS
        out[name] = "met" if ok and p["target_rps"] >= rps else "MISSED"
    chat = phases.get("chat ttft")
    if chat is None:
        return out
    out["chat ttft"] = "met" if not chat["errors"] and (chat["p99_ms"] or 1e9) < TTFT_TARGET_MS else "MISSED"
    return out


def code_state() -> str:
    """The commit, and a digest of uncommitted changes under src/ if any (the server runs the tree)."""
    try:
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        diff = subprocess.run(git + ["diff", "HEAD", "--", "src"], capture_output=True).stdout
    except OSError:
        return "unknown"
    return head + (f" + uncommitted src changes {hashlib.sha256(diff).hexdigest()[:12]}" if diff else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, default=ROOT / "corpus.db", help="a copy: the server writes to it")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--search-rps", type=float, default=SEARCH_RPS_TARGET)
    ap.add_argument("--ask-rps", type=float, default=ASK_RPS_TARGET)
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds, not counted")
    ap.add_argument("--chats", type=int, default=30, help="sequential streamed chats for time to first token")
    ap.add_argument("--max-in-flight", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds: an answer later than this is an error")
    ap.add_argument("--give-up", type=float, default=900.0, help="seconds: stop waiting for an answer")
    ap.add_argument("--server-timing", action="store_true", help="diagnostic: the timed wrapper, not `podtwin serve`")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--phases", default="search,ask,chat", help="diagnostic: which of search, ask, chat to run (comma-separated)"
    )
    args = ap.parse_args(argv)
    if not args.library.exists():
        sys.exit(f"no library at {args.library}: build one with `make corpus.db`, and point this at a copy")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped below
    code = code_state()
    server = Server(args.library.resolve(), args.server_timing)
    try:
        ready = server.wait_ready()
        what = "the timed wrapper" if args.server_timing else " ".join(server.cmd)
        print(f"server pid {server.proc.pid} ready in {ready:.1f} s: {what}", flush=True)
        phases = asyncio.run(run(args, server))
        peak = proc_status(server.proc.pid, "VmHWM")
    finally:
        server.stop()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "library": str(args.library),
        "code": code,
        "server": "timed wrapper (diagnostic)" if args.server_timing else "podtwin serve",
        "seconds": args.seconds,
        "max_in_flight": args.max_in_flight,
        "timeout_s": args.timeout,
        "give_up_s": args.give_up,
        "server_ready_s": round(ready, 1),
        "server_peak_rss_mb": round(peak / 2**20),
        "phases": phases,
    }
    result["targets"] = verdicts(phases)
    print()
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""schemathesis fuzzes every operation of the OpenAPI spec, valid and invalid inputs alike:
no input may cause a server error. The routes the spec leaves out (the web app's pages and
forms, /docs, /openapi.json) are fuzzed the same way from a spec of every route, the mounted
folders with random names, and every route must have been reached. Each size limit (every
maxLength and maxItems of a parameter or a body field, the request body's bytes, an upload's
bytes) is tried exactly at the limit and one over it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from starlette.routing import Mount
from starlette.testclient import TestClient

from podtwin.api.service import Limits, Service
from podtwin.server import create_app

# (method, route path) -> the status codes the fuzzing tests saw there; which of them ran
REACHED: dict[tuple[str, str], set[int]] = {}
RAN: set[str] = set()


@pytest.fixture(scope="module")
def schema(lex_copy):
    db, key = lex_copy("fuzz")
    # no rate limits: these tests send each operation many times, and measure other limits
    service = Service(db, limits=Limits(requests_per_minute=0, flags_per_minute=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service))
    schema.key = key  # writes are fuzzed too, past the key check
    yield schema
    service.close()


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def test_spec_lists_the_api(schema):
    paths = {(op.method.upper(), op.path) for op in operations(schema)}
    for expected in [
        ("GET", "/api/search"),
        ("POST", "/api/ask"),
        ("POST", "/v1/chat/completions"),
        ("PATCH", "/api/people/{person}/persona"),
        ("POST", "/api/uploads"),
        ("GET", "/v1/models"),
    ]:
        assert expected in paths


def real_values(schema) -> dict[str, list]:
    """People's slugs and episode ids the app's library holds, by the names fields give them."""
    service = schema.app.state.service
    people = [p["slug"] for p in service.people()]
    return {"person": people, "model": people, "episode_id": [e["id"] for e in service.episodes()]}


def fuzz(
    schema, mode: GenerationMode, key: str, examples: int, only: set | None = None
) -> dict[tuple[str, str], set[int]]:
    """Cases of every operation of schema (or those of only, as (method, path)), no server error
    allowed: (method, path) -> statuses. In half of them a person, model or episode id is one the
    library holds (as a path parameter or body field), else random values only ever reach "not found"."""
    ops = [op for op in operations(schema) if only is None or (op.method.upper(), op.path) in only]
    strategies = [op.as_strategy(generation_mode=mode) for op in ops]
    real = real_values(schema)
    seen: dict[tuple[str, str], set[int]] = {}

    def run(strategy, n: int) -> None:
        @given(case=strategy, held=st.booleans(), pick=st.integers(0, 99))
        @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case, held, pick):
            for name, values in real.items() if held else ():
                for part in (case.path_parameters, case.body):
                    if isinstance(part, dict) and name in part:
                        part[name] = values[pick % len(values)]
            response = case.call(headers={"X-API-Key": key})
            seen.setdefault((case.method.upper(), case.path), set()).add(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.300}: "
                f"{response.status_code} {response.text[:300]}"
            )

        check()

    run(st.one_of(strategies), examples)
    if mode is GenerationMode.POSITIVE:
        # the draws above may pass an operation by (each new one leaves fewer cases to the
        # others): one they missed gets a few cases of its own, so every operation is tried
        for op, strategy in zip(ops, strategies):
            if (op.method.upper(), op.path) not in seen:
                run(strategy, 10)
    for where, codes in seen.items():
        REACHED.setdefault(where, set()).update(codes)
    return seen


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(schema, mode):
    seen = fuzz(schema, mode, schema.key, 150)
    assert len(seen) >= (10 if mode is GenerationMode.POSITIVE else 5)  # most operations were reached
    codes = set().union(*seen.values())
    assert any(c < 300 for c in codes) if mode is GenerationMode.POSITIVE else any(400 <= c < 500 for c in codes)
    RAN.add(f"api {mode.value}")


# -- the routes the spec leaves out ---------------------------------------------------------------


def spec_of_every_route(app) -> dict:
    """The app's OpenAPI spec as if no route were left out: the web app's pages and forms, /docs
    and /openapi.json too, described by the parameters and form fields FastAPI reads for them."""
    routes = []
    for route in app.routes:
        if isinstance(route, APIRoute) and not route.include_in_schema:
            route = copy.copy(route)
            route.include_in_schema = True
        routes.append(route)
    return get_openapi(title=app.title, version=app.version, routes=routes)


def left_out_of_the_spec(app) -> dict:
    """A spec of only the operations the app's own spec leaves out."""
    full, public = spec_of_every_route(app), app.openapi()
    paths = {}
    for path, ops in full["paths"].items():
        hidden = {m: op for m, op in ops.items() if m not in public["paths"].get(path, {})}
        if hidden:
            paths[path] = hidden
    return {**full, "paths": paths}


@pytest.fixture(scope="module")
def served(lex_copy):
    """(app, a client sending the API key, the key) over a copy of its own: the tests write."""
    db, key = lex_copy("limits")
    # no rate limits: a limit here is of sizes (flags' own limit is tested in test_webhooks)
    service = Service(db, limits=Limits(requests_per_minute=0, flags_per_minute=0))
    app = create_app(service)
    with TestClient(app, headers={"X-API-Key": key}, follow_redirects=False, raise_server_exceptions=False) as client:
        yield app, client, key
    service.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_off_the_spec(served, mode):
    """The web app's pages and forms, /docs and /openapi.json: random path parameters, query
    strings and form bodies, valid and invalid, with the key (past the sign-in)."""
    app, _, key = served
    schema = schemathesis.openapi.from_dict(left_out_of_the_spec(app))
    schema.app = app
    assert len(operations(schema)) >= 10  # the pages and forms are there
    seen = fuzz(schema, mode, key, 120)
    assert len(seen) >= (10 if mode is GenerationMode.POSITIVE else 5)
    RAN.add(f"off the spec {mode.value}")


def test_no_server_errors_in_mounted_folders(served):
    """Every mounted folder (the web app's static files, the API docs' assets): random names."""
    app, client, _ = served
    mounts = [r for r in app.routes if isinstance(r, Mount)]
    assert mounts
    odd = st.sampled_from(["", ".", "..", "../app.py", "%2e%2e/app.py", "a" * 300])

    @given(mount=st.sampled_from(mounts), name=st.text(max_size=40) | odd)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(mount, name):
        response = client.get(f"{mount.path}/{quote(name, safe='/%')}")
        REACHED.setdefault(("GET", f"{mount.path}/{{path}}"), set()).add(response.status_code)
        assert response.status_code < 500, f"GET {mount.path}/{name!r}: {response.status_code}"

    check()
    for mount in mounts:  # and a file that is there is served
        name = next(p.name for p in sorted(Path(mount.app.directory).iterdir()) if p.is_file())
        assert client.get(f"{mount.path}/{name}").status_code == 200
    RAN.add("mounts")


def test_every_route_was_fuzzed(schema, served):
    """Every route of the app: reached by schemathesis, from the app's spec or the spec of every
    route, or by the mounted folders' test. The fuzzing tests above that did not run in this
    session (a run of this test alone) are run here first, so it never depends on their order."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if f"api {mode.value}" not in RAN:
            test_no_server_errors(schema, mode)
        if f"off the spec {mode.value}" not in RAN:
            test_no_server_errors_off_the_spec(served, mode)
    if "mounts" not in RAN:
        test_no_server_errors_in_mounted_folders(served)
    app = served[0]
    routes = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            routes |= {(m, route.path) for m in route.methods - {"HEAD"}}
        elif isinstance(route, Mount):
            routes.add(("GET", f"{route.path}/{{path}}"))
        else:
            routes.add((type(route).__name__, getattr(route, "path", repr(route))))  # fuzzed by nothing here
    # the fuzzing tests sample the operations, and a route added elsewhere shifts the sample: an
    # operation they left out is fuzzed on its own (valid input), so every one is reached
    pages = schemathesis.openapi.from_dict(left_out_of_the_spec(app))
    pages.app = app
    for left_out in sorted(routes - set(REACHED)):
        for spec, key in ((schema, schema.key), (pages, served[2])):
            if any((op.method.upper(), op.path) == left_out for op in operations(spec)):
                fuzz(spec, GenerationMode.POSITIVE, key, 10, {left_out})
    assert not sorted(routes - set(REACHED)), "routes no fuzzing test reached"


# -- each size limit: at it, and one over it ------------------------------------------------------

# Fields that name something (a person, a model, an episode, a key): at their limit, a value
# that names nothing may be refused as not found (a clean 4xx). Free text at its limit must be
# answered as the same request with a short value is.
NAMES = {"person", "model", "speaker", "episode", "episodes", "episode_id", "key", "other", "style", "type", "next"}
LINE = "Why did that matter so much to you back then, and does it still?\n"  # good text, a line at a time


def text(n: int) -> str:
    """n characters of plain words (the content itself is good: lines of a question each)."""
    return (LINE * (n // len(LINE) + 1))[:n]


def good_values(client) -> dict:
    """Values, by field or parameter name, that make a request one the app answers: each limit
    is tried on a request that is good but for the size."""
    people = [p["slug"] for p in client.get("/api/people").json()]
    return {
        "person": people[0],
        "writes to": people[-1],  # persona edits go to another twin than the one asked
        "model": people[0],
        "question": "Why?",  # a follow-up: the history is read
        "history": ["What are you working on now?"],
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What are you working on now?"},
        ],
        "type": "text",
        "q": "artificial intelligence",
        "kind": ["conversation"],
        "episode_id": client.get("/api/episodes").json()[0]["id"],
        "turn": 0,
        "key": "not-a-key",
    }


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def variants(spec: dict, node: dict) -> list[dict]:
    """A schema's alternatives but null (a maxLength written on a union holds for its strings)."""
    node = resolve(spec, node)
    if "anyOf" not in node and "oneOf" not in node:
        return [] if node.get("type") == "null" else [node]
    out = []
    for alternative in node.get("anyOf") or node["oneOf"]:
        for v in variants(spec, alternative):
            if v.get("type") == "string" and "maxLength" in node:
                v = {**v, "maxLength": min(v.get("maxLength", node["maxLength"]), node["maxLength"])}
            out.append(v)
    return out


TYPES = {"array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict}


def example(spec: dict, node: dict, name: str | None, good: dict):
    """A good value for a field: the one for its name, else the least its schema allows."""
    options = variants(spec, node)
    if not options:
        return None
    v, t = options[0], options[0].get("type")
    if name in good and isinstance(good[name], TYPES.get(t, ())):
        return copy.deepcopy(good[name])
    if v.get("default") is not None:
        return v["default"]
    if "enum" in v:
        return v["enum"][0]
    if t == "string":
        return "x" * max(1, v.get("minLength", 1))
    if t in ("integer", "number"):
        return v.get("minimum", 0)
    if t == "boolean":
        return False
    if t == "array":
        return [example(spec, v["items"], name, good) for _ in range(v.get("minItems", 0))]
    required = v.get("required", [])
    return {k: example(spec, p, k, good) for k, p in v.get("properties", {}).items() if k in required or k in good}


def limits_in(spec: dict, node: dict, name: str | None, steps: tuple = ()):
    """Every size limit under a schema: (steps to the value, field name, "chars" or "items", the
    limit, the schema carrying it); a step is (a key or index 0, the container's schema)."""
    for v in variants(spec, node):
        t = v.get("type")
        if t == "string" and "maxLength" in v and "pattern" not in v and "enum" not in v:
            yield steps, name, "chars", v["maxLength"], v
        elif t == "array":
            if "maxItems" in v:
                yield steps, name, "items", v["maxItems"], v
            yield from limits_in(spec, v["items"], name, (*steps, (0, v)))
        elif "properties" in v:
            for key, p in v["properties"].items():
                yield from limits_in(spec, p, key, (*steps, (key, v)))


def put(spec: dict, value, steps: tuple, make, good: dict):
    """value, with the part at steps replaced by make(that part)."""
    if not steps:
        return make(value)
    (key, container), rest = steps[0], steps[1:]
    if container.get("type") == "array":
        items = list(value) if isinstance(value, list) and value else [example(spec, container["items"], None, good)]
        items[0] = put(spec, items[0], rest, make, good)
        return items
    obj = dict(value) if isinstance(value, dict) else example(spec, container, None, good)
    obj[key] = put(spec, obj.get(key), rest, make, good)
    return obj


class Operation:
    """One operation of the spec of every route, as a good request whose parts can be resized."""

    def __init__(self, spec: dict, method: str, path: str, op: dict, good: dict) -> None:
        self.spec, self.method, self.path = spec, method.upper(), path
        self.good = dict(good)
        if self.method != "GET" and ("/persona" in path or path.startswith("/creator/people")):
            self.good["person"] = good["writes to"]
        self.params = {p["name"]: p for p in op.get("parameters", [])}
        self.values = {
            n: example(spec, p["schema"], n, self.good)
            for n, p in self.params.items()
            if p.get("required") or n in good
        }
        content = op.get("requestBody", {}).get("content", {})
        self.media = next(iter(content), None)
        self.body_schema = content[self.media]["schema"] if self.media else {}
        self.body = example(spec, self.body_schema, None, self.good) if self.media else None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def limits(self):
        """(where: a parameter's name or "body", steps, field name, kind, limit, schema)."""
        for name, p in self.params.items():
            for steps, _, kind, limit, node in limits_in(self.spec, p["schema"], name):
                yield name, steps, name, kind, limit, node
        if self.media in ("application/json", "application/x-www-form-urlencoded"):
            for steps, name, kind, limit, node in limits_in(self.spec, self.body_schema, None):
                yield "body", steps, name, kind, limit, node

    def resized(self, where: str, steps: tuple, name: str, kind: str, n: int, node: dict) -> tuple[dict, object]:
        """The parameters and body with that part exactly n characters or n items long."""

        def make(now):
            if kind == "chars":
                return text(n)
            items = now if isinstance(now, list) and now else [example(self.spec, node["items"], name, self.good)]
            return [copy.deepcopy(items[i % len(items)]) for i in range(n)]

        values, body = dict(self.values), copy.deepcopy(self.body)
        if where == "body":
            body = put(self.spec, body, steps, make, self.good)
        else:
            values[where] = put(self.spec, values.get(where), steps, make, self.good)
        return values, body

    def send(self, client, values: dict | None = None, body=None, *, raw: bytes | None = None, chunked=False):
        values = self.values if values is None else values
        path = {k: quote(str(v), safe="") for k, v in values.items() if self.params[k]["in"] == "path"}
        kwargs: dict = {"params": {k: v for k, v in values.items() if self.params[k]["in"] == "query"}}
        if raw is not None:  # chunked: no content-length, the body limit counts as it arrives
            kwargs["content"] = (raw[i : i + 2**16] for i in range(0, len(raw), 2**16)) if chunked else raw
            kwargs["headers"] = {"content-type": self.media}
        elif self.media == "application/json":
            kwargs["json"] = body
        elif self.media == "application/x-www-form-urlencoded":
            kwargs["data"] = body
        return client.request(self.method, self.path.format(**path), **kwargs)


def every_operation(served) -> list[Operation]:
    app, client, _ = served
    spec, good = spec_of_every_route(app), good_values(client)
    return [
        Operation(spec, method, path, op, good) for path, ops in spec["paths"].items() for method, op in ops.items()
    ]


def test_each_field_limit_at_and_over(served):
    """Every maxLength and maxItems of a parameter or body field, the API's and the web forms'
    (from the spec of every route, so a new field is covered): exactly at the limit the request
    is taken (never 413 or 422, never a server error; free text answered as the same request with
    a short value is), one over it refused (400, 413 or 422)."""
    client = served[1]
    tried, failures = [], []
    for op in every_operation(served):
        short = None
        for where, steps, name, kind, limit, node in op.limits():
            label = f"{op} {where if where == 'body' else 'parameter'} {name}: {kind} {limit:,}"
            tried.append(label)
            at = op.send(client, *op.resized(where, steps, name, kind, limit, node))
            over = op.send(client, *op.resized(where, steps, name, kind, limit + 1, node))
            if at.status_code >= 500 or at.status_code in (413, 422):
                failures.append(f"{label}: at the limit {at.status_code} {at.text[:200]}")
            elif name not in NAMES:
                short = short or op.send(client, body=op.body)
                if short.status_code < 300 and at.status_code >= 300:
                    failures.append(
                        f"{label}: at the limit {at.status_code} {at.text[:300]}, short {short.status_code}"
                    )
            if over.status_code not in (400, 413, 422):
                failures.append(f"{label}: over the limit {over.status_code} {over.text[:200]}")
    assert len(tried) >= 30, tried  # the API's models and parameters, the web forms: all have limits
    assert not failures, "\n".join(failures)


def unread_fields(n: int) -> bytes:
    """Exactly n bytes of form fields no route reads, each well under Starlette's own limit of
    a megabyte a field and a thousand fields."""
    fields = -(-n // 8000)
    letters = n - len(b"&unread=") * fields
    sizes = [letters // fields + (i < letters % fields) for i in range(fields)]
    return b"".join(b"&unread=" + b"x" * size for size in sizes)


def test_request_body_bytes_at_and_over(served):
    """Every operation with a JSON or form body: exactly Limits.request_bytes bytes (the good
    body padded with whitespace, or with form fields no route reads) is answered as the body
    without padding is; one byte more is refused with 413, with a length or sent in chunks."""
    client, limit = served[1], Limits().request_bytes
    failures, tried = [], []
    for op in every_operation(served):
        if op.media == "application/json":
            raw, pad = json.dumps(op.body).encode(), b" "
            padded = raw + pad * (limit - len(raw))
        elif op.media == "application/x-www-form-urlencoded":
            raw, pad = urlencode(op.body, doseq=True).encode(), b"x"
            padded = raw + unread_fields(limit - len(raw))
        else:
            continue
        tried.append(str(op))
        assert len(padded) == limit
        # the unpadded body sent twice, its second answer compared: a request that changes what
        # it acts on (an undo) is answered otherwise the second time, padded or not
        op.send(client, body=op.body)
        unpadded = op.send(client, body=op.body).status_code
        for chunked in (False, True):
            how = "in chunks" if chunked else "with a length"
            at = op.send(client, raw=padded, chunked=chunked).status_code
            over = op.send(client, raw=padded + pad, chunked=chunked).status_code
            if at != unpadded:
                failures.append(f"{op}: {limit:,} bytes {how} {at}, unpadded {unpadded}")
            if over != 413:
                failures.append(f"{op}: {limit + 1:,} bytes {how} {over}")
    assert len(tried) >= 6, tried
    assert not failures, "\n".join(failures)


def transcript(n: int, salt: str) -> bytes:
    """A good transcript of exactly n bytes: two speakers' turns, then blank lines."""
    head = f"Host: Welcome to the show ({salt}), it is good to have you here today.\n\n"
    head += "Guest: Thank you, it is a pleasure to be here and to talk about the work.\n"
    data = head.encode()
    return data + b"\n" * (n - len(data))


def test_upload_bytes_at_and_over(served):
    """Every upload (the API's and the creator page's): a transcript of exactly
    Limits.upload_bytes bytes is ingested; one byte more is refused (400 or 413)."""
    client, limit = served[1], Limits().upload_bytes
    uploads = [op for op in every_operation(served) if op.media == "multipart/form-data"]
    assert len(uploads) >= 2, [str(op) for op in uploads]
    for i, op in enumerate(uploads):
        field = next(iter(resolve(op.spec, op.body_schema)["properties"]))
        at = client.request(op.method, op.path, files={field: (f"limit-{i}.txt", transcript(limit, str(op)))})
        assert at.status_code == 200, f"{op} at {limit:,} bytes: {at.status_code} {at.text[:300]}"
        if op.path.startswith("/api/"):
            assert at.json()["failed"] == [] and at.json()["added"], at.json()
        over = client.request(op.method, op.path, files={field: (f"over-{i}.txt", transcript(limit + 1, str(op)))})
        assert over.status_code in (400, 413), f"{op} at {limit + 1:,} bytes: {over.status_code} {over.text[:300]}"


# -- values found to break a route before -----------------------------------------------------------

ODD_EPISODES = ["99999999999999999999", "-99999999999999999999", "9223372036854775808", "²", "٣", "1e3", "#²", "0"]


@pytest.mark.parametrize("episode", ODD_EPISODES)
def test_odd_episode_values(served, episode):
    """An episode given as a number no table holds, or as digits Python reads but SQLite does
    not (superscripts, other scripts): not found or refused, never a server error."""
    client = served[1]
    e = quote(episode, safe="")
    for url in [
        f"/api/search?q=ideas&episode={e}",
        f"/search?q=ideas&episode={e}",
        f"/episodes/{e}",
        f"/api/episodes/{e}",
        f"/api/episodes/{e}/speakers",
        f"/creator/episodes/{e}/speakers",
    ]:
        response = client.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code} {response.text[:200]}"
    response = client.patch(
        f"/api/people/{quote(good_values(client)['writes to'])}/persona", json={"episodes": episode}
    )
    assert response.status_code < 500, f"PATCH persona episodes={episode!r}: {response.status_code}"


@pytest.mark.parametrize("role", ["system", "assistant", "user"])
def test_chat_message_size_is_capped(served, role):
    """A chat message of any role has a cap well under the request body's: a message of
    megabytes (as a string or as many parts) is refused, not read."""
    client = served[1]
    model = good_values(client)["model"]
    size = Limits().request_bytes // 4
    for content in ["x" * size, [{"type": "text", "text": "x"}] * (size // 40)]:
        messages = [{"role": role, "content": content}, {"role": "user", "content": "Why?"}]
        response = client.post("/v1/chat/completions", json={"model": model, "messages": messages})
        what = f"{size:,} characters" if isinstance(content, str) else f"{len(content):,} parts"
        assert response.status_code in (400, 413, 422), f"a {role} message of {what}: {response.status_code}"

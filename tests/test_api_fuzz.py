"""schemathesis fuzzes every operation of the OpenAPI spec, valid and invalid inputs alike:
no input may cause a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from podtwin.api.app import create_app
from podtwin.api.service import Limits, Service


@pytest.fixture(scope="module")
def schema(lex_copy):
    db, key = lex_copy("fuzz")
    service = Service(db, limits=Limits(requests_per_minute=0))
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


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(schema, mode):
    strategies = [op.as_strategy(generation_mode=mode) for op in operations(schema)]
    seen: dict[tuple[str, str], set[int]] = {}

    @given(case=st.one_of(strategies))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case):
        response = case.call(headers={"X-API-Key": schema.key})
        seen.setdefault((case.method.upper(), case.path), set()).add(response.status_code)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
        )

    check()
    assert len(seen) >= (10 if mode is GenerationMode.POSITIVE else 5)  # most operations were reached
    codes = set().union(*seen.values())
    assert any(c < 300 for c in codes) if mode is GenerationMode.POSITIVE else any(400 <= c < 500 for c in codes)

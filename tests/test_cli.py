"""The command line on a small library the tests build: episodes, show, export, errors."""

import json

import pytest
from typer.testing import CliRunner

from podtwin.cli.app import app

TRANSCRIPT = """---
guest: Grace Hopper
title: Ships and nanoseconds
publish_date: 2024-01-02
channel: Harbour Podcast
---
# Ships and nanoseconds

## Transcript

Grace Hopper (00:00:05):
A ship in port is safe. But that's not what ships are built for.

Pat Host (00:00:12):
Welcome to the Harbour Podcast. Today my guest is Grace Hopper. Enjoy this episode with Grace Hopper.

(00:00:30):
This episode is brought to you by Acme, the rocket platform product teams use to ship faster. \
Acme helps you launch experiments, track every metric and roll back in one click. \
Thousands of startups rely on Acme every day. Get started for free and get thirty percent off your first year. \
Visit acme.com/harbour to get started. That's acme.com/harbour.

Pat Host (00:01:00):
Grace, thank you so much for being here. What is a nanosecond?

Grace Hopper (00:01:05):
It is a piece of wire about a foot long. I hand them out at talks. People like to hold one.

Pat Host (00:01:30):
Thank you so much for listening. See you next time.
"""


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "ep.md"
    path.write_text(TRANSCRIPT)
    db = tmp_path / "cli.db"
    result = CliRunner().invoke(app, ["--db", str(db), "ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "episodes added 1" in result.output
    return db


def run(db, *args):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def test_episodes_table_and_json(db):
    table = run(db, "episodes")
    assert table.exit_code == 0
    assert "Ships and nanoseconds" in table.output and "Grace Hopper" in table.output
    rows = json.loads(run(db, "episodes", "--json").output)
    assert rows[0]["show"] == "Harbour Podcast"
    assert rows[0]["host"] == "Pat Host"
    assert rows[0]["guests"] == ["Grace Hopper"]
    assert rows[0]["date"] == "2024-01-02"
    assert rows[0]["sources"] == 1


def test_show_lists_kinds_and_sources(db):
    info = json.loads(run(db, "show", "nanoseconds", "--json").output)
    assert set(info["kinds"]) == {"cold_open", "intro", "handoff", "sponsor", "conversation", "outro"}
    assert info["sources"][0]["format"] == "markdown"
    text = run(db, "show", "grace")
    assert text.exit_code == 0 and "sponsor" in text.output


def test_export_jsonl_fields_offsets_and_kinds(db, tmp_path):
    result = run(db, "export", "1", "--format", "jsonl")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert list(rows[0]) == [
        "episode_id",
        "index",
        "speaker",
        "kind",
        "source_file",
        "start_char",
        "end_char",
        "start_s",
        "end_s",
        "text",
        "turn",
        "speaker_confidence",
    ]
    assert all(r["speaker_confidence"] == 1.0 for r in rows)  # labelled source
    source = (tmp_path / "ep.md").read_text()
    for row in rows:
        assert source[row["start_char"] : row["end_char"]] == row["text"]
    by_text = {r["text"]: r for r in rows}
    assert by_text["A ship in port is safe."]["kind"] == "cold_open"
    first = next(i for i, r in enumerate(rows) if r["text"].startswith("This episode is brought to you by Acme"))
    last = next(i for i, r in enumerate(rows) if r["text"] == "That's acme.com/harbour.")
    assert last - first == 5
    assert {r["kind"] for r in rows[first : last + 1]} == {"sponsor"}
    assert by_text["It is a piece of wire about a foot long."]["speaker"] == "Grace Hopper"
    assert by_text["It is a piece of wire about a foot long."]["start_s"] == 65
    assert by_text["See you next time."]["kind"] == "outro"


def test_export_txt_and_md(db):
    txt = run(db, "export", "grace", "--format", "txt").output
    assert "Grace Hopper: It is a piece of wire" in txt
    md = run(db, "export", "grace", "--format", "md").output
    assert md.startswith("# Ships and nanoseconds")


def test_errors_are_one_line_messages(db, tmp_path):
    result = run(db, "export", "nobody")
    assert result.exit_code == 1 and "no episode" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "none.db"), "episodes"])
    assert result.exit_code == 1 and "podtwin ingest" in result.output
    result = run(db, "export", "1", "--format", "pdf")
    assert result.exit_code == 2

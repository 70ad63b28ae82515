"""The five real, unlabelled lex transcripts."""

import json
import re
import statistics

from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.formats import parse_transcript
from podtwin.store.library import Library
from podtwin.text.segmenter import segment_transcript

HEADER = "[Transcript] Lex Fridman Podcast / #398 - Mark Zuckerberg: First Interview in the Metaverse"


def export(db, selector):
    result = CliRunner().invoke(app, ["--db", str(db), "export", selector, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_five_episodes_with_guests_host_and_header_metadata(lex_library):
    with Library(lex_library) as library:
        episodes = library.episodes()
    assert len(episodes) == 5
    assert sorted(g for e in episodes for g in e["guests"]) == sorted(
        ["Mark Zuckerberg", "Mark Zuckerberg", "Wojciech Zaremba", "Elon Musk", "Manolis Kellis"]
    )
    assert {e["host"] for e in episodes} == {"Lex Fridman"}
    assert {e["show"] for e in episodes} == {"Lex Fridman Podcast"}
    numbered = [e for e in episodes if e["number"]]
    assert [(e["number"], e["title"]) for e in numbered] == [(398, "Mark Zuckerberg: First Interview in the Metaverse")]


def test_lowercase_file_exports_natural_sentences(lex_library, corpus):
    path = next(p for p in (corpus / "lex").iterdir() if p.read_text().startswith("the following is"))
    with Library(lex_library) as library:
        episode_id = library.db.execute(
            "SELECT episode_id FROM sources WHERE path = ?", [str(path.resolve())]
        ).fetchone()[0]
    sentences = export(lex_library, str(episode_id))
    lengths = [len(s["text"].split()) for s in sentences]
    assert len(sentences) > 800
    assert 6 <= statistics.median(lengths) <= 30
    assert max(lengths) < 120
    source = path.read_text()
    for s in sentences[:50]:
        assert " ".join(source[s["start_char"] : s["end_char"]].split()).lower() in s["text"].lower()


def test_header_file_has_no_header_text_and_no_split_at_a_cut(lex_library, corpus):
    path = next(p for p in (corpus / "lex").iterdir() if HEADER in p.read_text())
    source = path.read_text()
    sentences = export(lex_library, "#398")
    assert all("[Transcript]" not in s["text"] for s in sentences)
    assert all(s["source_file"] == str(path.resolve()) for s in sentences)
    cuts = [m for m in re.finditer(r"\s*" + re.escape(HEADER) + r"\s*", source) if m.start() > 0]
    assert len(cuts) > 20

    # The cuts change nothing: the same text with the headers simply deleted splits identically.
    plain = parse_transcript(re.sub(r"\s*" + re.escape(HEADER) + r"\s*", " ", source).strip())
    expected = [s.text.split() for s in segment_transcript(plain)]
    assert [s["text"].split() for s in sentences] == expected

    # Where the page is punctuated, a cut inside a sentence never ends it.
    punctuated_cuts = 0
    for cut in cuts:
        before = source[max(0, cut.start() - 300) : cut.start()]
        if re.search(r"[.?!]\s", before) and not re.search(r"[.?!]$", before):
            punctuated_cuts += 1
            assert any(s["start_char"] < cut.start() and s["end_char"] > cut.end() for s in sentences), cut.start()
    assert punctuated_cuts >= 2

"""The five real, unlabelled lex transcripts: metadata, sentences, speakers, aliases, merge."""

import json
import re
import statistics

from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.formats import parse_transcript
from podtwin.ingest import process_file
from podtwin.store.library import Library
from podtwin.store.people import people_summary
from podtwin.text.segmenter import segment_transcript

HEADER = "[Transcript] Lex Fridman Podcast / #398 - Mark Zuckerberg: First Interview in the Metaverse"


def export(db, selector):
    result = CliRunner().invoke(app, ["--db", str(db), "export", selector, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def header_file(corpus):
    return next(p for p in (corpus / "lex").iterdir() if HEADER in p.read_text())


def test_four_episodes_with_guests_host_and_header_metadata(lex_library):
    with Library(lex_library) as library:
        episodes = library.episodes()
    assert len(episodes) == 4
    assert sorted(g for e in episodes for g in e["guests"]) == [
        "Elon Musk",
        "Manolis Kellis",
        "Mark Zuckerberg",
        "Wojciech Zaremba",
    ]
    assert {e["host"] for e in episodes} == {"Lex Fridman"}
    assert {e["show"] for e in episodes} == {"Lex Fridman Podcast"}
    (numbered,) = [e for e in episodes if e["number"]]
    assert (numbered["number"], numbered["title"], numbered["sources"]) == (
        398,
        "Mark Zuckerberg: First Interview in the Metaverse",
        2,
    )
    assert all(e["sources"] == 1 for e in episodes if e is not numbered)


def test_every_conversation_sentence_has_a_speaker_from_the_cast(lex_library):
    with Library(lex_library) as library:
        episodes = library.episodes()
    for e in episodes:
        conversation = [s for s in export(lex_library, str(e["id"])) if s["kind"] == "conversation"]
        assert len(conversation) > 300
        assert {s["speaker"] for s in conversation} == {e["host"], *e["guests"]}


def test_merged_episode_keeps_each_sentence_in_one_source(lex_library, corpus):
    sentences = export(lex_library, "#398")
    sources = {s["source_file"] for s in sentences}
    assert len(sources) == 2
    for s in sentences:
        # a span across a header cut covers the header the sentence text leaves out
        # (and a Markdown link's URL, which the text drops)
        raw = open(s["source_file"]).read()[s["start_char"] : s["end_char"]].replace(HEADER, " ")
        raw = re.sub(r"\]\([^)\s]*\)", " ", raw)
        words = re.findall(r"[a-z0-9']+", raw.lower())
        assert words == re.findall(r"[a-z0-9']+", s["text"].lower()), s
    # sponsor reads come from the page that has them; the conversation mostly from the punctuated file
    by_kind = {}
    for s in sentences:
        by_kind.setdefault(s["kind"], set()).add(s["source_file"])
    assert by_kind["sponsor"] == {str(header_file(corpus).resolve())}
    conversation = [s for s in sentences if s["kind"] == "conversation"]
    punctuated = [s for s in conversation if s["source_file"] != str(header_file(corpus).resolve())]
    assert len(punctuated) > 0.8 * len(conversation)


def test_misheard_names_resolve_to_one_person(lex_library):
    with Library(lex_library) as library:
        people = {p["name"]: p for p in people_summary(library.db)}
    assert set(people) == {"Lex Fridman", "Mark Zuckerberg", "Wojciech Zaremba", "Elon Musk", "Manolis Kellis"}
    lex = people["Lex Fridman"]
    assert {"Alex Friedman", "Lex Friedman", "flex"} <= set(lex["aliases"])
    assert lex["episodes"] == 4 and {a["role"] for a in lex["appearances"]} == {"host"}
    assert "Wojciech Saramba" in people["Wojciech Zaremba"]["aliases"]
    assert any(a.lower().startswith("manoas") for a in people["Manolis Kellis"]["aliases"])


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


def test_header_file_has_no_header_text_and_no_split_at_a_cut(corpus):
    path = header_file(corpus)
    source = path.read_text()
    sentences = process_file(path).sentences
    assert all("[Transcript]" not in s.text for s in sentences)
    cuts = [m for m in re.finditer(r"\s*" + re.escape(HEADER) + r"\s*", source) if m.start() > 0]
    assert len(cuts) > 20

    # The cuts change nothing: the same text with the headers simply deleted splits identically.
    plain = parse_transcript(re.sub(r"\s*" + re.escape(HEADER) + r"\s*", " ", source).strip())
    expected = [s.text.split() for s in segment_transcript(plain)]
    assert [s.text.split() for s in sentences] == expected

    # Where the page is punctuated, a cut inside a sentence never ends it.
    punctuated_cuts = 0
    for cut in cuts:
        before = source[max(0, cut.start() - 300) : cut.start()]
        if re.search(r"[.?!]\s", before) and not re.search(r"[.?!]$", before):
            punctuated_cuts += 1
            assert any(s.start_char < cut.start() and s.end_char > cut.end() for s in sentences), cut.start()
    assert punctuated_cuts >= 2


def test_ingest_summary_counts_the_second_transcript_as_a_source(tmp_path, corpus):
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "lex.db"), "ingest", str(corpus / "lex")])
    assert result.exit_code == 0, result.output
    assert "episodes added 4" in result.output
    assert "1 more transcript(s) of episodes already there added as sources" in result.output
    again = CliRunner().invoke(app, ["--db", str(tmp_path / "lex.db"), "ingest", str(corpus / "lex")])
    assert "episodes added 0" in again.output and "skipped 5" in again.output

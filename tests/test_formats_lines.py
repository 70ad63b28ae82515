"""The labelled-lines reader: `Name: text` one turn a line, and `Name (hh:mm:ss) text` where
`(hh:mm:ss) text` continues the previous speaker."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from podtwin.corpus import corpus_dir
from podtwin.formats import parse_transcript, read_transcript
from podtwin.formats.lines import LabelledLinesReader


def said(t) -> list[tuple[str | None, str]]:
    return [(u.speaker, t.text.text[u.start : u.end]) for u in t.utterances]


def test_name_colon_lines_are_turns_and_unlabelled_lines_continue():
    source = (
        "Adam Stacoviak: Alright, Abi, we're here to talk about agents.\n"
        "Jerod Santo: They're everywhere!\n"
        "And they keep coming.\n"
        "\n"
        "Abi Noda: Well, it's early days: we measure.\n"
        "Waxwing (Adam Gibson): Hello, Stephan.\n"
    )
    t = parse_transcript(source, "episode.txt")
    assert t.format == "lines"
    assert said(t) == [
        ("Adam Stacoviak", "Alright, Abi, we're here to talk about agents."),
        ("Jerod Santo", "They're everywhere!"),
        ("Jerod Santo", "And they keep coming."),
        ("Abi Noda", "Well, it's early days: we measure."),
        ("Waxwing (Adam Gibson)", "Hello, Stephan."),
    ]
    assert all(u.start_s is None and u.end_s is None for u in t.utterances)
    # every utterance maps back to its place in the file
    for u in t.utterances:
        a, b = t.text.source_span(u.start, u.end)
        assert source[a:b] == t.text.text[u.start : u.end]


def test_timed_lines_give_seconds_and_continuations_keep_the_speaker():
    source = (
        "Lex Fridman (00:00:00) The following is a conversation with Jane Doe.\n"
        "(00:00:07) This is the Lex Fridman podcast.\n"
        "Jane Doe (00:01:02) Thanks for having me.\n"
        "(01:02:03.5) An hour later.\n"
        "Lex Fridman (1:02:10): Good.\n"
        "Jane Doe (1:05:00):\n"
        "A label alone on its line times the next one.\n"
    )
    t = parse_transcript(source, "episode.txt")
    assert t.format == "lines"
    assert said(t) == [
        ("Lex Fridman", "The following is a conversation with Jane Doe."),
        ("Lex Fridman", "This is the Lex Fridman podcast."),
        ("Jane Doe", "Thanks for having me."),
        ("Jane Doe", "An hour later."),
        ("Lex Fridman", "Good."),
        ("Jane Doe", "A label alone on its line times the next one."),
    ]
    assert [u.start_s for u in t.utterances] == [0.0, 7.0, 62.0, 3723.5, 3730.0, 3900.0]
    # each utterance ends where the next begins; the last one's end is unknown
    assert [u.end_s for u in t.utterances] == [7.0, 62.0, 3723.5, 3730.0, 3900.0, None]


def test_text_before_the_first_label_has_no_speaker():
    t = LabelledLinesReader().read("Recorded live.\nAnn: Hi.\nBob: Hello.\nAnn: Bye.\n", Path("x.txt"))
    assert said(t) == [(None, "Recorded live."), ("Ann", "Hi."), ("Bob", "Hello."), ("Ann", "Bye.")]


def test_prose_with_one_note_line_stays_plain():
    prose = (
        "It was a long day and we talked about many things.\n"
        "Note: the recording starts late.\n"
        "Then we talked about engines, looms and the history of computing.\n"
        "Everyone agreed it had been worth it, and we went home.\n"
    )
    assert LabelledLinesReader().sniff(prose, Path("talk.txt")) == 0
    assert parse_transcript(prose, "talk.txt").format == "plain"


def test_one_speaker_alone_is_not_claimed():
    monologue = "Ann: One.\nAnn: Two.\nAnn: Three.\nAnn: Four.\n"
    assert LabelledLinesReader().sniff(monologue, Path("x.txt")) == 0


def test_two_speakers_labelled_lines_are_claimed():
    lines = "Ann: One thing.\nBob: Another.\nAnn: A third.\n"
    assert LabelledLinesReader().sniff(lines, Path("x.txt")) > 0
    assert parse_transcript(lines, "x.txt").format == "lines"
    # mostly unlabelled lines are not this format, even with two names
    mostly_prose = lines + "".join(f"Line {i} of plain prose goes on.\n" for i in range(10))
    assert LabelledLinesReader().sniff(mostly_prose, Path("x.txt")) == 0


def test_a_show_transcript_from_the_corpus():
    path = corpus_dir() / "shows" / "changelog-and-friends" / "changelog--friends-101.txt"
    t = read_transcript(path)
    assert t.format == "lines"
    speakers = Counter(u.speaker for u in t.utterances)
    assert {"Adam Stacoviak", "Jerod Santo", "Abi Noda"} <= set(speakers)
    assert None not in speakers
    first = t.utterances[0]
    assert (first.speaker, t.text.text[first.start : first.end][:22]) == ("Adam Stacoviak", "Alright, Abi, we're he")
    # one utterance a labelled line: nothing of the file's talk is lost, no label is left in the text
    labelled = [line for line in t.source.splitlines() if line.strip()]
    assert len(t.utterances) == len(labelled)
    assert "Jerod Santo:" not in t.text.text


def test_a_labelled_lex_transcript_from_the_corpus():
    path = corpus_dir() / "lex-labelled" / "460-narendra-modi.txt"
    t = read_transcript(path)
    assert t.format == "lines"
    speakers = Counter(u.speaker for u in t.utterances)
    assert set(speakers) == {"Narendra Modi", "Lex Fridman"}
    first, second = t.utterances[:2]
    assert (first.speaker, first.start_s, first.end_s) == ("Narendra Modi", 0.0, 66.0)
    assert (second.speaker, second.start_s) == ("Narendra Modi", 66.0)  # "(00:01:06) ..." continues
    assert t.text.text[first.start : first.end].startswith("My strength lies not in my name")
    starts = [u.start_s for u in t.utterances]
    assert None not in starts and starts == sorted(starts)
    assert "(00:01:06)" not in t.text.text

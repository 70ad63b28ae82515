"""SRT and WebVTT readers: text, speakers, times, exact source offsets, detection, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from podtwin.errors import TranscriptError, UnknownFormat, UnreadableFile
from podtwin.formats import parse_transcript, read_transcript
from podtwin.formats.subtitles import SrtReader, WebVttReader


def write(tmp_path: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def source_of(t, u) -> str:
    a, b = t.text.source_span(u.start, u.end)
    return t.source[a:b]


def assert_word_offsets(t) -> None:
    """Every word of the clean text that is a verbatim copy maps back to the same word."""
    for m in re.finditer(r"[^\W_]+", t.text.text):
        a, b = t.text.source_span(m.start(), m.end())
        assert 0 <= a <= b <= len(t.source)
        if t.source[a:b] == m.group():
            continue
        # words made of unescaped entities do not map verbatim; they still map inside the source
        assert "&" in t.source[a:b] or "\\" in t.source[a:b], (m.group(), t.source[a:b])


SRT = """1
00:00:01,000 --> 00:00:04,250
Hello and welcome
to the show.

2
00:00:04,500 --> 00:00:07,000
Thanks, it's <i>great</i> to be here &amp; talk.

3
01:02:03,004 --> 01:02:05,000 X1:100 X2:200 Y1:10 Y2:20
Bye now.
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_srt_text_times_and_offsets(tmp_path: Path, newline: str) -> None:
    path = write(tmp_path, "ep.srt", SRT, newline)
    t = read_transcript(path)
    assert t.format == "srt"
    assert t.text.text == "Hello and welcome to the show. Thanks, it's great to be here & talk. Bye now."
    assert [t.utterance_text(u) for u in t.utterances] == [
        "Hello and welcome to the show.",
        "Thanks, it's great to be here & talk.",
        "Bye now.",
    ]
    assert [(u.start_s, u.end_s) for u in t.utterances] == [
        (1.0, 4.25),
        (4.5, 7.0),
        (3723.004, 3725.0),
    ]
    assert all(u.speaker is None for u in t.utterances)
    assert t.metadata == {}
    # exact offsets
    i = t.text.text.index("welcome")
    a, b = t.text.source_span(i, i + len("welcome"))
    assert t.source[a:b] == "welcome"
    i = t.text.text.index("great")
    a, b = t.text.source_span(i, i + 5)
    assert t.source[a:b] == "great"
    assert source_of(t, t.utterances[0]) == "Hello and welcome" + newline + "to the show."
    assert source_of(t, t.utterances[1]) == "Thanks, it's <i>great</i> to be here &amp; talk."
    assert_word_offsets(t)


def test_srt_without_trailing_newline_and_extra_blank_lines(tmp_path: Path) -> None:
    text = "\n\n1\n00:00:00,000 --> 00:00:01,000\nOne\n\n\n\n2\n00:00:01,000 --> 00:00:02,000\nTwo"
    t = read_transcript(write(tmp_path, "a.srt", text))
    assert t.text.text == "One Two"
    assert [t.utterance_text(u) for u in t.utterances] == ["One", "Two"]


def test_srt_missing_blank_line_between_cues(tmp_path: Path) -> None:
    text = "1\n00:00:00,000 --> 00:00:01,000\nOne\n2\n00:00:01,000 --> 00:00:02,000\nTwo\n"
    t = read_transcript(write(tmp_path, "a.srt", text))
    assert [t.utterance_text(u) for u in t.utterances] == ["One", "Two"]


def test_srt_blank_line_inside_cue_keeps_the_text(tmp_path: Path) -> None:
    text = "1\n00:00:00,000 --> 00:00:01,000\nOne\n\nmore\n\n2\n00:00:01,000 --> 00:00:02,000\nTwo\n"
    t = read_transcript(write(tmp_path, "a.srt", text))
    assert [t.utterance_text(u) for u in t.utterances] == ["One more", "Two"]


def test_srt_ass_override_tags_and_font_tags_removed(tmp_path: Path) -> None:
    text = '1\n00:00:00,000 --> 00:00:01,000\n{\\an8}<font color="#fff">Top</font> line\n'
    t = read_transcript(write(tmp_path, "a.srt", text))
    assert t.text.text == "Top line"


def test_srt_detected_without_extension(tmp_path: Path) -> None:
    t = read_transcript(write(tmp_path, "transcript.txt", SRT))
    assert t.format == "srt"


VTT = """WEBVTT - Episode 7
Kind: captions
Language: en
Title: Episode 7: Tides

NOTE
This note is skipped,
all of it.

STYLE
::cue(.loud) { color: red }

REGION
id:fred width:40%

intro
00:01.000 --> 00:03.500 align:start position:10%
<v Alice>Welcome, <b>Bob</b>.

00:00:03.500 --> 00:00:06.000
<v.loud Bob Smith>Thanks &lt;3 &#39;Alice&#39;&nbsp;ok
and <c.yellow>more</c><00:00:05.000> words</v>

00:00:06.000 --> 00:00:08.000
<v Alice>Sure.</v> <v Bob Smith>Yes.</v>
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_webvtt_speakers_tags_entities(tmp_path: Path, newline: str) -> None:
    t = read_transcript(write(tmp_path, "ep.vtt", VTT, newline))
    assert t.format == "webvtt"
    assert t.text.text == "Welcome, Bob. Thanks <3 'Alice' ok and more words Sure. Yes."
    assert [(t.utterance_text(u), u.speaker) for u in t.utterances] == [
        ("Welcome, Bob.", "Alice"),
        ("Thanks <3 'Alice' ok and more words", "Bob Smith"),
        ("Sure.", "Alice"),
        ("Yes.", "Bob Smith"),
    ]
    assert [(u.start_s, u.end_s) for u in t.utterances] == [
        (1.0, 3.5),
        (3.5, 6.0),
        (6.0, 8.0),
        (6.0, 8.0),
    ]
    assert t.metadata["title"] == "Episode 7: Tides"
    assert t.metadata["language"] == "en"
    assert t.metadata["kind"] == "captions"
    assert t.metadata["header"] == "- Episode 7"
    # nothing of the NOTE/STYLE/REGION blocks, identifiers or tags reaches the text
    for gone in ("note", "skipped", "cue", "fred", "intro", "Alice>", "yellow", "00:"):
        assert gone not in t.text.text
    i = t.text.text.index("Bob.")
    a, b = t.text.source_span(i, i + 3)
    assert t.source[a:b] == "Bob"
    i = t.text.text.index("words")
    a, b = t.text.source_span(i, i + 5)
    assert t.source[a:b] == "words"
    # an entity's replacement maps to the entity
    i = t.text.text.index("<3")
    a, b = t.text.source_span(i, i + 1)
    assert t.source[a:b] == "&lt;"
    assert source_of(t, t.utterances[1]).startswith("Thanks &lt;3")
    assert source_of(t, t.utterances[1]).endswith("more</c><00:00:05.000> words")
    assert_word_offsets(t)


def test_webvtt_minimal_header_and_no_hours(tmp_path: Path) -> None:
    t = read_transcript(write(tmp_path, "x.txt", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n"))
    assert t.format == "webvtt"
    assert t.text.text == "Hi"
    assert t.metadata == {}
    assert (t.utterances[0].start_s, t.utterances[0].end_s) == (1.0, 2.0)


def test_webvtt_without_header_by_extension(tmp_path: Path) -> None:
    t = read_transcript(write(tmp_path, "x.vtt", "00:01.000 --> 00:02.000\nHi there\n"))
    assert t.format == "webvtt"
    assert t.text.text == "Hi there"


def test_webvtt_voice_continues_over_lines_and_closes_at_cue_end(tmp_path: Path) -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>one\ntwo\n\n00:02.000 --> 00:03.000\nthree\n"
    t = read_transcript(write(tmp_path, "x.vtt", text))
    assert [(t.utterance_text(u), u.speaker) for u in t.utterances] == [("one two", "Ann"), ("three", None)]


# YouTube auto-captions; "·" stands for the lone-space lines those files have inside cues
YOUTUBE = """WEBVTT
Kind: captions
Language: en

00:00:00.030 --> 00:00:02.270 align:start position:0%
·
so<00:00:00.539><c> today</c><00:00:00.870><c> we're</c>

00:00:02.270 --> 00:00:02.280 align:start position:0%
so today we're
·

00:00:02.280 --> 00:00:04.950 align:start position:0%
so today we're
talking<00:00:02.800><c> about</c><00:00:03.100><c> tides</c>

00:00:04.950 --> 00:00:04.960 align:start position:0%
talking about tides
·

00:00:04.960 --> 00:00:07.000 align:start position:0%
talking about tides
and<00:00:05.500><c> moons</c>
""".replace("·", " ")


def test_rolling_captions_are_not_repeated(tmp_path: Path) -> None:
    t = read_transcript(write(tmp_path, "yt.en.vtt", YOUTUBE))
    assert t.text.text == "so today we're talking about tides and moons"
    assert [t.utterance_text(u) for u in t.utterances] == [
        "so today we're",
        "talking about tides",
        "and moons",
    ]
    assert [u.start_s for u in t.utterances] == [0.03, 2.28, 4.96]
    # the kept words map to their first occurrence in the source
    i = t.text.text.index("tides")
    a, b = t.text.source_span(i, i + 5)
    assert t.source[a:b] == "tides"
    assert t.source[:b].count("tides") == 1


def test_rolling_duplicate_in_srt(tmp_path: Path) -> None:
    text = (
        "1\n00:00:00,000 --> 00:00:01,000\nfirst line\nsecond line\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nsecond line\nthird line\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\nsecond line\n"
    )
    t = read_transcript(write(tmp_path, "a.srt", text))
    # cue 3 starts with "second line" but cue 2 ended with "third line": it is kept
    assert t.text.text == "first line second line third line second line"
    assert [t.utterance_text(u) for u in t.utterances] == [
        "first line second line",
        "third line",
        "second line",
    ]


def test_repeated_line_by_another_voice_is_kept(tmp_path: Path) -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v A>Yes.\n\n00:02.000 --> 00:03.000\n<v B>Yes.\n"
    t = read_transcript(write(tmp_path, "x.vtt", text))
    assert [(t.utterance_text(u), u.speaker) for u in t.utterances] == [("Yes.", "A"), ("Yes.", "B")]


def test_unknown_entities_and_stray_angle_brackets_stay(tmp_path: Path) -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n3 < 4 &bogus; a<b <laughs> <3\n"
    t = read_transcript(write(tmp_path, "x.vtt", text))
    assert t.text.text == "3 < 4 &bogus; a<b <laughs> <3"


# -- errors -----------------------------------------------------------------------------


def test_garbage_timing_is_an_error_with_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.srt", "1\n00:00:01,000 --> soon\nHello\n")
    with pytest.raises(UnknownFormat) as info:
        read_transcript(path)
    assert str(path) in str(info.value)
    assert "line 2" in str(info.value)


def test_garbage_timing_in_webvtt(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.vtt", "WEBVTT\n\n00:01.000 --> 00:0x.000\nHello\n")
    with pytest.raises(UnknownFormat, match="line 3"):
        read_transcript(path)


def test_srt_extension_without_cues(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.srt", "just some words\n")
    with pytest.raises(UnknownFormat) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_cues_without_text(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n\n00:02.000 --> 00:03.000\n")
    with pytest.raises(TranscriptError) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.srt", "")
    with pytest.raises(UnreadableFile) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_read_directly_rejects_non_subtitles() -> None:
    with pytest.raises(UnknownFormat):
        SrtReader().read("hello there\n", Path("x.txt"))
    with pytest.raises(UnknownFormat):
        WebVttReader().read("hello there\n", Path("x.txt"))


def test_sniff_scores() -> None:
    srt, vtt = SrtReader(), WebVttReader()
    p = Path("x.txt")
    assert srt.sniff(SRT, p) >= 0.9
    assert vtt.sniff(SRT, p) == 0.0
    assert vtt.sniff(VTT, p) >= 0.9
    assert srt.sniff(VTT, p) == 0.0
    assert srt.sniff("Just words.\n", p) == 0.0
    assert vtt.sniff("Just words.\n", p) == 0.0
    assert parse_transcript(SRT).format == "srt"
    assert parse_transcript(VTT).format == "webvtt"


def test_lenient_timings_without_milliseconds(tmp_path: Path) -> None:
    text = "1\n00:00:01 --> 00:00:02\nHi&NewLine;there\n\n2\n0:00:02.5 --> 0:00:03,25\nBye\n"
    t = read_transcript(write(tmp_path, "a.srt", text))
    assert t.text.text == "Hi there Bye"
    assert [(u.start_s, u.end_s) for u in t.utterances] == [(1.0, 2.0), (2.5, 3.25)]

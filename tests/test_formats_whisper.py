"""Whisper / whisperX JSON reader: text, speakers, times, exact offsets into string
literals (escapes included), detection and errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from podtwin.errors import TranscriptError, UnknownFormat, UnreadableFile
from podtwin.formats import parse_transcript, read_transcript
from podtwin.formats.whisper import WhisperJsonReader


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def span_source(t, start: int, end: int) -> str:
    a, b = t.text.source_span(start, end)
    return t.source[a:b]


WHISPER = {
    "text": " Hello there. General Kenobi!",
    "segments": [
        {"id": 0, "seek": 0, "start": 0.0, "end": 2.5, "text": " Hello there.", "tokens": [1, 2, 3]},
        {"id": 1, "seek": 0, "start": 2.5, "end": 4, "text": " General Kenobi!", "temperature": 0.0},
    ],
    "language": "en",
}


@pytest.mark.parametrize("indent", [None, 2])
def test_openai_whisper_json(tmp_path: Path, indent: int | None) -> None:
    path = write(tmp_path, "ep.json", json.dumps(WHISPER, indent=indent))
    t = read_transcript(path)
    assert t.format == "whisper"
    assert t.text.text == "Hello there. General Kenobi!"
    assert [(t.utterance_text(u), u.start_s, u.end_s, u.speaker) for u in t.utterances] == [
        ("Hello there.", 0.0, 2.5, None),
        ("General Kenobi!", 2.5, 4.0, None),
    ]
    assert t.metadata == {"language": "en"}
    # offsets point inside the segments' string literals, not the top-level "text"
    i = t.text.text.index("Kenobi")
    a, b = t.text.source_span(i, i + 6)
    assert t.source[a:b] == "Kenobi"
    assert a > t.source.index('"segments"')
    for u in t.utterances:
        assert span_source(t, u.start, u.end) == t.utterance_text(u)


def test_whisperx_speakers_and_words_ignored(tmp_path: Path) -> None:
    data = {
        "segments": [
            {
                "start": 0.031,
                "end": 1.2,
                "text": " Hi Bob.",
                "speaker": "SPEAKER_00",
                "words": [{"word": "Hi", "start": 0.031, "end": 0.2, "speaker": "SPEAKER_00"}],
            },
            {"start": 1.3, "end": 2.0, "text": "Hi Alice.", "speaker": "SPEAKER_01"},
            {"start": 2.0, "end": 2.5, "text": "Mm."},
        ],
        "word_segments": [{"word": "Hi", "start": 0.031}],
    }
    t = read_transcript(write(tmp_path, "x.json", json.dumps(data)))
    assert [(t.utterance_text(u), u.speaker) for u in t.utterances] == [
        ("Hi Bob.", "SPEAKER_00"),
        ("Hi Alice.", "SPEAKER_01"),
        ("Mm.", None),
    ]
    assert t.utterances[0].start_s == 0.031
    assert t.metadata == {}


def test_escapes_map_to_their_source(tmp_path: Path) -> None:
    text = ' He said "caf\u00e9"\nthen \\o/ \U0001f600 done\t'
    source = json.dumps({"segments": [{"start": 0, "end": 1, "text": text}]}, ensure_ascii=True)
    assert "\\u00e9" in source and "\\ud83d\\ude00" in source and '\\"' in source
    t = parse_transcript(source, "x.json")
    assert t.text.text == 'He said "caf\u00e9" then \\o/ \U0001f600 done'
    txt = t.text.text
    # verbatim word
    i = txt.index("said")
    assert span_source(t, i, i + 4) == "said"
    # an escaped quote maps to the two characters \"
    i = txt.index('"')
    assert span_source(t, i, i + 1) == '\\"'
    # a word ending in a \u escape maps to the word and the whole escape
    i = txt.index("caf")
    assert span_source(t, i, i + 4) == "caf\\u00e9"
    # a surrogate pair is one character standing for 12 source characters
    i = txt.index("\U0001f600")
    assert span_source(t, i, i + 1) == "\\ud83d\\ude00"
    # the escaped line break became a space standing for \n
    i = txt.index(" then")
    assert span_source(t, i, i + 1) == "\\n"
    # the escaped backslash
    i = txt.index("\\o/")
    assert span_source(t, i, i + 3) == "\\\\o/"


def test_escaped_slash_and_uppercase_unicode_escape() -> None:
    source = '{"segments": [{"text": "either\\/or \\u00C9cole"}]}'
    t = parse_transcript(source, "x.json")
    assert t.text.text == "either/or \u00c9cole"
    assert span_source(t, 6, 7) == "\\/"
    assert span_source(t, 10, 15) == "\\u00C9cole"


def test_unescaped_non_ascii_is_verbatim(tmp_path: Path) -> None:
    source = json.dumps({"segments": [{"text": "Grüße aus Köln"}]}, ensure_ascii=False)
    t = parse_transcript(source, "x.json")
    assert t.text.text == "Grüße aus Köln"
    for m in re.finditer(r"\w+", t.text.text):
        assert span_source(t, m.start(), m.end()) == m.group()
    assert t.utterances[0].start_s is None


def test_duplicate_keys_follow_json_semantics() -> None:
    source = '{"segments": [{"text": "old", "text": "new"}], "segments": [{"text": "last"}]}'
    t = parse_transcript(source, "x.json")
    assert t.text.text == "last"
    source = '{"segments": [{"text": "old", "text": "new"}]}'
    t = parse_transcript(source, "x.json")
    assert t.text.text == "new"
    assert span_source(t, 0, 3) == "new"


def test_empty_and_blank_segments_are_skipped() -> None:
    source = json.dumps({"segments": [{"text": ""}, {"text": " one "}, {"text": "  "}, {"text": "two"}]})
    t = parse_transcript(source, "x.json")
    assert t.text.text == "one two"
    assert [t.utterance_text(u) for u in t.utterances] == ["one", "two"]


def test_detected_without_json_extension(tmp_path: Path) -> None:
    t = read_transcript(write(tmp_path, "transcript.txt", "  \n" + json.dumps(WHISPER)))
    assert t.format == "whisper"
    assert t.text.text == "Hello there. General Kenobi!"


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"segments": [{"text": "Hi", }]}', "invalid JSON"),
        ('{"segments": [{"text": "Hi"}]', "invalid JSON"),
        ('{"language": "en", "text": "Hello", "segments_x": 1}', "without 'segments'"),
        ('{"segments": "Hello"}', "not a list"),
        ('{"segments": [{"start": 0, "end": 1}]}', "segment 0 has no 'text'"),
        ('{"segments": [{"text": "a"}, {"text": 5}]}', "segment 1 has no 'text'"),
        ('{"segments": ["Hello"]}', "segment 0 is not an object"),
        ('{"segments": []}', "no text"),
        ('[{"text": "Hello"}]', "JSON array"),
    ],
)
def test_errors_name_the_path(tmp_path: Path, content: str, reason: str) -> None:
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(UnknownFormat) as info:
        read_transcript(path)
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_json_array_without_json_extension_is_not_plain_text(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.txt", '[{"text": "Hello there"}]')
    with pytest.raises(TranscriptError) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.json", "")
    with pytest.raises(UnreadableFile) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_sniff() -> None:
    r = WhisperJsonReader()
    assert r.sniff(json.dumps(WHISPER), Path("x")) >= 0.9
    assert r.sniff("Hello segments world", Path("x.txt")) == 0.0
    assert r.sniff("[Transcript] Show / #1 - Title\nHello.\n", Path("x.txt")) == 0.0
    assert 0 < r.sniff('{"a": 1}', Path("x.txt")) < 0.9
    assert r.sniff("{not json}", Path("x.txt")) == 0.0


def test_deeply_nested_json_is_an_error() -> None:
    source = '{"segments": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(UnknownFormat):
        WhisperJsonReader().read(source, Path("deep.json"))

"""Property tests over every registered transcript reader.

For any input (random text, random bytes, valid sample documents cut short or mangled):
reading either works or raises a TranscriptError, and what comes back is consistent:
utterances lie inside the clean text in order, every clean character maps into the
source in source order, verbatim pieces equal their source slice, and no spoken word of
the input is lost.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podtwin.errors import TranscriptError
from podtwin.formats import TextBuilder, Transcript, decode, parse_transcript, readers

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORD = re.compile(r"[^\W_]+")
OPEN, CLOSE = "⟦", "⟧"  # marks the spoken text in the samples below


def unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The sample without its marks, and the source spans of the spoken words in it."""
    source: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in re.split(f"({OPEN}|{CLOSE})", marked):
        if piece == OPEN:
            start = pos
        elif piece == CLOSE:
            spans.append((start, pos))
        else:
            source.append(piece)
            pos += len(piece)
    text = "".join(source)
    words = [(m.start(), m.end()) for a, b in spans for m in WORD.finditer(text, a, b)]
    return text, words


# Each sample: (file name, expected reader, marked source). Spoken words are marked;
# speaker labels, timings, headers, tags, entities and repeated rolling lines are not.
SAMPLES: dict[str, tuple[str, str, str]] = {
    "srt": (
        "episode.srt",
        "srt",
        "1\n"
        "00:00:01,000 --> 00:00:03,000\n"
        "⟦Hello and welcome⟧\n"
        "⟦to the show⟧.\n"
        "\n"
        "2\n"
        "00:00:03,500 --> 00:00:05,000 X1:10 X2:20\n"
        "⟦It's⟧ <i>⟦really great⟧</i> ⟦to be here⟧ &amp; ⟦talk⟧\n"
        "\n"
        "3\n"
        "00:00:05,000 --> 00:00:07,250\n"
        "⟦Number 42 is the answer⟧\n",
    ),
    "srt-crlf": (
        "episode.srt",
        "srt",
        "1\r\n00:00:01,000 --> 00:00:03,000\r\n⟦First cue here⟧\r\n⟦second line⟧\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\n⟦Another one⟧\r\n",
    ),
    "vtt": (
        "episode.vtt",
        "webvtt",
        "WEBVTT - sample\n"
        "Title: Sample episode\n"
        "\n"
        "NOTE a comment\n"
        "that spans lines\n"
        "\n"
        "STYLE\n"
        "::cue { color: lime }\n"
        "\n"
        "cue-1\n"
        "00:00.000 --> 00:02.000 align:start\n"
        "<v Alice>⟦Morning everyone⟧\n"
        "\n"
        "00:00:02.000 --> 00:00:04.000\n"
        "<v.loud Bob Stone>⟦Morning Alice⟧ &lt;3\n"
        "⟦how are you⟧\n"
        "\n"
        "00:00:04.000 --> 00:00:05.000\n"
        "how are you\n"
        "⟦fine⟧<00:00:04.500><c> ⟦thanks⟧</c>\n",
    ),
    "whisper": (
        "episode.json",
        "whisper",
        "{\n"
        '  "text": " Hello there. General Kenobi!",\n'
        '  "segments": [\n'
        '    {"id": 0, "start": 0.0, "end": 2.5, "text": " ⟦Hello there⟧.", "tokens": [1, 2]},\n'
        '    {"id": 1, "start": 2.5, "end": 4.0, "text": " ⟦General⟧ \\"⟦Kenobi⟧\\" caf\\u00e9\\n⟦done⟧",'
        ' "speaker": "SPEAKER_00"}\n'
        "  ],\n"
        '  "language": "en"\n'
        "}\n",
    ),
    "markdown": (
        "episode.md",
        "markdown",
        "---\n"
        "title: Episode 1\n"
        "guest: Jane Doe\n"
        "---\n"
        "# Episode 1\n"
        "## Transcript\n"
        "Jane Doe (00:00:01):\n"
        "⟦Thanks for having me here⟧.\n"
        "\n"
        "Host Name (00:00:05):\n"
        "⟦Welcome Jane⟧, ⟦let's start⟧.\n"
        "\n"
        "(00:01:51):\n"
        "⟦More from the host⟧.\n",
    ),
    "scraped": (
        "episode.txt",
        "scraped",
        "[Transcript] My Show / #1 - First Episode\n"
        "⟦This is the first paragraph of talk⟧.\n"
        "\n"
        "[Transcript] My Show / #1 - First Episode\n"
        "⟦Second paragraph continues here⟧.\n"
        "\n"
        "[Transcript] My Show / #1 - First Episode\n"
        "⟦Third and final paragraph⟧.\n",
    ),
    "plain": ("episode.txt", "plain", "⟦just one line of plain talk with numbers 42⟧\n"),
    "lines": (
        "episode.txt",
        "lines",
        "Ann Lee: ⟦Welcome to the show⟧, ⟦Bob⟧.\n"
        "Bob Stone: ⟦Thanks Ann⟧ &amp; ⟦hello everyone⟧.\n"
        "⟦A line without a label is still Bob⟧.\n"
        "\n"
        "Waxwing (Ada Byron): ⟦Two names for one speaker⟧.\n"
        "Ann Lee: ⟦What is 42 about⟧? ⟦Note⟧: ⟦a colon later on is text⟧.\n",
    ),
    "lines-timed": (
        "episode.txt",
        "lines",
        "Lex Fridman (00:00:00) ⟦The following is a conversation with Jane Doe⟧.\n"
        "(00:00:04) ⟦This is the Lex Fridman podcast⟧.\n"
        "Jane Doe (00:01:02) ⟦Thanks for having me⟧.\n"
        "(01:02:03.5) ⟦And more from Jane⟧, ⟦an hour later⟧.\r\n"
        "Lex Fridman (1:02:10): ⟦Good⟧.\n",
    ),
}

SUFFIXES = ["episode.txt", "episode.srt", "episode.vtt", "episode.json", "episode.md", "episode"]


# -- checks -------------------------------------------------------------------------------


def check(t: Transcript, source: str) -> None:
    """Everything a Transcript promises about itself."""
    assert isinstance(t, Transcript)
    assert t.source == source
    text = t.text.text
    assert isinstance(text, str)
    # pieces: contiguous in the clean text, in source order, verbatim ones equal to the source
    pieces = t.text._pieces
    clean = 0
    prev_src_end = 0
    for k, (c, s, e, verbatim) in enumerate(pieces):
        assert c == clean, "pieces must tile the clean text"
        assert 0 <= s <= e <= len(source), (s, e, len(source))
        assert s >= prev_src_end, f"piece {s}:{e} before the previous one ending at {prev_src_end}"
        if verbatim:
            assert text[c : c + e - s] == source[s:e]
            clean += e - s
        else:
            clean = pieces[k + 1][0] if k + 1 < len(pieces) else len(text)
            assert clean > c, "a put piece holds text"
        prev_src_end = e
    assert clean == len(text)
    # utterances: inside the text, ordered, not overlapping; source spans in order
    prev_end = 0
    prev_a = prev_b = 0
    for u in t.utterances:
        assert 0 <= u.start <= u.end <= len(text), u
        assert u.start >= prev_end, "utterances overlap or are out of order"
        prev_end = u.end
        a, b = t.text.source_span(u.start, u.end)
        assert 0 <= a <= b <= len(source), (a, b)
        assert a >= prev_a and b >= prev_b, "utterance source spans go backwards"
        prev_a, prev_b = a, b
        assert u.speaker is None or isinstance(u.speaker, str)
        for x in (u.start_s, u.end_s):
            assert x is None or (isinstance(x, float | int) and math.isfinite(x))
    assert isinstance(t.metadata, dict)


def clean_words(t: Transcript) -> dict[tuple[int, int], str]:
    """Source span -> word, for every word of the clean text."""
    return {t.text.source_span(m.start(), m.end()): m.group() for m in WORD.finditer(t.text.text)}


def check_words(t: Transcript, source: str, words: list[tuple[int, int]], upto: int) -> None:
    """Every spoken word wholly before `upto` is in the clean text, mapped to its own place."""
    mapped = clean_words(t)
    present = set(mapped.values())
    for a, b in words:
        if b > upto:
            continue
        word = source[a:b]
        assert word in present, f"spoken word {word!r} at {a} lost by {t.format} reader"
        assert mapped.get((a, b)) == word, f"{word!r} at {a}:{b} does not map back to its place ({t.format})"


def read_all_ways(source: str, path: Path) -> Transcript | None:
    """parse_transcript, and every reader whose sniff claims the source, directly.
    Only TranscriptError may come out of them. Returns what parse_transcript chose."""
    chosen = None
    try:
        chosen = parse_transcript(source, path)
    except TranscriptError as e:
        assert str(path) in str(e)
    else:
        check(chosen, source)
    for reader in readers():
        score = reader.sniff(source, path)
        assert isinstance(score, float | int) and score >= 0, (reader.name, score)
        if score > 0:
            try:
                t = reader.read(source, path)
            except TranscriptError as e:
                assert str(path) in str(e)
            else:
                check(t, source)
    return chosen


# -- the samples themselves -----------------------------------------------------------------


def test_registry_has_the_built_in_readers() -> None:
    names = {r.name for r in readers()}
    assert {"srt", "webvtt", "whisper", "markdown", "scraped", "lines", "plain"} <= names


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_valid_sample_is_read_whole(key: str) -> None:
    name, fmt, marked = SAMPLES[key]
    source, words = unmark(marked)
    assert words
    t = parse_transcript(source, name)
    assert t.format == fmt
    check(t, source)
    check_words(t, source, words, len(source))
    read_all_ways(source, Path(name))


# -- random inputs ----------------------------------------------------------------------------

FRAGMENTS = [
    "\n",
    "\r\n",
    "\n\n",
    " ",
    "1\n",
    "00:00:01,000 --> 00:00:02,000",
    "00:01.000 --> 00:02.000 align:start",
    "-->",
    "WEBVTT",
    "NOTE ",
    "<v Ann>",
    "</v>",
    "<i>",
    "<00:00:01.000>",
    "&amp;",
    "&#39;",
    "&",
    "<",
    "{",
    "}",
    "[",
    "]",
    '"segments"',
    '"text"',
    ":",
    ",",
    '"',
    "\\",
    "\\u00e9",
    "---",
    "title: X",
    "# Heading",
    "Ann (00:00:01):",
    "(00:01:51):",
    "[00:00:01] Ann:",
    "[Transcript] Show / #1 - Title",
    "Ann Lee: ",
    "Bob (00:01:02) ",
    "Waxwing (Ada): ",
    "\\$",
    "[link](http://x)",
    "hello",
    "World",
    "42",
]

random_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map("".join),
)


@SETTINGS
@given(source=random_text, name=st.sampled_from(SUFFIXES))
def test_random_text_never_crashes(source: str, name: str) -> None:
    read_all_ways(source, Path(name))


@SETTINGS
@given(data=st.binary(max_size=300), name=st.sampled_from(SUFFIXES))
def test_random_bytes_never_crash(data: bytes, name: str) -> None:
    path = Path(name)
    try:
        source = decode(data, path)
    except TranscriptError:
        return
    read_all_ways(source, path)


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(sorted(SAMPLES)), cut=st.floats(0, 1), same_name=st.booleans())
def test_truncated_samples_lose_no_spoken_word(key: str, cut: float, same_name: bool) -> None:
    name, _, marked = SAMPLES[key]
    full, words = unmark(marked)
    upto = int(cut * len(full))
    source = full[:upto]
    path = Path(name if same_name else "cut.txt")
    t = read_all_ways(source, path)
    if t is not None:
        check_words(t, source, words, upto)


@SETTINGS
@given(
    key=st.sampled_from(sorted(SAMPLES)),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(FRAGMENTS + [""])),
        min_size=1,
        max_size=4,
    ),
)
def test_mangled_samples_never_crash(key: str, edits: list[tuple[float, int, str]]) -> None:
    name, _, marked = SAMPLES[key]
    source, _ = unmark(marked)
    for where, delete, insert in edits:
        i = int(where * len(source))
        source = source[:i] + insert + source[i + delete :]
    read_all_ways(source, Path(name))


# -- MappedText / TextBuilder round trip ------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    source=st.text(min_size=0, max_size=60),
    ops=st.lists(
        st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 3), st.text(max_size=3)),
        max_size=15,
    ),
)
def test_builder_round_trip(source: str, ops: list[tuple[bool, int, int, str]]) -> None:
    builder = TextBuilder(source)
    expected: list[tuple[int, int, int | None]] = []  # per clean char: (src piece start, end, src index)
    pos = 0
    for is_copy, length, gap, text in ops:
        pos = min(pos + gap, len(source))
        end = min(pos + length, len(source))
        if is_copy:
            builder.copy(pos, end)
            expected.extend((pos, end, k) for k in range(pos, end))
        else:
            builder.put(text, pos, end)
            expected.extend((pos, end, None) for _ in text)
        pos = end
    mapped = builder.build()
    assert len(mapped) == len(builder) == len(expected)
    text = mapped.text
    n = len(text)
    for i, (s, e, k) in enumerate(expected):
        if k is not None:
            assert text[i] == source[k]
            assert mapped.source_span(i, i + 1) == (k, k + 1)
        else:
            assert mapped.source_span(i, i + 1) == (s, e)
    for a in range(n):
        for b in range(a + 1, n + 1):
            sa, sb = mapped.source_span(a, b)
            assert 0 <= sa <= sb <= len(source)
            first, last = expected[a], expected[b - 1]
            assert sa == (first[2] if first[2] is not None else first[0])
            assert sb == (last[2] + 1 if last[2] is not None else last[1])
            if all(x[2] is not None for x in expected[a:b]) and all(
                expected[j + 1][2] == expected[j][2] + 1 for j in range(a, b - 1)
            ):
                assert source[sa:sb] == text[a:b]  # a verbatim run maps back to identical characters
    # empty spans stay within the source too
    for a in range(n + 1):
        sa, sb = mapped.source_span(a, a)
        assert 0 <= sa == sb <= len(source)


def test_sample_marks_are_consistent() -> None:
    for name, _, marked in SAMPLES.values():
        source, words = unmark(marked)
        assert OPEN not in source and CLOSE not in source, name
        assert all(WORD.fullmatch(source[a:b]) for a, b in words)


# -- regressions found by the properties above in other readers ---------------------------------
# Minimal inputs that once broke a reader.

_OTHER_READER_BUGS = [
    pytest.param(
        "---\ndate: 2020-13-45\n---\nhi there\n",
        id="markdown-invalid-yaml-date-raises-ValueError",
    ),
    pytest.param(
        "---\na: &x [*x]\n---\nhi there\n",
        id="markdown-recursive-yaml-alias-raises-RecursionError",
    ),
    pytest.param(
        "---\n" + "[" * 1000 + "\n---\nhi there\n",
        id="markdown-deep-yaml-raises-RecursionError",
    ),
    pytest.param(
        "---\nduration_seconds: .inf\n---\nAnn (00:00:01):\nhi there\n",
        id="markdown-infinite-duration-becomes-end_s",
    ),
]


@pytest.mark.parametrize("source", _OTHER_READER_BUGS)
def test_other_reader_regressions(source: str) -> None:
    read_all_ways(source, Path("episode.md"))


def test_repeated_spoken_sentence_is_not_a_header() -> None:
    marked = (
        "⟦This episode is brought to you by Acme⟧.\n⟦Some talk here⟧.\n"
        "⟦This episode is brought to you by Acme⟧.\n⟦More talk⟧.\n"
        "⟦This episode is brought to you by Acme⟧.\n"
    )
    source, words = unmark(marked)
    t = read_all_ways(source, Path("episode.txt"))
    assert t is not None
    check_words(t, source, words, len(source))


def test_long_run_of_spaces_is_read_quickly() -> None:
    # A ReDoS guard, not a benchmark: the cubic regex took ~32 s on this; linear takes milliseconds.
    source = " " * 4000 + "hello there\n"
    started = time.perf_counter()
    t = read_all_ways(source, Path("episode.txt"))
    assert t is not None
    assert time.perf_counter() - started < 5

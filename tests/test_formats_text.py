"""Plain text, scraped pages and labelled Markdown: the shapes of the real corpus."""

import pytest

from podtwin.errors import TranscriptError, UnknownFormat, UnreadableFile
from podtwin.formats import read_transcript

HEADER = "[Transcript] Some Show / #12 - Ada Lovelace: Engines and Poetry"

SCRAPED = f"""

{HEADER}

The following is a conversation with Ada Lovelace. She wrote the first program.

We talk about engines and we talk about

{HEADER}

poetry and numbers. This is a long paragraph that keeps going for a while.

{HEADER}

More words here. And the end.
"""

MARKDOWN = """---
guest: Grace Hopper
title: 'Bugs, ships and nanoseconds | Grace Hopper'
publish_date: 2023-04-21
channel: Some Podcast
---

# Bugs, ships and nanoseconds | Grace Hopper

## Transcript

Grace Hopper (00:00:16):
A ship in port is safe, but that's not what ships are built for. It costs \\$5 a day.

Host Person (00:00:25):
Welcome to the show. Read [my post](https://example.com/post) first.

(00:01:51):
This is a continuation by the host.

GRACE HOPPER (00:02:03):
Thank you.
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_one_line(tmp_path):
    text = "so this is one line of speech without any punctuation at all and it goes on"
    t = read_transcript(write(tmp_path, "a.txt", text))
    assert t.format == "plain"
    assert t.utterance_text(t.utterances[0]) == text
    a, b = t.text.source_span(8, 12)
    assert (a, b) == (8, 12) and t.source[a:b] == text[8:12]


def test_scraped_page_removes_header_and_rejoins_cut(tmp_path):
    path = write(tmp_path, "page.txt", SCRAPED)
    t = read_transcript(path)
    assert t.format == "scraped"
    assert "[Transcript]" not in t.text.text
    assert "we talk about poetry and numbers" in t.text.text
    assert t.metadata["show"] == "Some Show"
    assert t.metadata["number"] == 12
    assert t.metadata["title"] == "Ada Lovelace: Engines and Poetry"
    assert t.metadata["guests"] == ["Ada Lovelace"]
    # every word still maps to its exact place in the file
    i = t.text.text.index("poetry and numbers")
    a, b = t.text.source_span(i, i + len("poetry and numbers"))
    assert t.source[a:b] == "poetry and numbers"


def test_labelled_markdown(tmp_path):
    t = read_transcript(write(tmp_path, "ep.md", MARKDOWN))
    assert t.format == "markdown"
    assert t.metadata["guests"] == ["Grace Hopper"]
    assert t.metadata["title"] == "Bugs, ships and nanoseconds | Grace Hopper"
    assert t.metadata["date"] == "2023-04-21"
    assert t.metadata["show"] == "Some Podcast"
    speakers = [u.speaker for u in t.utterances]
    assert speakers == ["Grace Hopper", "Host Person", "Host Person", "GRACE HOPPER"]
    assert [u.start_s for u in t.utterances] == [16, 25, 111, 123]
    assert t.utterances[0].end_s == 25
    first = t.utterance_text(t.utterances[0])
    assert first.endswith("It costs $5 a day.")  # \$ unescaped
    second = t.utterance_text(t.utterances[1])
    assert second == "Welcome to the show. Read my post first."  # link text kept, URL dropped
    # the unescaped "$" maps back to "\$" in the source, the link text to itself
    i = t.text.text.index("my post")
    a, b = t.text.source_span(i, i + len("my post"))
    assert t.source[a:b] == "my post"
    j = t.text.text.index("$5")
    a, b = t.text.source_span(j, j + 2)
    assert t.source[a:b] == "\\$5"


def test_markdown_inline_and_bare_labels(tmp_path):
    inline = "[00:00:00] Ryan: I don't know.\n[00:00:28] Lenny: Ryan Hoover is here.\n"
    t = read_transcript(write(tmp_path, "inline.md", inline))
    assert [(u.speaker, u.start_s) for u in t.utterances] == [("Ryan", 0), ("Lenny", 28)]
    assert t.utterance_text(t.utterances[1]) == "Ryan Hoover is here."
    bare = "Adriel Frederick:\nThere are probably techno utopians.\n\nLenny:\nWelcome to the podcast.\n"
    t = read_transcript(write(tmp_path, "bare.md", bare))
    assert [u.speaker for u in t.utterances] == ["Adriel Frederick", "Lenny"]


@pytest.mark.parametrize(
    "content, error, reason",
    [
        (b"", UnreadableFile, "empty"),
        (b"   \n\n  ", UnreadableFile, "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", UnreadableFile, "binary"),
        ("caf\u00e9 au lait".encode("latin-1"), UnreadableFile, "UTF-8"),
        (b"1234 5678 ... --- !!!", UnknownFormat, "not a transcript"),
    ],
)
def test_unreadable_files_say_why(tmp_path, content, error, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        read_transcript(path)
    assert reason in str(info.value)
    assert str(path) in str(info.value)
    assert isinstance(info.value, TranscriptError)


def test_directory_is_not_a_transcript(tmp_path):
    with pytest.raises(UnreadableFile, match="directory"):
        read_transcript(tmp_path)

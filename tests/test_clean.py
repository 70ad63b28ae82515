"""Segment kinds and episode metadata, on small transcripts the tests write."""

from podtwin.clean.segments import segments_of, tag_kinds
from podtwin.formats import parse_transcript
from podtwin.ingest import ingest
from podtwin.speakers.metadata import host_from_show, infer_episode_info
from podtwin.speakers.names import name_at
from podtwin.store.library import Library
from podtwin.text.segmenter import segment_transcript

CONVERSATION = " ".join(f"Here is point number {i} about engines, and it matters. Why?" for i in range(40))

EPISODE = (
    "The following is a conversation with Ada Lovelace, her second time on this podcast. "
    "She is a mathematician. This is the Engine Room podcast. And now, dear friends, here's Ada Lovelace. "
    + CONVERSATION
    + " Thanks for listening to this conversation with Ada Lovelace. And now let me leave you with some words."
)


def sentences_of(text):
    return segment_transcript(parse_transcript(text))


def test_kinds_of_an_unlabelled_episode():
    sentences = sentences_of(EPISODE)
    kinds = tag_kinds(sentences, [False] * len(sentences))
    by_text = dict(zip([s.text for s in sentences], kinds))
    assert by_text["She is a mathematician."] == "intro"
    assert by_text["This is the Engine Room podcast."] == "handoff"
    assert by_text["And now, dear friends, here's Ada Lovelace."] == "handoff"
    assert by_text["Here is point number 3 about engines, and it matters."] == "conversation"
    assert by_text["And now let me leave you with some words."] == "outro"
    assert [s.kind for s in segments_of(kinds)] == ["intro", "handoff", "conversation", "outro"]


def test_sponsor_flags_become_sponsor_segments_and_clips_before_the_intro_a_cold_open():
    text = "Engines are poems. " + EPISODE
    sentences = sentences_of(text)
    flags = [s.text == "She is a mathematician." for s in sentences]
    kinds = tag_kinds(sentences, flags)
    assert kinds[0] == "cold_open"
    assert kinds[[s.text for s in sentences].index("She is a mathematician.")] == "sponsor"


def test_metadata_from_the_host_formulas():
    transcript = parse_transcript(EPISODE)
    info = infer_episode_info(transcript, segment_transcript(transcript))
    assert info.guests == ["Ada Lovelace"]
    assert info.show == "Engine Room Podcast"
    assert info.host == "Engine Room"  # the show's title names no person; a header or labels would
    assert info.appearance == 2
    assert info.evidence["guests"] == "intro"


def test_names_read_from_uncased_speech_are_title_cased():
    text = "the following is a conversation with grace hopper her first time here"
    assert name_at(text, text.index("grace")) == "Grace Hopper"
    cased = "The following is a conversation with Grace B Hopper, inventor."
    assert name_at(cased, cased.index("Grace")) == "Grace Hopper"


def test_host_from_show_name():
    assert host_from_show("Lex Fridman Podcast") == "Lex Fridman"
    assert host_from_show("Lenny's Podcast") == "Lenny"
    assert host_from_show("The Tim Ferriss Show") == "Tim Ferriss"


def test_misspelt_show_names_become_one_show_named_by_its_header(tmp_path):
    spoken = EPISODE.replace("Engine Room podcast", "Alex Friedman podcast")
    (tmp_path / "a.txt").write_text(spoken)
    (tmp_path / "b.txt").write_text(spoken.replace("Ada Lovelace", "Grace Hopper").replace("Alex", "Lex"))
    header = "[Transcript] Lex Fridman Podcast / #7 - Alan Turing: Machines"
    (tmp_path / "c.txt").write_text(f"{header}\n\n{spoken[:400]}\n\n{header}\n\n{CONVERSATION}\n\n{header}\n\nEnd.")
    with Library(tmp_path / "lib.db") as library:
        ingest(library, [tmp_path], workers=1)
        episodes = library.episodes()
    assert {e["show"] for e in episodes} == {"Lex Fridman Podcast"}
    assert {e["host"] for e in episodes} == {"Lex Fridman"}
    assert sorted(g for e in episodes for g in e["guests"]) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]


def test_an_announcement_starts_the_read_the_tagger_found_late():
    text = EPISODE.replace(
        "She is a mathematician.",
        "She is a mathematician. This show is brought to you by Acme. I love how it works. "
        "It is great for teams. Go to acme.com slash engine. Back to the intro now.",
    )
    sentences = sentences_of(text)
    texts = [s.text for s in sentences]
    flags = [t == "Go to acme.com slash engine." for t in texts]
    kinds = dict(zip(texts, tag_kinds(sentences, flags)))
    for read in ("This show is brought to you by Acme.", "I love how it works.", "It is great for teams."):
        assert kinds[read] == "sponsor"
    assert kinds["Back to the intro now."] == "intro"


def kinds_by_text(text: str) -> dict[str, str]:
    sentences = sentences_of(text)
    return dict(zip([s.text for s in sentences], tag_kinds(sentences, [False] * len(sentences))))


def test_a_handoff_cut_in_two_by_restored_punctuation_is_still_found():
    kinds = kinds_by_text(
        EPISODE.replace("And now, dear friends, here's Ada Lovelace.", "And now dear friends. Here's Ada Lovelace.")
    )
    assert kinds["And now dear friends."] == "handoff"
    assert kinds["Here's Ada Lovelace."] == "handoff"
    assert kinds["She is a mathematician."] == "intro"


def test_a_handoff_with_a_typographic_apostrophe_closes_the_intro():
    # official transcripts write "here’s": the whole intro up to it is the host's, not conversation
    kinds = kinds_by_text(EPISODE.replace("here's Ada Lovelace", "here’s Ada Lovelace"))
    assert kinds["And now, dear friends, here’s Ada Lovelace."] == "handoff"
    assert kinds["She is a mathematician."] == "intro"

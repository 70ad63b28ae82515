"""One coherent answer on the real lex library: a main block of consecutive sentences of one
turn, up to two "also" blocks from other turns, never an intro, sponsor read, hand-off or
sign-off, and the shown text made readable while the quote stays the source's exact text."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from podtwin.cli.app import app
from podtwin.speakers.calibration import default_calibration
from podtwin.store.library import Library
from podtwin.twin.answer import MAIN_WORDS, ask, paragraphs, source_case_counts
from podtwin.twin.persona import Persona, save_persona
from podtwin.twin.text import case_counts, clean_spoken, display_text, fix_casing

QUESTIONS = [
    ("Elon Musk", "Why did you buy Twitter?"),
    ("Elon Musk", "What do you think about open sourcing AI?"),
    ("Elon Musk", "How much compute was Grok trained on?"),
    ("Mark Zuckerberg", "What is the metaverse?"),
    ("Mark Zuckerberg", "What are codec avatars and how do they feel?"),
    ("Manolis Kellis", "How does evolution shape the human genome?"),
    ("Wojciech Zaremba", "What is OpenAI working on with robotics?"),
    ("Lex Fridman", "Why do you love doing this podcast?"),
]
# what the host says around the conversation: asked of his twin, none of it may answer
HOST_QUESTIONS = [
    "Why do you do this podcast?",
    "Who is your guest today?",
    "Who are the sponsors of this episode?",
    "How can people support the podcast?",
    "What quote do you end the episode with?",
]
STUTTER = re.compile(r"(?i)\b(\w+(?:'\w+)?)[,\-—]?\s+\1\b")


@pytest.fixture(scope="module")
def library(lex_library):
    with Library(lex_library) as lib:
        yield lib


@pytest.fixture(scope="module")
def replies(library):
    """The replies to QUESTIONS with a persona of a long budget (room for "also" blocks)."""
    out = []
    for person, question in QUESTIONS:
        out.append(ask(library, person, question, persona=Persona(person, max_words=400)))
    return out


def cited_rows(library, c) -> list[tuple]:
    """(idx, turn, source path, speaker, kind) of every sentence a citation covers, in order."""
    return library.db.execute(
        """SELECT s.idx, s.turn, so.path, s.speaker, s.kind FROM sentences s JOIN sources so ON so.id = s.source_id
           WHERE s.episode_id = ? AND s.idx BETWEEN ? AND ? ORDER BY s.idx""",
        [c.episode_id, c.sentence, c.last_sentence],
    ).fetchall()


def source_text(library, path: str) -> str:
    return library.db.execute("SELECT text FROM sources WHERE path = ?", [path]).fetchone()[0]


def check_blocks(library, reply):
    """The blocks' shape: 1 to 3, each consecutive sentences of one turn of the person, of
    ordinary conversation, 2 to 6 of them for the main block (1 only when the turn gives no
    more), every block from another turn, shown as its own paragraph."""
    assert 1 <= len(reply.blocks) <= 3, reply.blocks
    assert [b["role"] for b in reply.blocks] == ["answer"] + ["also"] * (len(reply.blocks) - 1)
    turns = set()
    for n, block in enumerate(reply.blocks, 1):
        c = block["citation"]
        assert block["n"] == n and reply.citations[n - 1] == c and block["quote"] == c.quote
        rows = cited_rows(library, c)
        assert [r[0] for r in rows] == list(range(c.sentence, c.last_sentence + 1))  # consecutive
        assert {(r[1], r[2]) for r in rows} == {(rows[0][1], c.source_file)}  # one turn, one source
        assert {r[3] for r in rows} == {reply.persona} and {r[4] for r in rows} == {"conversation"}
        assert len(rows) <= 6
        turns.add((c.episode_id, rows[0][1]))
    assert len(turns) == len(reply.blocks)  # blocks from different turns are separate blocks
    main = reply.blocks[0]["citation"]
    if main.last_sentence == main.sentence:  # one sentence: no neighbour of its turn fits beside it
        threshold = default_calibration().threshold
        neighbours = library.db.execute(
            """SELECT s.text FROM sentences s JOIN sources so ON so.id = s.source_id
               WHERE s.episode_id = ? AND s.idx IN (?, ?) AND s.turn = ? AND so.path = ? AND s.speaker = ?
                 AND s.kind = 'conversation' AND coalesce(s.speaker_confidence, 1) >= ?""",
            [main.episode_id, main.sentence - 1, main.sentence + 1, cited_rows(library, main)[0][1],
             main.source_file, reply.persona, threshold],
        ).fetchall()  # fmt: skip
        words = len(reply.blocks[0]["text"].split())
        assert all(words + len(clean_spoken(t).split()) > MAIN_WORDS for (t,) in neighbours), neighbours
    # shown as blocks: each block's words in a paragraph of its own, introduced by framing
    shown = [[p for p in para if not p["framing"]] for para in paragraphs(reply.parts)]
    assert [[p["citation"] for p in para] for para in shown if para] == [[i] for i in range(len(reply.blocks))]
    assert len(reply.answer.split("\n\n")) >= len(reply.blocks)


def test_an_answer_is_blocks_of_consecutive_sentences_of_one_turn(library, replies):
    for reply in replies:
        assert not reply.abstained, (reply.persona, reply.question, reply.answer)
        check_blocks(library, reply)
    # the main block is most often a passage of several sentences, and "also" blocks do come
    assert sum(r.blocks[0]["citation"].last_sentence > r.blocks[0]["citation"].sentence for r in replies) >= 5
    assert any(len(r.blocks) >= 2 for r in replies)


def test_blocks_keep_the_default_word_budget(library):
    for person, question in QUESTIONS[:4]:
        reply = ask(library, person, question)
        check_blocks(library, reply)
        words = [len(b["text"].split()) for b in reply.blocks]
        main = reply.blocks[0]["citation"]
        assert words[0] <= MAIN_WORDS or main.sentence == main.last_sentence
        assert sum(words[1:]) <= max(0, 120 - words[0])  # "also" blocks only within the persona's budget


def test_the_hosts_twin_never_answers_with_intros_sponsor_reads_or_hand_offs(library):
    for question in HOST_QUESTIONS:
        reply = ask(library, "Lex Fridman", question)
        assert "here's my conversation with" not in reply.answer.lower(), reply.answer
        assert "dear friends" not in reply.answer.lower(), reply.answer
        for c in reply.citations:
            kinds = {r[4] for r in cited_rows(library, c)}
            assert kinds == {"conversation"}, (question, kinds, c.quote)
        if not reply.abstained:
            check_blocks(library, reply)


def test_other_kinds_never_answer_anyone(library, replies):
    for reply in replies:
        for c in reply.citations:
            assert {r[4] for r in cited_rows(library, c)} == {"conversation"}


def test_shown_text_is_readable_and_the_quote_is_the_source(library, replies):
    fixed = 0
    for reply in replies:
        for block in reply.blocks:
            c = block["citation"]
            source = source_text(library, c.source_file)
            assert block["quote"] == source[c.start_char : c.end_char]  # the exact source text
            text = block["text"]
            assert not text[0].islower() and not STUTTER.search(text), text
            sentences = [r[0] for r in library.db.execute(
                "SELECT text FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ? ORDER BY idx",
                [c.episode_id, c.sentence, c.last_sentence],
            )]  # fmt: skip
            raw = " ".join(" ".join(sentences).split())
            fixed += text != raw
            # lower-cased words are ones the source writes lower-case far more often
            for shown, said in zip(text.split(), " ".join(clean_spoken(s) for s in sentences).split()):
                if shown != said and shown.lower() == said.lower():
                    counts = case_counts(source)
                    word = re.sub(r"\W", "", said)
                    assert counts[word.lower()] >= 3 * counts[word], (shown, said)
    assert fixed >= 3  # the cleanup did something on real answers


def test_display_cleanup_on_a_real_passage(library):
    """A passage of Elon Musk's with speech-to-text capitals, fillers and a repeated word: the
    shown text fixes them; the quote at the same offsets is the source's exact characters."""
    row = library.db.execute(
        """SELECT s.episode_id, s.idx, s.source_id FROM sentences s
           WHERE s.speaker = 'Elon Musk' AND s.text LIKE '%As much of a level play%'"""
    ).fetchone()
    assert row, "the passage is in the lex sample corpus"
    episode, idx, source_id = row
    rows = library.db.execute(
        "SELECT text, start_char, end_char FROM sentences WHERE episode_id = ? AND idx BETWEEN ? AND ? ORDER BY idx",
        [episode, idx, idx + 1],
    ).fetchall()
    source = library.db.execute("SELECT text FROM sources WHERE id = ?", [source_id]).fetchone()[0]
    quote = source[rows[0][1] : rows[-1][2]]
    assert "As much of a level play" in quote and "they they would" in quote and " um " in quote
    shown = display_text([r[0] for r in rows], source_case_counts(library.db, source_id))
    assert shown.startswith("And as much of a level play"), shown
    assert "they would" in shown and "they they" not in shown and " um" not in shown, shown


def test_fix_casing_lowers_only_common_words_inside_sentences():
    counts = {"think": 40, "Think": 2, "as": 50, "As": 6, "like": 30, "Like": 4, "tesla": 1, "Tesla": 9, "will": 20}
    assert fix_casing("I Think so", counts) == "I think so"
    assert fix_casing("And As much as we can", counts) == "And as much as we can"
    assert fix_casing("We went to Tesla, Like every day", counts) == "We went to Tesla, like every day"
    assert fix_casing("Think about it. Like this.", counts) == "Think about it. Like this."  # sentence starts
    assert fix_casing("He said: Think", counts) == "He said: Think"
    assert fix_casing("I'm sure I'll go", counts) == "I'm sure I'll go"  # "I" and its contractions
    assert fix_casing("ask Will about it", counts, keep={"will"}) == "ask Will about it"  # a person's name
    assert fix_casing("so Rare a word", {"rare": 2, "Rare": 0}) == "so Rare a word"  # too little evidence
    assert fix_casing("the World cup", {"world": 8, "World": 4}) == "the World cup"  # not far more often


def test_display_text_joins_sentences_and_trims_stutters():
    assert clean_spoken("I I I think the the model is good") == "I think the model is good"
    assert clean_spoken("There's a lot a lot of stuff") == "There's a lot of stuff"
    assert clean_spoken("I think I think it works") == "I think it works"
    assert clean_spoken("um, I I think that, uh, the the model is good") == "I think that, the model is good"
    counts = {"think": 10, "Think": 1, "so": 10, "So": 2}
    assert display_text(["and I Think so.", "uh", "It works, it works."], counts) == "And I think so. It works."
    assert display_text(["we need the", "The model."]) == "We need the model."
    assert display_text(["uh", "um."]) == ""


def test_cli_shows_blocks_as_paragraphs(lex_copy):
    db, _ = lex_copy("cli-blocks")
    with Library(db) as library:
        save_persona(library, Persona("Elon Musk", max_words=400))
    runner = CliRunner()
    out = runner.invoke(app, ["--db", str(db), "ask", "--as", "Elon Musk", "Why did you buy Twitter?", "--json"])
    assert out.exit_code == 0, out.output
    import json

    reply = json.loads(out.output)
    assert reply["blocks"] and reply["blocks"][0]["role"] == "answer"
    assert all(set(b) >= {"text", "quote", "citation", "role", "n"} for b in reply["blocks"])
    text = runner.invoke(app, ["--db", str(db), "ask", "--as", "Elon Musk", "Why did you buy Twitter?"]).output
    paras = [p for p in text.split("\n\n") if p.strip()]
    for n in range(1, len(reply["blocks"]) + 1):  # each block's reference ends its own paragraph
        assert [p for p in paras if p.rstrip().endswith(f"[{n}]")], (n, text)
    if len(reply["blocks"]) > 1:
        assert "[1]" not in next(p for p in paras if p.rstrip().endswith("[2]"))

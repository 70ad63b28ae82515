"""Sponsor-read tagger: packaged weights, real Lenny measure-split text, a real Lex file."""

from __future__ import annotations

import re

import pytest

from podtwin.clean.sponsors import DEFAULT_WEIGHTS, SponsorTagger, default_sponsor_tagger
from podtwin.corpus import corpus_dir, lenny_files, split
from podtwin.lab.evaluate_sponsors import (
    keyword_baseline,
    load_lenny_sponsor_truth,
    parse_lenny_paragraphs,
)
from podtwin.text.sentences import split_sentences

LEX_FILE = "002_d23df86fad9ea286.txt"


def _measure_files():
    files = split(lenny_files(), "measure")
    assert files, "the lenny corpus is missing: set PODTWIN_CORPUS"
    return files


@pytest.fixture(scope="module")
def tagger() -> SponsorTagger:
    return default_sponsor_tagger()


def test_packaged_weights_load_and_are_small():
    assert DEFAULT_WEIGHTS.exists()
    assert DEFAULT_WEIGHTS.stat().st_size < 500_000
    t = SponsorTagger.load()
    assert t.vocab_size > 1000
    assert default_sponsor_tagger() is default_sponsor_tagger()


def test_empty_input(tagger):
    assert tagger.predict([]) == []
    assert tagger.predict([], []) == []


def test_mismatched_paragraph_starts_rejected(tagger):
    with pytest.raises(ValueError):
        tagger.predict(["One.", "Two."], [True])


def _built_transcript(n_files: int = 6):
    """Reads and guest conversation from real measure-split files, interleaved in a fresh order.

    Reads: maximal runs of sponsor sentences by the ground-truth rule, kept whole (announcement
    to call to action). Conversation: paragraphs spoken by someone other than the host.
    """
    reads: list[list[tuple[str, bool]]] = []
    talk: list[list[str]] = []
    for path in _measure_files()[:n_files]:
        paragraphs = parse_lenny_paragraphs(path)
        sentences, starts, truth = load_lenny_sponsor_truth(path)
        run: list[tuple[str, bool]] = []
        for s, st, t in zip(sentences, starts, truth, strict=True):
            if t:
                run.append((s, st or not run))
            elif run:
                reads.append(run)
                run = []
        if run:
            reads.append(run)
        p = -1
        para: list[str] = []
        para_truth: list[bool] = []
        for s, st, t in [*zip(sentences, starts, truth, strict=True), ("", True, False)]:
            if st:
                if para and not any(para_truth) and not paragraphs[p][0].lower().startswith("lenny"):
                    talk.append(para)
                p += 1
                para, para_truth = [], []
            para.append(s)
            para_truth.append(t)
    assert len(reads) >= 8 and len(talk) >= 200
    sentences, starts, labels = [], [], []
    k = 0
    for r, read in enumerate(reads):
        chunk = talk[k : k + 15] if r % 3 else talk[k : k + 5]
        k = (k + len(chunk)) % max(len(talk) - 15, 1)
        for para in chunk:
            for i, s in enumerate(para):
                sentences.append(s)
                starts.append(i == 0)
                labels.append(False)
        for s, st in read:
            sentences.append(s)
            starts.append(st)
            labels.append(True)
    return sentences, starts, labels


@pytest.mark.parametrize("with_paragraphs", [True, False])
def test_measure_split_reads_found_and_conversation_left_alone(tagger, with_paragraphs):
    sentences, starts, labels = _built_transcript()
    pred = tagger.predict(sentences, starts if with_paragraphs else None)
    sponsor = [p for p, t in zip(pred, labels, strict=True) if t]
    talk = [p for p, t in zip(pred, labels, strict=True) if not t]
    recall = sum(sponsor) / len(sponsor)
    false_rate = sum(talk) / len(talk)
    assert recall >= 0.9, recall
    assert false_rate <= 0.01, false_rate
    # the keyword rule alone finds only the opening sentence of each read
    base = keyword_baseline(sentences)
    assert sum(b for b, t in zip(base, labels, strict=True) if t) / len(sponsor) < 0.5


def test_whole_measure_file_against_truth(tagger):
    hits = total = fp = neg = 0
    for path in _measure_files()[:5]:
        sentences, starts, truth = load_lenny_sponsor_truth(path)
        pred = tagger.predict(sentences, starts)
        hits += sum(p and t for p, t in zip(pred, truth, strict=True))
        total += sum(truth)
        fp += sum(p and not t for p, t in zip(pred, truth, strict=True))
        neg += sum(not t for t in truth)
    assert total > 0
    assert hits / total >= 0.9
    assert fp / neg <= 0.01


def _lex_sentences():
    path = corpus_dir() / "lex" / LEX_FILE
    assert path.exists(), f"{path} is missing: set PODTWIN_CORPUS"
    text = path.read_text(encoding="utf-8")
    return [text[a:b] for a, b in split_sentences(text)]


def test_lex_one_line_file_ad_block_tagged(tagger):
    sentences = _lex_sentences()
    pred = tagger.predict(sentences, None)
    start = next(i for i, s in enumerate(sentences) if s.startswith("This show is brought to you by Paper Space"))
    handoff = next(i for i, s in enumerate(sentences) if "here's my conversation with" in s)
    # the Paper Space Gradient read (announcement .. last "gradient.run.lex") is found: its call to
    # action is tagged, and so is most of the read. (Known miss: the announcement sentence itself
    # and the chatty sentences right after it, where Lex's read looks like conversation.)
    paper_end = max(i for i in range(start, handoff) if "gradient.run" in sentences[i])
    assert paper_end - start >= 8
    assert all(pred[i] for i in range(start, paper_end + 1) if "gradient.run" in sentences[i])
    assert sum(pred[start : paper_end + 1]) >= 0.45 * (paper_end + 1 - start)
    # the whole ad block (Paper Space Gradient ... 8Sleep) is mostly tagged
    block = pred[start:handoff]
    assert sum(block) / len(block) >= 0.75
    # nothing before the ad block (guest introduction) ...
    assert not any(pred[: start - 6])
    # ... and the conversation (no ads in the middle of this show) is left alone
    conversation = pred[handoff + 1 :]
    assert sum(conversation) <= 0.005 * len(conversation)
    late = next(i for i, s in enumerate(sentences) if i > 1500 and len(s.split()) > 8)
    assert not pred[late]


def test_lex_lowercase_unpunctuated_variant(tagger):
    """Same file as an ASR-style stream: no case, no punctuation, fixed 15-word chunks."""
    words = re.sub(r"[^\w\s']", " ", " ".join(_lex_sentences()).lower()).split()
    chunks = [" ".join(words[i : i + 15]) for i in range(0, len(words), 15)]
    pred = tagger.predict(chunks, None)
    ad = next(i for i, c in enumerate(chunks) if "brought to you by paper space" in c)
    handoff = next(i for i, c in enumerate(chunks) if "my conversation with" in c)
    assert sum(pred[ad + 1 : handoff]) / (handoff - ad - 1) >= 0.7
    assert sum(pred[handoff + 2 :]) <= 0.005 * len(pred[handoff + 2 :])

"""The trained punctuator: packaged weights, shape contract, normalisation, and real accuracy.

The accuracy test uses paragraphs from lenny files of the MEASURE split (never seen in
training), stripped of punctuation and casing, and checks boundary F1 against the
project's own ground truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from podtwin.corpus import lenny_files, split
from podtwin.lab.evaluate_sentences import label_paragraph, lenny_paragraphs, load_lenny_sentences, score
from podtwin.text.punctuate import DEFAULT_WEIGHTS, Punctuator, default_punctuator, normalise_word


@pytest.fixture(scope="module")
def punct() -> Punctuator:
    return default_punctuator()


@pytest.fixture(scope="module")
def measure_paths():
    paths = split(lenny_files(), "measure")
    assert paths, "the lenny corpus is missing: set PODTWIN_CORPUS"
    return paths


def test_packaged_weights_small_and_loadable():
    assert DEFAULT_WEIGHTS.exists()
    assert DEFAULT_WEIGHTS.stat().st_size < 2 * 1024 * 1024
    p = Punctuator.load()
    assert p.threshold > 0


def test_empty_and_tiny_inputs(punct):
    assert punct.predict([]) == []
    assert len(punct.predict(["hello"])) == 1
    assert punct.predict(["—", "..."]) == ["", ""]
    assert all(lab in ("", ".", "?") for lab in punct.predict("so what do you think".split()))


def test_output_length_matches_input_with_unnormalisable_tokens(punct):
    words = "yeah — so i think that's right ... and then we shipped it -".split()
    out = punct.predict(words)
    assert len(out) == len(words)
    # tokens that normalise to nothing never carry a boundary
    assert all(out[i] == "" for i, w in enumerate(words) if not normalise_word(w))


def test_normalisation():
    assert normalise_word("Don't,") == "don't"
    assert normalise_word("“Hello!”") == "hello"
    assert normalise_word("sprig.com/lenny") == "sprigcomlenny"
    assert normalise_word("—") == ""
    assert normalise_word("'cause") == "cause"


def test_casing_and_punctuation_insensitive(punct):
    assert punct.predict("Hello, World.".split()) == punct.predict("hello world".split())
    raw = "Well, I think so. What do you think? It's AMAZING, right?".split()
    plain = [normalise_word(w) for w in raw]
    assert punct.predict(raw) == punct.predict(plain)


def test_long_input_chunking_is_consistent(punct, measure_paths):
    words = []
    for ws, _ in load_lenny_sentences(measure_paths[0]):
        words.extend(ws)
    words = (words * (1 + 70000 // max(len(words), 1)))[:70000]  # longer than one chunk
    whole = punct.probabilities(words)
    assert whole.shape == (len(words), 3)
    part = punct.probabilities(words[30000:36000])
    # away from the slice edges the context is identical, so the result must match
    np.testing.assert_allclose(whole[30100:35900], part[100:5900], atol=1e-4)


def test_ground_truth_labels():
    words, labels = label_paragraph("Is it good? Yes. It's e.g. fine, Dr. Smith said")
    assert words == ["is", "it", "good", "yes", "it's", "eg", "fine", "dr", "smith", "said"]
    assert labels == ["", "", "?", ".", "", "", "", "", "", "."]


def test_f1_on_unseen_measure_paragraphs(punct, measure_paths):
    # a few thousand words of real paragraphs from measure files, punctuation and casing stripped
    words: list[str] = []
    labels: list[str] = []
    for path in measure_paths[:3]:
        for ws, ls in load_lenny_sentences(path)[5:60]:
            words.extend(ws)
            labels.extend(ls)
    assert len(words) > 3000
    assert all(w == w.lower() for w in words)
    pred = punct.predict(words)
    s = score(labels[:-1], pred[:-1])
    # the naive baseline (a boundary every 16 words) scores about 0.06 on the measure split;
    # the packaged model scores about 0.69 there
    assert s["f1"] > 0.6, s
    assert s["question_f1"] > 0.4, s


def test_unpunctuated_paragraphs_become_closed_sentences_of_natural_length(measure_paths):
    # The model never sees where an input ends; the segmenter closes the last sentence itself.
    from podtwin.formats import parse_transcript
    from podtwin.text.segmenter import segment_transcript

    paragraphs = [p for p in lenny_paragraphs(measure_paths[1]) if 60 < len(p.split()) < 150][:20]
    assert len(paragraphs) >= 5
    for paragraph in paragraphs:
        words, _ = label_paragraph(paragraph)
        sentences = segment_transcript(parse_transcript(" ".join(words)))
        assert " ".join(s.text for s in sentences).lower().replace(".", "").replace("?", "").split() == words
        assert all(s.text[-1] in ".?" and s.text[0].isupper() for s in sentences)
        assert 2 <= len(sentences) <= len(words) // 3

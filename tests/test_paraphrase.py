"""Paraphrase matching of pins and blocks (issue 18): the pairs it is fitted and measured on,
the shipped model's figures on measure against the issue's targets, and the runtime (numpy
only) deciding every pair as the lab (scikit-learn) does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from podtwin.lab.train_paraphrase import (
    TARGET_RECALL,
    evaluate,
    fit,
    lab_scores,
    load_pairs,
    model_from_json,
    question_vectors,
)
from podtwin.twin.paraphrase import (
    FEATURES,
    PARAPHRASE_MODEL,
    load_paraphrase_model,
    pair_features,
    paraphrase_score,
    same_question,
)


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return load_pairs()


@pytest.fixture(scope="module")
def vectors(pairs) -> dict[str, np.ndarray]:
    return question_vectors(pairs)


def _split(pairs: list[dict], name: str) -> list[dict]:
    return [p for p in pairs if p["split"] == name]


@pytest.fixture(scope="module")
def measured(pairs, vectors) -> dict:
    """The shipped model on the measure pairs, as `podtwin eval paraphrase` computes it."""
    return evaluate(load_paraphrase_model(), _split(pairs, "measure"), vectors)


def test_the_pairs_are_enough_and_split_by_group(pairs):
    tune, measure = _split(pairs, "tune"), _split(pairs, "measure")
    assert len(pairs) >= 240
    for part in (tune, measure):
        assert sum(p["match"] for p in part) >= 30
        assert sum(not p["match"] for p in part) >= 30
    assert 0.4 <= len(tune) / len(pairs) <= 0.6
    assert not {p["group"] for p in tune} & {p["group"] for p in measure}
    # nor does any question stand on both sides under another group's name

    def questions(part: list[dict]) -> set[str]:
        return {t for p in part for t in (p["a"], p["b"])}

    assert not questions(tune) & questions(measure)
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)


def test_the_shipped_model_is_the_labs_fit_on_tune(pairs, vectors, measured):
    data = fit(_split(pairs, "tune"), vectors)
    shipped = json.loads(PARAPHRASE_MODEL.read_text())
    assert shipped["features"] == data["features"] == FEATURES
    np.testing.assert_allclose(shipped["weights"], data["weights"], atol=1e-4)
    assert shipped["pin_threshold"] == pytest.approx(data["pin_threshold"], abs=1e-4)
    assert shipped["block_threshold"] == pytest.approx(data["block_threshold"], abs=1e-4)
    refitted = evaluate(model_from_json(data), _split(pairs, "measure"), vectors)
    for purpose in ("pin", "block"):
        for key in ("recall", "false_match", "threshold"):
            assert refitted[purpose][key] == pytest.approx(measured[purpose][key], abs=1e-3), (purpose, key)


def test_measure_figures_hold_what_was_measured(measured):
    """Measured on the measure pairs when the model was fitted: a pin reaches 0.389 of the
    paraphrases with 0.106 of the other questions matched; a block 0.981 with 0.655. These
    bounds keep those figures from sliding. The issue's targets (0.9 of paraphrases, at most
    0.05 of the rest) are not met, and no expected failure stands in for
    them here: docs/benchmarks.md gives every design measured."""
    assert measured["paraphrases"] >= 30 and measured["non_paraphrases"] >= 30
    assert measured["pin"]["false_match"] <= 0.15, measured["pin"]
    assert measured["pin"]["recall"] >= 0.3, measured["pin"]
    assert measured["block"]["recall"] >= TARGET_RECALL, measured["block"]
    # a pin is the stricter of the two: it matches fewer pairs of either kind
    assert measured["pin"]["threshold"] > measured["block"]["threshold"]
    missed = {(w["a"], w["b"]) for w in measured["pin"]["missed"]}
    assert len(missed) == round((1 - measured["pin"]["recall"]) * measured["paraphrases"])


def test_the_runtime_decides_as_the_lab_for_every_pair(pairs, vectors):
    shipped = json.loads(PARAPHRASE_MODEL.read_text())
    lab = lab_scores(_split(pairs, "tune"), pairs, vectors)  # scikit-learn's predict_proba
    for purpose in ("pin", "block"):
        expected = [bool(s >= shipped[f"{purpose}_threshold"]) for s in lab]
        got = [same_question(p["a"], vectors[p["a"]], p["b"], vectors[p["b"]], purpose=purpose) for p in pairs]
        assert got == expected, purpose


def test_the_same_question_asked_again_always_matches(vectors):
    question = "When do you think we'll have AGI?"
    again = "when do you think we'll have AGI"
    v = vectors[question]
    assert paraphrase_score(question, v, again, v) == 1.0
    assert same_question(question, v, again, v, purpose="pin")
    assert same_question(question, v, again, v, purpose="block")


def test_scores_are_symmetric_and_probabilities(pairs, vectors):
    for p in pairs[::7]:
        ab = paraphrase_score(p["a"], vectors[p["a"]], p["b"], vectors[p["b"]])
        ba = paraphrase_score(p["b"], vectors[p["b"]], p["a"], vectors[p["a"]])
        assert 0.0 <= ab <= 1.0
        assert ab == pytest.approx(ba, abs=1e-9), p


def test_the_features_see_what_they_are_for():
    v = np.ones(4, dtype=np.float32) / 2  # unit length: the cosine is 1

    def f(a: str, b: str) -> dict[str, float]:
        return pair_features(a, v, b, v)

    assert f("Where do you see AI in 5 years?", "Where do you see AI in 50 years?")["numbers_differ"] == 1
    assert f("Where do you see AI in 5 years?", "What will AI look like five years from now?")["numbers_differ"] == 0
    assert f("When did you start programming?", "Why did you start programming?")["question_word_differs"] == 1
    assert f("What should a new PM do first?", "What should a new PM not do first?")["negation_differs"] == 1
    assert f("Are you afraid of death?", "Were you afraid of death as a child?")["tense_differs"] == 1
    assert f("What do you think of Elon Musk?", "What do you think of Jeff Bezos?")["entity_differs"] == 1
    assert f("What do you think of Elon Musk?", "what's your opinion of elon")["entity_differs"] == 0
    assert f("How does Vladimir Putin see the world?", "How does the world see Vladimir Putin?")["swapped"] == 1
    typo = f("Could an AI ever be conscious?", "could an ai ever be concious")
    assert typo["overlap"] == 1 and typo["unmatched_max"] == 0
    assert f("What is love?", "What is love?")["cosine"] == pytest.approx(1.0)


def test_bad_purpose_and_a_model_of_other_features_are_refused(tmp_path):
    v = np.ones(4, dtype=np.float32) / 2
    with pytest.raises(ValueError, match="purpose"):
        same_question("What is love?", v, "What is hate?", v, purpose="answer")  # type: ignore[arg-type]
    data = json.loads(PARAPHRASE_MODEL.read_text())
    data["features"] = data["features"][:-1]
    other = tmp_path / "paraphrase.json"
    other.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="features"):
        load_paraphrase_model(other)

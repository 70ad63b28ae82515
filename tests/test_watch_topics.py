"""Watch topics (issue 18, "take over"): matched with a threshold of their own, fitted on the
tune examples and measured on the others; the off-limits policy keeps its own."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from podtwin.lab.evaluate_watch_topics import DATA, evaluate_watch_topics, load_examples
from podtwin.lab.train_watch_threshold import fit_threshold, fit_watch
from podtwin.search.embed import default_embedder
from podtwin.twin.answer import load_calibration, off_limits_topic, watched_topic
from podtwin.twin.persona import Persona

# measured on the measure split with the shipped calibration (docs/benchmarks.md, issue 18:
# `podtwin eval watch-topics`): precision 0.839, recall 0.881; a margin of about two examples
MEASURED = {"precision": 0.839, "recall": 0.881}
MARGIN = 0.03


def matches(topics: list[str], question: str, cal=None) -> str | None:
    embedder = default_embedder()
    return watched_topic(topics, [question], embedder.embed_query(question), embedder, cal or load_calibration())


def test_the_examples_are_many_half_positive_and_split_by_topic():
    examples = load_examples()
    assert len(examples) >= 120
    assert 0.4 <= np.mean([e["should_fire"] for e in examples]) <= 0.6
    splits = Counter(e["split"] for e in examples)
    assert 0.4 <= splits["tune"] / len(examples) <= 0.6
    topics: dict[str, set] = {}
    for e in examples:
        topics.setdefault(e["topic"], set()).add(e["split"])
    assert all(len(s) == 1 for s in topics.values())  # load_examples refuses otherwise, too
    assert len(topics) >= 20
    assert len({e["id"] for e in examples}) == len(examples)


def test_a_topic_in_both_splits_is_refused(tmp_path):
    from podtwin.errors import PodtwinError

    path = tmp_path / "examples.jsonl"
    rows = [
        {"id": "a", "split": "tune", "topic": "crypto", "question": "Bitcoin?", "should_fire": True, "kind": "word"},
        {"id": "b", "split": "measure", "topic": "crypto", "question": "Tea?", "should_fire": False, "kind": "near"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(PodtwinError, match="both splits"):
        load_examples(path)


def test_measure_precision_and_recall_hold():
    result = evaluate_watch_topics("measure")
    shipped = result["shipped"]
    assert shipped["precision"] >= MEASURED["precision"] - MARGIN, result["false_alarms"]
    assert shipped["recall"] >= MEASURED["recall"] - MARGIN, result["missed"]
    # the off-limits matcher, which watch topics used before, cried wolf far more often
    assert result["off_limits_matcher"]["false_alarm_rate"] > 2 * shipped["false_alarm_rate"]


def test_military_fires_on_the_army_in_other_words_not_on_pasta():
    assert matches(["military"], "Do you like cooking pasta?") is None
    assert matches(["military"], "What's the best way to cook spaghetti carbonara?") is None
    assert matches(["military"], "Did you ever serve in the armed forces?") == "military"
    assert matches(["military"], "What was boot camp like when you were a soldier?") == "military"
    assert matches(["crypto", "military"], "Did you ever serve in the armed forces?") == "military"


def test_the_off_limits_policy_keeps_its_threshold_and_word_rule():
    cal = load_calibration()
    assert cal.watch_threshold > cal.topic_threshold  # alerts are stricter than declining
    embedder = default_embedder()
    persona = Persona("Someone", off_limits=["military"])
    pasta = "Do you like cooking pasta?"
    # declining errs towards declining: the recall-tuned threshold still takes this one
    assert off_limits_topic(persona, [pasta], embedder.embed_query(pasta), embedder, cal) == "military"
    assert matches(["military"], pasta, cal) is None
    # by word: with meaning switched off (a threshold no cosine reaches), off-limits still
    # declines a question naming its topic; a watch topic does not (the fit left the word rule off)
    deaf = replace(cal, topic_threshold=2.0, watch_threshold=2.0)
    question = "Would you ever join the military?"
    assert off_limits_topic(persona, [question], embedder.embed_query(question), embedder, deaf) == "military"
    assert not cal.watch_by_word and matches(["military"], question, deaf) is None
    assert matches(["military"], question, replace(deaf, watch_by_word=True)) == "military"


def test_the_threshold_maximises_f1_and_sits_between_examples():
    cos = np.array([0.9, 0.8, 0.5, 0.4, 0.1])
    y = np.array([True, True, False, True, False])
    threshold, figures = fit_threshold(cos, y)
    assert threshold == 0.25  # F1 0.857 firing from 0.4, midway to 0.1
    assert figures["recall"] == 1.0 and figures["false_alarms"] == 1


def test_the_shipped_calibration_is_the_fit_on_the_tune_examples():
    fit = fit_watch(DATA)
    cal = load_calibration()
    assert fit["watch_threshold"] == cal.watch_threshold and fit["watch_by_word"] == cal.watch_by_word
    assert fit["watch_fitted_on"]["tune_examples"] == len(load_examples(DATA, "tune"))

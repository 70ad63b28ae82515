"""Speaker attribution: packaged weights, the turn contract, and real accuracy.

Conversations are built from paragraphs of lenny files in the MEASURE split (never
seen in training): labels dropped, sentences cut by the rule-based splitter, each
sentence keeping its paragraph's true speaker for scoring.
"""

from __future__ import annotations

import numpy as np
import pytest

from podtwin.corpus import lenny_files, split
from podtwin.formats import read_transcript
from podtwin.lab.evaluate_speakers import change_scores, mapped_accuracy
from podtwin.speakers.attribution import (
    DEFAULT_WEIGHTS,
    SpeakerAttributor,
    Turn,
    default_attributor,
    encode_sentences,
)
from podtwin.text.sentences import split_sentences


@pytest.fixture(scope="module")
def model() -> SpeakerAttributor:
    return default_attributor()


@pytest.fixture(scope="module")
def measure_paths():
    paths = split(lenny_files(), "measure")
    assert paths, "the lenny corpus is missing: set PODTWIN_CORPUS"
    return paths


def labelled_conversation(path) -> list[tuple[str, str]]:
    """(sentence, true speaker label) for every sentence of a labelled file, in order."""
    t = read_transcript(path)
    text = t.text.text
    out = []
    for u in t.utterances:
        for a, b in split_sentences(text, u.start, u.end):
            out.append((" ".join(text[a:b].split()), u.speaker or "?"))
    return out


def roles_of(turns: list[Turn], n: int) -> list[str]:
    roles = [""] * n
    for turn in turns:
        for i in range(turn.first, turn.last + 1):
            roles[i] = turn.role
    return roles


def word_level(sentences: list[tuple[str, str]], roles: list[str]) -> tuple[list[str], list[str]]:
    pred, true = [], []
    for (s, label), role in zip(sentences, roles):
        k = len(s.split())
        pred += [role] * k
        true += [label] * k
    return pred, true


def test_packaged_weights_load_and_are_small():
    assert DEFAULT_WEIGHTS.exists()
    assert DEFAULT_WEIGHTS.stat().st_size < 6_000_000
    m = SpeakerAttributor.load()
    for table in (m.emit_table, m.seam_table, m.in_w, *(w for w, _, _ in m.convs)):
        assert np.isfinite(table).all()
        assert np.abs(table).max() > 0.05  # trained, not zeros
    assert default_attributor() is default_attributor()


@pytest.mark.train
def test_numpy_inference_matches_the_torch_network(measure_paths):
    """The exported int8 network computes what the torch network it came from computes."""
    import torch

    from podtwin.lab import train_attribution as T

    torch.manual_seed(1)
    net = T.make_model().eval()
    with torch.no_grad():  # weights of trained size, so the comparison is not of near-zeros
        net.emit.weight.normal_(0.0, 0.3)
        net.seam.weight.normal_(0.0, 0.3)
    att = SpeakerAttributor(T.export(net, 1.0, 0.0))
    sentences = [s for s, _ in labelled_conversation(measure_paths[2])[:300]]
    host, change = att.logits(encode_sentences(sentences))
    c = T.prepare(
        {"texts": sentences, "names": [], "roles": np.zeros(len(sentences)), "words": np.ones(len(sentences))}
        | {"unpunctuated": False, "speaker": np.zeros(len(sentences), np.int32), "has_host": True}
    )
    with torch.no_grad():
        args = [torch.from_numpy(c[k]) for k in ("e_idx", "e_off", "s_idx", "s_off")]
        args[1], args[3] = args[1][:-1], args[3][:-1]
        t_host, t_change = net(*args, (1, len(sentences)))
    t_host, t_change = t_host[0].numpy(), t_change[0].numpy()
    scale = np.abs(t_host).max()
    assert scale > 0.5
    assert np.abs(host - t_host).max() < 0.03 * scale
    assert np.abs(change - t_change).max() < 0.03 * np.abs(t_change).max()
    assert np.corrcoef(host, t_host)[0, 1] > 0.999


def test_empty_input(model):
    assert model.attribute([]) == []
    assert model.attribute([], []) == []


@pytest.mark.parametrize("n", [1, 2, 7])
def test_turns_tile_all_sentences(model, measure_paths, n):
    sentences = [s for s, _ in labelled_conversation(measure_paths[0])[200 : 200 + n]]
    turns = model.attribute(sentences)
    assert turns[0].first == 0 and turns[-1].last == n - 1
    for a, b in zip(turns, turns[1:]):
        assert b.first == a.last + 1
        assert a.role != b.role  # turns are maximal runs
    for t in turns:
        assert t.first <= t.last
        assert t.role in ("host", "guest")
        assert 0.0 <= t.confidence <= 1.0


def test_turns_tile_a_whole_file(model, measure_paths):
    sentences = [s for s, _ in labelled_conversation(measure_paths[1])]
    turns = model.attribute(sentences, [False] * len(sentences))
    covered = [i for t in turns for i in range(t.first, t.last + 1)]
    assert covered == list(range(len(sentences)))


def test_word_accuracy_on_measure_conversations(model, measure_paths):
    correct = total = guest_correct = 0
    matched = n_pred = n_true = 0
    for path in measure_paths[:6]:
        conv = labelled_conversation(path)
        roles = roles_of(model.attribute([s for s, _ in conv]), len(conv))
        pred, true = word_level(conv, roles)
        c, n = mapped_accuracy(pred, true)
        g, _ = mapped_accuracy(["guest"] * len(true), true)
        correct, total, guest_correct = correct + c, total + n, guest_correct + g
        m, p, t = change_scores(pred, true, tolerance=3)
        matched, n_pred, n_true = matched + m, n_pred + p, n_true + t
    accuracy = correct / total
    baseline = guest_correct / total
    assert accuracy >= 0.88, accuracy
    assert accuracy >= baseline + 0.08, (accuracy, baseline)
    precision, recall = matched / n_pred, matched / n_true
    assert 2 * precision * recall / (precision + recall) >= 0.6, (precision, recall)


def long_guest_answers(path, min_sentences: int = 6):
    """(host question sentences, guest answer sentences) pairs from a labelled file."""
    t = read_transcript(path)
    text = t.text.text
    host = {u.speaker for u in t.utterances if u.speaker and u.speaker.lower().startswith("lenny")}
    paras = []
    for u in t.utterances:
        sents = [" ".join(text[a:b].split()) for a, b in split_sentences(text, u.start, u.end)]
        if paras and paras[-1][0] == u.speaker:
            paras[-1][1].extend(sents)
        else:
            paras.append((u.speaker, sents))
    out = []
    for (sp_a, a), (sp_b, b) in zip(paras, paras[1:]):
        if sp_a in host and sp_b not in host and len(b) >= min_sentences and a[-1].endswith("?"):
            out.append((a, b))
    return out


def test_back_channel_does_not_steal_the_guest_turn(model, measure_paths):
    """'Yeah.' dropped into a guest's long answer must not start a host turn that takes
    the guest's next sentence (nor split the answer between host and guest otherwise)."""
    tried = stolen = 0
    for path in measure_paths[:10]:
        for question, answer in long_guest_answers(path):
            base = question + answer
            roles = roles_of(model.attribute(base), len(base))
            if roles[: len(question)] != ["host"] * len(question) or set(roles[len(question) :]) != {"guest"}:
                continue  # the model gets this exchange wrong anyway; not a back-channel case
            k = len(question) + len(answer) // 2
            sentences = base[:k] + ["Yeah."] + base[k:]
            roles = roles_of(model.attribute(sentences), len(sentences))
            tried += 1
            guest_part = roles[len(question) : k] + roles[k + 1 :]
            if any(r != "guest" for r in guest_part):
                stolen += 1
        if tried >= 25:
            break
    assert tried >= 10, tried
    # The lenny-only model let a back-channel steal in at most 10 % of these; the multi-show
    # model (shared vocabulary, issue 15) does in 12 of 36 (docs/benchmarks.md): a known
    # regression, held here so it gets no worse.
    assert stolen <= tried * 0.35, (stolen, tried)


def test_adaptation_reuses_the_networks_logits_and_the_shows_features():
    """Per-show adaptation decodes each episode again with new host evidence: the network's
    logits are kept, and a host model fitted on precomputed features is the same model."""
    import numpy as np

    from podtwin.speakers.adapt import feature_lists, fit_host_model
    from podtwin.speakers.attribution import default_attributor, encode_sentences

    att = default_attributor()
    texts = ["What do you think about sleep?", "I think sleep is underrated.", "Why?", "Because I could think."] * 5
    first = att.cached_logits(texts, ["Ada Lovelace"])
    fresh = att.logits(encode_sentences(texts, ["Ada Lovelace"], att.vocab))
    assert np.allclose(first[0], fresh[0]) and np.allclose(first[1], fresh[1])
    assert att.cached_logits(list(texts), ["Ada Lovelace"]) is first  # same text: kept
    assert att.cached_logits(texts, ["Alan Turing"]) is not first  # other names: other features
    y = np.array([1.0, 0.0, 1.0, 0.0] * 5)
    weight = np.ones(len(texts))
    episode = np.repeat(np.arange(5), 4)
    a = fit_host_model(texts, y, weight, episode)
    b = fit_host_model(texts, y, weight, episode, features=feature_lists(texts))
    assert np.allclose(a.log_odds(texts), b.log_odds(texts, feature_lists(texts)))
    assert a.log_odds(texts)[0] > a.log_odds(texts)[1]  # it learnt the questions are the host's

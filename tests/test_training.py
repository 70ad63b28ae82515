"""Training data and export of the retriever and re-ranker (podtwin.lab).

The pairs need only the corpus; the export tests need the train extra (torch), so they are
marked `train` and run by `make train`, after it rebuilds the models.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podtwin.corpus import corpus_dir, labelled_shows, split
from podtwin.lab.retriever_pairs import LEFT_OUT, episode_pairs, measure_files, training_shows, window


def test_training_never_reads_measured_or_left_out_files():
    shows = training_shows()
    files = {f for fs in shows.values() for f in fs}
    measured = measure_files()
    assert measured and files
    assert not any(f.name in measured for f in files)
    assert not any("lex-labelled" in f.parts for f in files)
    assert not set(LEFT_OUT) & set(shows)
    for show, fs in labelled_shows().items():
        if show in shows:
            assert not set(split(fs, "measure")) & files  # the train split only


def test_pairs_are_a_hosts_question_and_the_guests_answer():
    from podtwin.lab.evaluate_speakers import show_hosts

    files = sorted((corpus_dir() / "lenny").glob("*.md"))
    lenny = files[0]
    pairs = episode_pairs(lenny, show_hosts(files), "lenny")
    assert len(pairs) >= 10
    text = lenny.read_text()
    for p in pairs:
        assert p.question.endswith("?")
        assert p.answer and p.answer not in p.negatives
        assert len(p.answer.split()) <= 100
        # the answer's first words are the guest's, right after a question of Lenny's
        first = " ".join(p.answer.split()[:6])
        assert first in " ".join(text.split())


def test_the_retriever_never_trains_on_the_held_out_or_re_ranker_pairs():
    from podtwin.lab.train_retriever import HELD_OUT, RERANKER_FROM, retriever_pairs

    pairs = list(range(9000))  # stand-ins: the split is by position in the shuffled list
    used = set(retriever_pairs(pairs))
    assert not used & set(pairs[HELD_OUT]) and not used & set(pairs[RERANKER_FROM : HELD_OUT.start])
    assert used | set(pairs[RERANKER_FROM : HELD_OUT.stop]) == set(pairs)


def test_a_window_keeps_whole_sentences():
    text = "One two three. " * 30
    w = window(text)
    assert w.endswith(".") and 55 <= len(w.split()) <= 100


@pytest.mark.train
def test_the_exported_retriever_is_the_torch_model(tmp_path):
    """The int8 ONNX file the runtime loads gives the fine-tuned torch model's vectors."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from podtwin.lab.export_onnx import export_embedder
    from podtwin.lab.train_retriever import base_model_dir
    from podtwin.search.embed import Embedder

    export_embedder(base_model_dir(), target=tmp_path)
    assert (tmp_path / "retriever-int8.onnx").stat().st_size < 30 * 2**20
    texts = ["so we open sourced the model", "What should I charge customers?", "uh yeah i mean " * 40]
    tok = AutoTokenizer.from_pretrained(str(base_model_dir()))
    model = AutoModel.from_pretrained(str(base_model_dir())).eval()
    with torch.no_grad():
        enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        reference = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosines = (Embedder(tmp_path).embed(texts) * reference).sum(axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.97, cosines


@pytest.mark.train
def test_the_shipped_models_come_from_the_training_run():
    """`make train` wrote the models the runtime loads (their checksums match models.json)."""
    from podtwin.search.embed import EMBEDDER_FILE, model_file
    from podtwin.search.rerank import RERANKER_FILE

    for name in (EMBEDDER_FILE, RERANKER_FILE):
        path = model_file(name)
        assert path.stat().st_size < 30 * 2**20
        assert path.stat().st_mtime > Path("build/retriever/pairs.jsonl").stat().st_mtime


@pytest.mark.train
def test_the_shipped_retriever_beats_its_base_on_held_out_pairs(tmp_path):
    """The fine-tuning is worth shipping: on pairs it never trained on, the shipped retriever
    finds the answer more often than the model it started from (both as int8 ONNX)."""
    import json

    from podtwin.lab.export_onnx import export_embedder
    from podtwin.lab.retriever_pairs import Pair
    from podtwin.lab.train_retriever import base_model_dir, evaluate_held_out

    cache = Path("build/retriever/pairs.jsonl")
    pairs = [Pair(**{**d, "negatives": tuple(d["negatives"])}) for d in map(json.loads, cache.open())]
    export_embedder(base_model_dir(), target=tmp_path)
    base, shipped = evaluate_held_out(pairs, tmp_path), evaluate_held_out(pairs)
    assert shipped["recall@5"] > base["recall@5"] + 0.03, (base, shipped)


def test_the_runtime_needs_neither_torch_nor_the_lab_package():
    """Running, serving and testing load the shipped ONNX files only: no torch, no transformers,
    and no module of podtwin.lab (training, which needs the train extra, and evaluation). Only
    the CLI's commands import it, inside the command."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import podtwin.cli.app, podtwin.api.app, podtwin.api.mcp, podtwin.twin.answer\n"
        "from podtwin.search.embed import default_embedder\n"
        "from podtwin.search.rerank import default_reranker\n"
        "default_embedder().embed(['a question']); default_reranker().scores('a question', ['an answer'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'sentence_transformers')\n"
        "       or m.startswith('podtwin.lab')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
    root = Path(__file__).resolve().parents[1] / "src" / "podtwin"
    for f in root.rglob("*.py"):
        if f.relative_to(root).parts[0] in ("lab", "cli"):
            continue
        text = f.read_text()
        assert "from podtwin.lab" not in text and "import podtwin.lab" not in text, f
        assert "from podtwin import lab" not in text, f

"""Trained models -> the int8 ONNX files the runtime loads (podtwin.search.models).

Each graph is exported from the torch model, checked against it in float32, quantised to
int8 (per-channel weights of the matrix products; activations stay float) and checked
again; then written beside its tokenizer with its sha256 in models.json, which the
runtime verifies before loading.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from podtwin.search.embed import file_sha256, model_inputs

__all__ = ["export_embedder", "export_reranker", "models_dir"]

EMBEDDER_FILE = "retriever-int8.onnx"
RERANKER_FILE = "reranker-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MIN_COSINE = 0.97  # int8 against float32 embeddings on sample text (measured 0.99)
SAMPLES = [
    "so we open sourced the model after about six months",
    "What should I charge customers when the product is new?",
    "my father had a boat and we sailed every summer",
    "uh yeah i mean it's it's really hard to say " * 8,
]


def models_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "search" / "models"


def _quantise(source: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # it suggests a pre-processing step we measured without
    quantize_dynamic(
        str(source), str(out), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul", "Gather"]
    )


def _session(path: Path):
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def embedder_graph(model_dir: Path, out: Path) -> None:
    """float32 ONNX of a transformers encoder with mean pooling and unit length."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    model = Pooled(AutoModel.from_pretrained(str(model_dir), local_files_only=True)).eval()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    sample = tok(SAMPLES, padding=True, return_tensors="pt")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
        expected = model(sample["input_ids"], sample["attention_mask"]).numpy()
    got = _session(out).run(None, {k: sample[k].numpy() for k in ("input_ids", "attention_mask")})[0]
    if not np.allclose(got, expected, atol=1e-5):
        raise RuntimeError("the exported embedder does not reproduce the torch model")


def reranker_graph(load: Callable[[Path], Any], model_dir: Path, out: Path) -> None:
    """float32 ONNX of the cross-encoder: (input_ids, attention_mask, token_type_ids) -> logit.
    load: the torch model from its folder (train_retriever.CrossScorer.load, which imports
    this module: passed in, so the two do not import each other)."""
    import torch
    from transformers import AutoTokenizer

    model = load(model_dir)
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    sample = tok(SAMPLES[:2], SAMPLES[2:], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(out),
            input_names=names,
            output_names=["score"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names},
            opset_version=17,
            dynamo=False,
        )
        expected = model(*(sample[n] for n in names)).numpy()
    got = _session(out).run(None, {n: sample[n].numpy() for n in names})[0]
    if not np.allclose(got, expected, atol=1e-4):
        raise RuntimeError("the exported re-ranker does not reproduce the torch model")


def _install(model_dir: Path, make_graph, name: str, check, target: Path | None = None) -> Path:
    """Export, quantise, check, then move into the models folder and record its sha256."""
    target = target or models_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full, small = Path(tmp) / "float32.onnx", Path(tmp) / "int8.onnx"
        make_graph(model_dir, full)
        _quantise(full, small)
        check(full, small, model_dir)
        shutil.move(small, target / name)
    shutil.copy(model_dir / TOKENIZER_FILE, target / TOKENIZER_FILE)
    manifest_path = target / "models.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    for f in (name, TOKENIZER_FILE):
        manifest[f] = {"sha256": file_sha256(target / f), "bytes": (target / f).stat().st_size}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return target / name


def _feed(model_dir: Path, texts, pairs: bool):
    """The runtime's own tokenizer settings and inputs (podtwin.search.embed)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(256)
    return model_inputs(tok, texts, pairs=pairs)


def _check_embedder(full: Path, small: Path, model_dir: Path) -> None:
    feed = _feed(model_dir, SAMPLES, pairs=False)
    a, b = (_session(g).run(None, feed)[0] for g in (full, small))
    cosine = float((a * b).sum(axis=1).mean())
    if cosine < MIN_COSINE:
        raise RuntimeError(f"the int8 embedder moved vectors too far (mean cosine {cosine:.3f})")


def _check_reranker(full: Path, small: Path, model_dir: Path) -> None:
    pairs = [(q, d) for q in SAMPLES[:2] for d in SAMPLES]
    feed = _feed(model_dir, pairs, pairs=True)
    a, b = (_session(g).run(None, feed)[0] for g in (full, small))
    order = np.corrcoef(a, b)[0, 1]
    if order < 0.95:
        raise RuntimeError(f"the int8 re-ranker scores differ from float32 (correlation {order:.3f})")


def export_embedder(model_dir: Path, target: Path | None = None) -> Path:
    return _install(Path(model_dir), embedder_graph, EMBEDDER_FILE, _check_embedder, target)


def export_reranker(model_dir: Path, load: Callable[[Path], Any], target: Path | None = None) -> Path:
    return _install(Path(model_dir), partial(reranker_graph, load), RERANKER_FILE, _check_reranker, target)

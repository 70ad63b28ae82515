"""Sentence embeddings from the retriever shipped in the repo, run on ONNX Runtime.

The model is all-MiniLM-L6-v2 fine-tuned on hosts' questions and their guests' answers
(podtwin.lab.train_retriever, rebuilt by ``make train``), exported with mean pooling and
normalisation and quantised to int8: ``models/retriever-int8.onnx`` beside the tokenizer,
with their sha256 in ``models/models.json``. Before a file is used its checksum is checked,
so a missing, truncated or tampered file fails loudly, naming the fix, instead of quietly
ranking badly. Neither torch nor transformers is needed to run; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import EmbeddingModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "DIMENSIONS",
    "MODEL_NAME",
    "EmbeddingModelError",
    "Embedder",
    "default_embedder",
    "model_file",
    "models_dir",
    "model_inputs",
    "tokenizer",
]

DIMENSIONS = 384
EMBEDDER_FILE = "retriever-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MAX_TOKENS = 256  # the base model's max_seq_length (sentence_bert_config.json)
BATCH = 16  # small batches of similar length: less padding
FIX = "restore it with `git checkout -- src/podtwin/search/models` (or reinstall podtwin) or rebuild it: `make train`"


def models_dir() -> Path:
    """The shipped models, or $PODTWIN_MODELS (another build of them, e.g. to compare)."""
    return Path(os.environ.get("PODTWIN_MODELS") or Path(__file__).with_name("models"))


def _manifest(folder: Path) -> dict:
    path = folder / "models.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise EmbeddingModelError(f"{path}: the model checksums cannot be read ({e}); {FIX}") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file(name: str, folder: Path | None = None) -> Path:
    """The path of a shipped model file, after checking its sha256 against models.json."""
    folder = folder or models_dir()
    expected = _manifest(folder).get(name, {}).get("sha256")
    path = folder / name
    if expected is None:
        raise EmbeddingModelError(f"{path}: no checksum in models.json; {FIX}")
    if not path.is_file():
        raise EmbeddingModelError(f"{path} is missing; {FIX}")
    got = file_sha256(path)
    if got != expected:
        raise EmbeddingModelError(f"{path} is corrupt: sha256 {got[:16]}…, expected {expected[:16]}…; {FIX}")
    return path


def _model_name() -> str:
    # vectors are stored with the name of the model that made them: a new model's name
    # differs, so `podtwin index` knows which vectors to replace
    try:
        return "retriever-int8-" + _manifest(models_dir())[EMBEDDER_FILE]["sha256"][:12]
    except (EmbeddingModelError, KeyError):
        return "retriever-missing"


MODEL_NAME = _model_name()


def tokenizer(folder: Path | None = None, max_tokens: int = MAX_TOKENS, pairs: bool = False) -> Tokenizer:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_file(TOKENIZER_FILE, folder)))
    # a question and a passage: only the passage is cut
    tok.enable_truncation(max_tokens, strategy="only_second" if pairs else "longest_first")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
    return tok


def model_inputs(tok: Tokenizer, texts: list, pairs: bool = False) -> dict[str, np.ndarray]:
    """The graph's inputs for a batch of texts, or of (first, second) pairs, padded to the longest."""
    encoded = tok.encode_batch(texts)
    feed = {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
    }
    if pairs:
        feed["token_type_ids"] = np.array([e.type_ids for e in encoded], dtype=np.int64)
    return feed


class OnnxModel:
    """An int8 ONNX graph with one session per thread count, made when first needed."""

    def __init__(self, graph: Path, threads: int | None = None) -> None:
        self.graph = graph
        self.threads = threads or os.cpu_count() or 1
        # a query alone uses every core; a server running queries side by side sets 1
        self.query_threads = self.threads
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()

    def session(self, threads: int):
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = self._new_session(threads)
            return self._sessions[threads]

    def _new_session(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # ingest sets OMP_NUM_THREADS=1 for its reader processes; say the number outright
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # idle workers sleep rather than spin: a search runs numpy and SQLite right after
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:  # run() is safe to call from several threads at once (web server workers)
            return onnxruntime.InferenceSession(str(self.graph), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise EmbeddingModelError(f"{self.graph} cannot be loaded ({e}); {FIX}") from None


class Embedder(OnnxModel):
    """Unit-length float32 vectors for texts (queries and passages alike)."""

    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        super().__init__(model_file(EMBEDDER_FILE, folder), threads)
        self.tokenizer = tokenizer(folder)
        self.name = MODEL_NAME if folder is None else "retriever-int8-" + file_sha256(self.graph)[:12]

    def _run(self, texts: list[str], threads: int) -> np.ndarray:
        return self.session(threads).run(None, model_inputs(self.tokenizer, texts))[0]

    def embed(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # longest first: batches of similar length waste less work on padding
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._run([texts[i] for i in chunk], self.threads)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        # Every core: BM25 takes a search about 2 ms, so the model is what it waits for
        # (measured, whole corpus: p50 search 16.7 ms against 18.7 ms with one thread).
        return self._run([text], self.query_threads)[0].astype(np.float32, copy=False)


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The shipped model, loaded once per process."""
    return Embedder()

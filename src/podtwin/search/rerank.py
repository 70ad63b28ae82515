"""A cross-encoder that re-scores the fused candidates: the question and each passage read together.

Trained from the same base as the retriever on the same question -> answer pairs
(podtwin.lab.train_retriever), shipped as ``models/reranker-int8.onnx`` and checked by its
sha256 like the embedder. Reading the pair together lets it see that a passage *answers*
the question, where the embedding only sees that both are about the same thing; it costs
one model run per candidate, so it scores the top RERANK_DEPTH of the fused ranking only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from podtwin.search.embed import OnnxModel, model_file, model_inputs, tokenizer

__all__ = ["RERANK_DEPTH", "Reranker", "default_reranker"]

RERANKER_FILE = "reranker-int8.onnx"
RERANK_DEPTH = 30  # fused candidates re-scored (about 2 s on 2 cores: the cost that keeps it optional)
PAIR_TOKENS = 128  # as trained: the question whole, the passage cut to fit
BATCH = 8


class Reranker(OnnxModel):
    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        super().__init__(model_file(RERANKER_FILE, folder), threads)
        self.tokenizer = tokenizer(folder, PAIR_TOKENS, pairs=True)

    def scores(self, query: str, passages: list[str], batch_size: int = BATCH) -> np.ndarray:
        """One relevance logit per passage (higher: more likely the answer)."""
        out = np.zeros(len(passages), dtype=np.float32)
        order = sorted(range(len(passages)), key=lambda i: -len(passages[i]))
        session = self.session(self.query_threads)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            feed = model_inputs(self.tokenizer, [(query, passages[i]) for i in chunk], pairs=True)
            out[chunk] = session.run(None, feed)[0].reshape(-1)
        return out


@lru_cache(maxsize=1)
def default_reranker() -> Reranker:
    """The shipped re-ranker, loaded once per process."""
    return Reranker()

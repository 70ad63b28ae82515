"""Do two questions ask the same thing? (placeholder until the fitted matcher lands)."""

from __future__ import annotations

import numpy as np

__all__ = ["paraphrase_matches"]

THRESHOLD = 0.85


def paraphrase_matches(
    question: str, vector: np.ndarray, others: list[str], vectors: np.ndarray
) -> list[tuple[bool, float]]:
    """For each of the other questions: does the question ask the same, and the score."""
    scores = vectors @ vector
    return [(bool(s >= THRESHOLD), float(s)) for s in scores]

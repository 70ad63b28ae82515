"""The int8 first pass (search/dense.py): its error bound holds, and the top k it leads to is
the float32 top k."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from podtwin.search.dense import QuantisedVectors, top_rows


def unit_rows(rng: np.random.Generator, n: int, dims: int, duplicates: int, zeros: int) -> np.ndarray:
    v = rng.standard_normal((n, dims)).astype(np.float32)
    # a few large components per row: the hardest case for one scale per row
    v[:, : max(1, dims // 16)] *= 4
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v = v.astype(np.float16).astype(np.float32)  # as stored in the library
    for i in range(min(duplicates, n // 2)):
        v[n - 1 - i] = v[i]  # equal scores: ties must come out in row order
    v[:zeros] = 0  # passages not embedded yet
    return v


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    dims=st.sampled_from([1, 3, 16, 384]),
    k=st.integers(1, 120),
    duplicates=st.integers(0, 20),
    zeros=st.integers(0, 5),
    subset=st.booleans(),
)
def test_first_pass_leads_to_the_float32_top_k(seed, n, dims, k, duplicates, zeros, subset):
    rng = np.random.default_rng(seed)
    vectors = unit_rows(rng, n, dims, duplicates, zeros)
    query = rng.standard_normal(dims).astype(np.float32)
    query /= np.linalg.norm(query)
    rows = np.sort(rng.choice(n, size=max(1, n // 2), replace=False)) if subset else None
    quantised = QuantisedVectors(vectors)

    estimate, bound = first = quantised.first_pass(query)
    exact = (vectors.astype(np.float64) @ query.astype(np.float64)).astype(np.float64)
    assert np.all(np.abs(exact - estimate) <= bound)

    got = top_rows(vectors, query, k, rows, first)
    allowed = np.arange(n) if rows is None else rows
    assert len(got) == min(k, len(allowed))
    assert len(set(got.tolist())) == len(got) and set(got.tolist()) <= set(allowed.tolist())
    # the scores of what came back are the k best scores, best first
    best = np.sort(exact[allowed])[::-1][: len(got)]
    assert np.allclose(exact[got], best, atol=1e-6)


def test_ties_come_in_row_order():
    vectors = np.tile(np.eye(4, dtype=np.float32)[0], (6, 1))  # six equal rows
    got = top_rows(vectors, np.eye(4, dtype=np.float32)[0], 3, None, QuantisedVectors(vectors).first_pass(vectors[0]))
    assert got.tolist() == [0, 1, 2]


def test_first_pass_leaves_few_rows_to_rescore():
    rng = np.random.default_rng(7)
    vectors = unit_rows(rng, 20_000, 384, 0, 0)
    query = vectors[123] + 0.5 * vectors[456]
    query /= np.linalg.norm(query)
    estimate, bound = QuantisedVectors(vectors).first_pass(query)
    lower = np.sort(estimate - bound)[::-1][99]  # the 100th best lower bound
    candidates = int((estimate + bound >= lower).sum())
    assert candidates < 2_000  # a tenth of the rows at most; the full corpus leaves about 300

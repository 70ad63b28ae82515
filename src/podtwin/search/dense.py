"""The exact top k by cosine over many vectors, found through an int8 first pass.

Scoring every passage in float32 reads the whole matrix per query (110 MB for the full
corpus, about 9 ms on one core, bound by memory). The first pass scores int8 copies of the
vectors instead (a quarter of the bytes) with ONNX Runtime's integer matrix product. Each
row's first-pass cosine comes with a proven bound on its error, so only rows whose upper
bound reaches the k-th best lower bound can be in the top k; those (a few hundred) are
scored again in float32. The result is the float32 top k, not an approximation.

The bound. Quantise v = s_v (a + e) and q = s_q (b + f) with integer vectors a, b and
rounding errors |e_j|, |f_j| <= 1/2. Then v.q - s_v s_q a.b = s_v s_q (a.f + e.b + e.f), so

    |v.q - s_v s_q a.b| <= s_v s_q (|a|_1 / 2 + |b|_1 / 2 + D / 4).

Both sides are stored as uint8 with zero point 128: ONNX Runtime's u8s8 kernel on AVX2
saturates 16-bit sums (measured: off by thousands), its u8u8 kernel is exact.
"""

from __future__ import annotations

import numpy as np

__all__ = ["QuantisedVectors", "top_rows"]

# Float32 scores of unit vectors carry rounding error far below this; candidates keep this
# much slack so that no row whose float32 score could make the top k is left out.
SLACK = 1e-4
CHUNK = 1024  # rows quantised at a time


class QuantisedVectors:
    """int8 copies of a matrix's rows, scored against a query by an integer matrix product."""

    def __init__(self, vectors: np.ndarray) -> None:
        n, dims = vectors.shape
        # float32 from here on: its rounding (under 1e-6 of a cosine) is far inside SLACK
        self.scale = np.zeros(n, np.float32)
        self.half_l1 = np.zeros(n, np.float32)
        self.dims = dims
        matrix = np.empty((dims, n), np.uint8)  # transposed for the product, zero point 128
        for lo in range(0, n, CHUNK):  # in slices: the whole matrix in float64 would be 220 MB
            block = vectors[lo : lo + CHUNK].astype(np.float64)
            scale = np.abs(block).max(axis=1) / 127.0  # 0 for an all-zero row: its error is 0 too
            codes = np.rint(block / np.where(scale > 0, scale, 1.0)[:, None]).astype(np.int16)
            self.scale[lo : lo + CHUNK] = scale
            self.half_l1[lo : lo + CHUNK] = np.abs(codes).sum(axis=1) / 2
            matrix[:, lo : lo + CHUNK] = (codes + 128).T
        self._session = _integer_product(matrix, n, dims)

    def first_pass(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(estimate, bound) per row: |row . vector - estimate| <= bound."""
        peak = float(np.abs(vector).max())
        scale = peak / 127.0 if peak > 0 else 1.0
        codes = np.rint(vector / scale).astype(np.int16)
        dots = self._session.run(None, {"query": (codes + 128).astype(np.uint8)[None, :]})[0][0]
        factor = self.scale * np.float32(scale)
        estimate = np.multiply(dots, factor, dtype=np.float32)
        bound = factor * (self.half_l1 + np.float32(np.abs(codes).sum() / 2 + self.dims / 4))
        bound += np.float32(SLACK)
        return estimate, bound


def top_rows(
    vectors: np.ndarray,
    vector: np.ndarray,
    k: int,
    rows: np.ndarray | None = None,
    first: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The k rows (among `rows`, None: all) of highest float32 score, best first, equal scores
    in row order. With `first` (QuantisedVectors.first_pass), only the rows that can be in the
    top k are scored in float32."""
    candidates = np.arange(len(vectors)) if rows is None else rows
    k = min(k, len(candidates))
    if k == 0:
        return np.zeros(0, np.int64)
    if first is not None:
        estimate, bound = first
        if rows is not None:
            estimate, bound = estimate[rows], bound[rows]
        lower = estimate - bound
        threshold = np.partition(lower, len(lower) - k)[len(lower) - k]  # the k-th best lower bound
        candidates = candidates[estimate + bound >= threshold]
    scores = vectors[candidates] @ vector
    if k < len(candidates):
        keep = np.argpartition(-scores, k - 1)[:k]
        # rows tied with the k-th score just outside `keep` would make the choice arbitrary
        keep = np.flatnonzero(scores >= scores[keep].min())
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:k]
    return candidates[order]


def _integer_product(matrix: np.ndarray, n: int, dims: int):
    """An ONNX Runtime session computing query (1 x dims, uint8) @ matrix (dims x n, uint8),
    both with zero point 128, as int32."""
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    zero = np.array(128, dtype=np.uint8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["query", "matrix", "zero", "zero"], ["dots"])],
        "first_pass",
        [helper.make_tensor_value_info("query", TensorProto.UINT8, [1, dims])],
        [helper.make_tensor_value_info("dots", TensorProto.INT32, [1, n])],
        initializer=[numpy_helper.from_array(matrix, "matrix"), numpy_helper.from_array(zero, "zero")],
    )
    # IR version 9: what the installed ONNX Runtime reads (onnx writes a newer one by default)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # 2 ms on one core; the server runs queries side by side
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

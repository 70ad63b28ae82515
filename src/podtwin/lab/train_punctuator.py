"""Train the sentence-boundary / question-mark model (podtwin.text.punctuate).

    python -m podtwin.lab.train_punctuator [--out PATH] [--epochs N]

Reads only the lenny TRAIN split (podtwin.corpus.split). Every VAL_EVERY-th train
file (by sorted name) is held out for validation: early figures, the boundary
threshold and the question bias are chosen on it. The measure split is never read.

The model: word embedding -> conv(k=5) -> residual dilated convs (k=3, dilation
1, 2, 4, 8) with ReLU -> linear to 3 classes ("", ".", "?"). Trained with torch on
CPU (fixed seeds, deterministic data order), then exported as int8 numpy arrays.
Needs torch (`pip install torch==2.13.0`, the `train` extra); inference does not.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np

from podtwin.corpus import lenny_files, split
from podtwin.lab.evaluate_sentences import load_lenny_words, score
from podtwin.text.punctuate import DEFAULT_WEIGHTS, LABELS, N_RESERVED, OOV_BUCKETS, Punctuator, encode

SEED = 1234
VAL_EVERY = 10
VOCAB_SIZE = 8000
EMB = 64
CHANNELS = 128
FIRST_KERNEL = 5
DILATIONS = (1, 2, 4, 8)
SEQ_LEN = 256
EDGE = 16  # positions at each window edge left out of the loss (they lack context)
BATCH = 64
LABEL_ID = {lab: i for i, lab in enumerate(LABELS)}


def load_split() -> tuple[list[Path], list[Path]]:
    train = split(lenny_files(), "train")
    fit = [p for i, p in enumerate(train) if i % VAL_EVERY != VAL_EVERY - 1]
    val = [p for i, p in enumerate(train) if i % VAL_EVERY == VAL_EVERY - 1]
    return fit, val


def load_stream(paths: list[Path]) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    labels: list[int] = []
    for p in paths:
        w, lab = load_lenny_words(p)
        words.extend(w)
        labels.extend(LABEL_ID[x] for x in lab)
    return words, np.asarray(labels, dtype=np.int64)


def build_vocab(words: list[str]) -> list[str]:
    counts = Counter(w for w in words if not w.isdigit())
    # ties broken alphabetically so the vocabulary is deterministic
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [w for w, _ in ranked[:VOCAB_SIZE]]


def make_model(n_ids: int):
    import torch
    from torch import nn

    class Conv(nn.Module):
        """'Same' dilated 1-d conv over (B, T, C) as one matmul over shifted copies.

        (torch's CPU dilated Conv1d is slow; this is also exactly the numpy inference.)
        """

        def __init__(self, c_in: int, c_out: int, k: int, dilation: int) -> None:
            super().__init__()
            self.k, self.dilation = k, dilation
            self.weight = nn.Parameter(torch.empty(k, c_in, c_out))
            self.bias = nn.Parameter(torch.zeros(c_out))
            bound = 1.0 / (k * c_in) ** 0.5
            nn.init.uniform_(self.weight, -bound, bound)
            nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[1]
            pad = self.dilation * (self.k // 2)
            xp = nn.functional.pad(x, (0, 0, pad, pad))
            cols = torch.cat([xp[:, j * self.dilation : j * self.dilation + t] for j in range(self.k)], dim=2)
            return cols @ self.weight.reshape(-1, self.weight.shape[2]) + self.bias

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(n_ids, EMB, padding_idx=0)
            self.drop = nn.Dropout(0.15)
            convs = [Conv(EMB, CHANNELS, FIRST_KERNEL, 1)]
            convs += [Conv(CHANNELS, CHANNELS, 3, d) for d in DILATIONS]
            self.convs = nn.ModuleList(convs)
            self.dilations = (1, *DILATIONS)
            self.out = nn.Linear(CHANNELS, len(LABELS))

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            h = self.drop(self.emb(ids))  # (B, T, E)
            for i, conv in enumerate(self.convs):
                y = torch.relu(conv(h))
                h = y if i == 0 else h + self.drop(y)
            return self.out(h)  # (B, T, 3)

    return Net()


def quantise(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights with one scale per output unit (last axis)."""
    w = w.astype(np.float32)
    reduce_axes = tuple(range(w.ndim - 1))
    scale = np.abs(w).max(axis=reduce_axes) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def export(model, vocab: list[str], threshold: float, question_bias: float) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"vocab": np.asarray(vocab, dtype=str)}
    emb = model.emb.weight.detach().numpy()  # (n_ids, E): quantise per row
    scale = np.abs(emb).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    arrays["emb_q"] = np.clip(np.round(emb / scale[:, None]), -127, 127).astype(np.int8)
    arrays["emb_scale"] = scale[:, None].astype(np.float32)
    arrays["n_convs"] = np.asarray(len(model.convs))
    for i, (conv, d) in enumerate(zip(model.convs, model.dilations, strict=True)):
        w = conv.weight.detach().numpy()  # (k, in, out)
        q, s = quantise(w)
        arrays[f"c{i}_w_q"] = q
        arrays[f"c{i}_w_scale"] = s
        arrays[f"c{i}_b"] = conv.bias.detach().numpy().astype(np.float32)
        arrays[f"c{i}_dilation"] = np.asarray(d)
    arrays["out_w"] = model.out.weight.detach().numpy().T.astype(np.float32)
    arrays["out_b"] = model.out.bias.detach().numpy().astype(np.float32)
    arrays["threshold"] = np.asarray(threshold, dtype=np.float32)
    arrays["question_bias"] = np.asarray(question_bias, dtype=np.float32)
    return arrays


def tune(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float, dict]:
    """Threshold on P(boundary) and bias for '?' maximising validation F1."""
    true = [LABELS[i] for i in labels]
    pb = probs[:, 1] + probs[:, 2]
    best = (-1.0, 0.5)
    for t in np.arange(0.2, 0.71, 0.025):
        tb = labels > 0
        pr = pb > t
        tp = int((tb & pr).sum())
        f1 = 2 * tp / max(int(tb.sum()) + int(pr.sum()), 1)
        if f1 > best[0]:
            best = (f1, float(t))
    threshold = best[1]
    boundary = pb > threshold
    best_q = (-1.0, 0.0)
    for qb in np.arange(-0.3, 0.31, 0.05):
        pred = np.where(boundary, np.where(probs[:, 2] + qb > probs[:, 1], 2, 1), 0)
        tq = labels == 2
        pq = pred == 2
        tp = int((tq & pq).sum())
        f1 = 2 * tp / max(int(tq.sum()) + int(pq.sum()), 1)
        if f1 > best_q[0]:
            best_q = (f1, float(qb))
    qbias = best_q[1]
    pred = np.where(boundary, np.where(probs[:, 2] + qbias > probs[:, 1], 2, 1), 0)
    return threshold, qbias, score(true, [LABELS[i] for i in pred])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="where to write the .npz")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0, help="stop each epoch early (smoke tests)")
    args = ap.parse_args(argv)

    import torch

    t_start = time.perf_counter()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)

    fit_paths, val_paths = load_split()
    fit_words, fit_labels = load_stream(fit_paths)
    val_words, val_labels = load_stream(val_paths)
    vocab = build_vocab(fit_words)
    index = {w: i + N_RESERVED for i, w in enumerate(vocab)}
    n_ids = N_RESERVED + len(vocab) + OOV_BUCKETS
    fit_ids = encode(fit_words, index)
    print(
        f"train files {len(fit_paths)} ({len(fit_words)} words), validation files {len(val_paths)} "
        f"({len(val_words)} words), vocab {len(vocab)}; data ready in {time.perf_counter() - t_start:.1f}s",
        flush=True,
    )

    model = make_model(n_ids)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    n = len(fit_ids)
    steps_per_epoch = (n - SEQ_LEN) // (SEQ_LEN - 2 * EDGE) // BATCH
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1)
    ids_t = torch.from_numpy(fit_ids)
    lab_t = torch.from_numpy(fit_labels)
    loss_fn = torch.nn.CrossEntropyLoss()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        offset = int(rng.integers(0, SEQ_LEN))
        starts = np.arange(offset, n - SEQ_LEN, SEQ_LEN - 2 * EDGE)
        starts = starts[rng.permutation(len(starts))]
        running = 0.0
        done = 0
        for b in range(steps_per_epoch):
            if args.max_steps and b >= args.max_steps:
                break
            s = torch.from_numpy(starts[b * BATCH : (b + 1) * BATCH])
            idx = s[:, None] + torch.arange(SEQ_LEN)[None, :]
            x = ids_t[idx]
            y = lab_t[idx][:, EDGE:-EDGE]
            logits = model(x)[:, EDGE:-EDGE]
            loss = loss_fn(logits.reshape(-1, len(LABELS)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running += float(loss.detach())
            done += 1
        model.eval()
        punct = Punctuator(export(model, vocab, 0.5, 0.0))
        val_probs = punct.probabilities(val_words)
        _, _, val = tune(val_probs, val_labels)
        print(
            f"epoch {epoch + 1}/{args.epochs} loss {running / max(done, 1):.4f} "
            f"({time.perf_counter() - t0:.0f}s)  val F1 {val['f1']:.4f} "
            f"P {val['precision']:.4f} R {val['recall']:.4f} question F1 {val['question_f1']:.4f}",
            flush=True,
        )

    model.eval()
    punct = Punctuator(export(model, vocab, 0.5, 0.0))
    val_probs = punct.probabilities(val_words)
    threshold, qbias, val = tune(val_probs, val_labels)
    arrays = export(model, vocab, threshold, qbias)
    out = Path(args.out)
    np.savez_compressed(out, **arrays)
    train_seconds = time.perf_counter() - t_start
    print(f"train time {train_seconds:.0f}s; wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    print(
        f"validation (held out from train split, {len(val_paths)} files): "
        f"boundary P {val['precision']:.4f} R {val['recall']:.4f} F1 {val['f1']:.4f}; "
        f"question P {val['question_precision']:.4f} R {val['question_recall']:.4f} "
        f"F1 {val['question_f1']:.4f}; threshold {threshold:.3f} question bias {qbias:+.2f}"
    )


if __name__ == "__main__":
    main()

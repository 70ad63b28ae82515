"""Check the podtwin persona eval cases in this folder.

Usage (from /work/main):  .venv/bin/python eval/twin/check_cases.py

Loads lenny_measure.jsonl and lenny_tune.jsonl and checks, for every case:
  * the fields required by its kind, the split name, unique ids;
  * the source file exists and belongs to the right corpus split
    (sorted lenny file names, index % 5 == 4 -> measure, else train/tune);
  * the quote is an exact substring of the source file, 15-60 words, and lies
    entirely inside ONE transcript paragraph spoken by the right speaker
    (the persona for answer/false_premise, the `speaker` field for other_speaker);
  * fact: 2-6 words, exact substring of the quote;
  * wrong (false_premise): exact substring of the question, not in the quote;
  * other_speaker: persona is a guest who speaks in that episode, speaker is the
    host, and the quote is not the persona's words;
  * question: 5-25 words, second person, no file name in it;
  * case counts per file and kind, answer cases in measure from distinct files.
Paraphrase (answer kind) is checked loosely: a run of 4+ consecutive question
words that also appears in the quote is reported as a warning.
Exits non-zero if any error is found.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "Lenny Rachitsky"
HOST_LABELS = {"lenny", "lenny rachitsky"}  # labels the host appears under in the corpus
FILES = {"measure": HERE / "lenny_measure.jsonl", "tune": HERE / "lenny_tune.jsonl"}
EXPECTED = {
    "measure": {"answer": 40, "false_premise": 12, "other_speaker": 8},
    "tune": {"answer": 30, "false_premise": 8, "other_speaker": 5},
}
HOST_ANSWERS = {"measure": (6, 10), "tune": (4, 7)}  # "about 8" / "about 5"
REQUIRED = {
    "answer": {"id", "split", "kind", "persona", "question", "source", "quote", "fact"},
    "false_premise": {"id", "split", "kind", "persona", "question", "source", "quote", "fact", "wrong"},
    "other_speaker": {"id", "split", "kind", "persona", "question", "source", "quote", "speaker"},
}
LABEL = re.compile(r"^(?:(.+?) )?\((?:\d+:)?\d+:\d+\):[ \t]*$")
SECOND_PERSON = re.compile(r"\b(you|your|yours|yourself)\b", re.I)
STOP = set("the a an of to in and is was you your i it that for on at do did what how why with be are "
           "this have has my we our when".split())


def corpus_lenny_dir() -> Path:
    cands = []
    if os.environ.get("PODTWIN_CORPUS"):
        cands.append(Path(os.environ["PODTWIN_CORPUS"]) / "lenny")
    cands += [HERE.parents[2] / "shared" / "corpus" / "lenny", Path("/work/shared/corpus/lenny")]
    for c in cands:
        if c.is_dir():
            return c
    sys.exit("cannot find the lenny corpus folder (set PODTWIN_CORPUS)")


def split_of(lenny_dir: Path) -> dict[str, str]:
    names = sorted(p.name for p in lenny_dir.glob("*.md"))
    return {n: ("measure" if i % 5 == 4 else "tune") for i, n in enumerate(names)}


def paragraphs(text: str) -> list[tuple[int, int, str | None]]:
    """(start, end, speaker) character spans of transcript paragraph bodies."""
    m = re.search(r"^## Transcript[ \t]*$", text, re.M)
    pos = m.end() if m else 0
    spans, speaker, start = [], None, None
    for line in text[pos:].splitlines(keepends=True):
        lm = LABEL.match(line.rstrip("\r\n"))
        if lm:
            if start is not None:
                spans.append((start, pos, speaker))
            if lm.group(1):
                speaker = lm.group(1).strip()
            start = pos + len(line)
        pos += len(line)
    if start is not None:
        spans.append((start, pos, speaker))
    return spans


def same_speaker(label: str | None, name: str) -> bool:
    if label is None:
        return False
    if name == HOST:
        return label.lower() in HOST_LABELS
    return label == name


def occurrences(hay: str, needle: str):
    i = hay.find(needle)
    while i >= 0:
        yield i
        i = hay.find(needle, i + 1)


def words(s: str) -> int:
    return len(s.split())


def overlap(question: str, quote: str, n: int = 4) -> str:
    tok = lambda s: [w.strip(".,?!;:\"'()") for w in s.lower().split()]
    q, t = tok(question), " " + " ".join(tok(quote)) + " "
    for i in range(len(q) - n + 1):
        g = q[i:i + n]
        if sum(w not in STOP for w in g) >= 2 and " " + " ".join(g) + " " in t:
            return " ".join(g)
    return ""


def main() -> int:
    lenny_dir = corpus_lenny_dir()
    file_split = split_of(lenny_dir)
    cache: dict[str, tuple[str, list]] = {}
    errors: list[str] = []
    warnings: list[str] = []
    seen_ids: Counter = Counter()
    summary: dict[str, Counter] = {}
    host_answers: Counter = Counter()
    answer_files: dict[str, Counter] = {"measure": Counter(), "tune": Counter()}
    sources: dict[str, set] = {"measure": set(), "tune": set()}

    for split, path in FILES.items():
        summary[split] = Counter()
        if not path.exists():
            errors.append(f"{path.name}: missing")
            continue
        for ln, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{ln}"
            try:
                c = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: bad JSON ({e})")
                continue
            cid = c.get("id", "?")
            where = f"{path.name}:{ln} [{cid}]"
            err = lambda msg: errors.append(f"{where}: {msg}")
            kind = c.get("kind")
            if kind not in REQUIRED:
                err(f"unknown kind {kind!r}")
                continue
            missing = REQUIRED[kind] - c.keys()
            if missing:
                err(f"missing fields {sorted(missing)}")
                continue
            for k in REQUIRED[kind] | ({"wrong"} if "wrong" in c else set()):
                if not isinstance(c[k], str) or not c[k].strip():
                    err(f"field {k!r} must be a non-empty string")
            if kind != "false_premise" and "wrong" in c:
                err("'wrong' only belongs to false_premise cases")
            seen_ids[cid] += 1
            summary[split][kind] += 1
            if c["split"] != split:
                err(f"split is {c['split']!r}, file is {split!r}")

            # source and corpus split
            src = c["source"]
            if not src.startswith("lenny/") or not src.endswith(".md"):
                err(f"source {src!r} is not lenny/<file>.md")
                continue
            name = src[len("lenny/"):]
            if name not in file_split:
                err(f"source {src} not in corpus")
                continue
            if file_split[name] != split:
                err(f"source {src} belongs to the {file_split[name]} split, not {split}")
            sources[split].add(name)
            if name not in cache:
                t = (lenny_dir / name).read_text(encoding="utf-8")
                cache[name] = (t, paragraphs(t))
            text, paras = cache[name]
            labels = {s for _, _, s in paras if s}

            # quote: exact, inside one paragraph by the right speaker
            quote, persona = c["quote"], c["persona"]
            who = c["speaker"] if kind == "other_speaker" else persona
            nq = words(quote)
            if not 15 <= nq <= 60:
                err(f"quote has {nq} words (want 15-60)")
            if quote != quote.strip():
                err("quote has leading/trailing whitespace")
            occ = list(occurrences(text, quote))
            if not occ:
                err("quote is not an exact substring of the source")
            else:
                ok = False
                spoken_by = set()
                for o in occ:
                    for a, b, s in paras:
                        if a <= o and o + len(quote) <= b:
                            spoken_by.add(s)
                            ok = ok or same_speaker(s, who)
                if not spoken_by:
                    err("quote is not inside a single transcript paragraph")
                elif not ok:
                    err(f"quote is spoken by {sorted(map(str, spoken_by))}, not {who!r}")

            # persona / speaker rules
            if kind == "other_speaker":
                if c["speaker"] != HOST:
                    err(f"speaker must be {HOST!r}")
                if persona == HOST or persona.lower() in HOST_LABELS:
                    err("other_speaker persona must be a guest, not the host")
                elif persona not in labels:
                    err(f"persona {persona!r} does not speak in {src}")
            else:
                if persona != HOST and persona not in labels:
                    err(f"persona {persona!r} is not a speaker label in {src}")
                fact = c["fact"]
                if fact not in quote:
                    err(f"fact {fact!r} is not in the quote")
                if not 2 <= words(fact) <= 6:
                    err(f"fact has {words(fact)} words (want 2-6)")
            if kind == "false_premise":
                wrong = c["wrong"]
                if wrong not in c["question"]:
                    err(f"wrong {wrong!r} is not in the question")
                if wrong.lower() in quote.lower():
                    err(f"wrong {wrong!r} appears in the quote")
                if wrong.lower() == c["fact"].lower():
                    err("wrong equals fact")

            # question
            q = c["question"]
            nw = words(q)
            if not 5 <= nw <= 25:
                err(f"question has {nw} words (want 5-25)")
            if not SECOND_PERSON.search(q):
                err("question is not addressed in the second person")
            stem = name[:-3]
            if stem.lower() in q.lower() or name.lower() in q.lower():
                err("question contains the file name")
            if kind == "answer":
                answer_files[split][name] += 1
                if persona == HOST:
                    host_answers[split] += 1
                ov = overlap(q, quote)
                if ov:
                    warnings.append(f"{where}: question shares the run {ov!r} with the quote")

    for cid, n in seen_ids.items():
        if n > 1:
            errors.append(f"id {cid!r} used {n} times")
    for split, want in EXPECTED.items():
        for kind, n in want.items():
            if summary[split][kind] != n:
                errors.append(f"{split}: {summary[split][kind]} {kind} cases, want {n}")
        lo, hi = HOST_ANSWERS[split]
        if not lo <= host_answers[split] <= hi:
            errors.append(f"{split}: {host_answers[split]} host answer cases, want about {lo}-{hi}")
    dup = [f for f, n in answer_files["measure"].items() if n > 1]
    if dup:
        errors.append(f"measure: answer cases share files {dup}")

    print("podtwin eval/twin case check")
    for split in FILES:
        counts = ", ".join(f"{k}={summary[split][k]}" for k in REQUIRED)
        print(f"  {FILES[split].name}: {sum(summary[split].values())} cases ({counts}); "
              f"host-persona answers={host_answers[split]}; source files={len(sources[split])}; "
              f"distinct answer files={len(answer_files[split])}")
    print(f"  ids unique: {all(n == 1 for n in seen_ids.values())} ({len(seen_ids)} ids)")
    for w in warnings:
        print("  WARN", w)
    for e in errors:
        print("  ERROR", e)
    print("  RESULT:", "PASS" if not errors else f"FAIL ({len(errors)} errors)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

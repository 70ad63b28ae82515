"""Validate the twin eval files lex.jsonl, outside.jsonl and off_limits.jsonl.

    python eval/twin/check_lex_outside.py [--corpus DIR]

Checks, per file and case:
  * JSON per line, required and allowed fields per kind, ids unique across the three files
    (and not clashing with any other *.jsonl in this folder, which is only read);
  * split rules: lex.jsonl is all "measure"; a lenny persona's episode file decides the split
    (train files -> "tune", every 5th sorted file -> "measure"); lex personas only in "measure";
  * persona names: lex guests, the `guest:` front matter of the lenny source file, or
    "Lenny Rachitsky";
  * answer / false_premise: quote is an exact substring of the source (15-50 words), fact an
    exact 2-6 word substring of the quote, wrong an exact substring of the question that the
    quote does not contain;
  * outside: every absent_terms entry is absent (whole word, simple plural, case-insensitive)
    from what the persona said on the record: the whole episode file for a lenny guest, every
    Lenny turn in the lenny corpus for the host, every transcript of that guest for lex; and at
    least one of them occurs in the question;
  * off_limits: the question contains no word of any off-limits topic (whole words, simple
    plural) nor any banned_words entry; follow-ups have a 1-2 item history that names the topic
    and a short final question; allowed cases have a source, a quote said by the persona, and a
    question free of the topic words;
  * the expected counts per file, kind and split.
Exit status 1 when anything fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILES = ("lex.jsonl", "outside.jsonl", "off_limits.jsonl")
LEX_GUESTS = ("Elon Musk", "Mark Zuckerberg", "Wojciech Zaremba", "Manolis Kellis")
HOST = "Lenny Rachitsky"
ACCEPTANCE = ("Elon Musk", ("war",), "what makes people fight each other?")

COMMON = ("id", "split", "kind", "persona", "question")
FIELDS = {  # kind -> (required, optional)
    "answer": (COMMON + ("source", "quote", "fact"), ()),
    "false_premise": (COMMON + ("source", "quote", "fact", "wrong"), ()),
    "outside": (COMMON + ("absent_terms",), ("source", "hard")),
    "off_limits": (COMMON + ("off_limits",), ("history", "source", "phrasing", "banned_words")),
    "allowed": (COMMON + ("off_limits", "source"), ("quote", "near_miss")),
}
FILE_KINDS = {
    "lex.jsonl": {"answer", "false_premise", "outside"},
    "outside.jsonl": {"outside"},
    "off_limits.jsonl": {"off_limits", "allowed"},
}
PHRASINGS = {"direct", "paraphrased", "indirect", "follow_up"}
STOP = {"a", "an", "the", "their", "his", "her", "its", "my", "your", "our", "of", "and", "or",
        "to", "in", "on", "for", "with", "being", "getting"}
IRREGULAR = {"child": "children", "person": "people", "man": "men", "woman": "women",
             "wife": "wives", "life": "lives"}
IRREGULAR.update({v: k for k, v in list(IRREGULAR.items())})
LABEL = re.compile(r"^([^\n()]{1,60}) \((?:\d\d:)?\d\d:\d\d\):\s*$")
BARE_LABEL = re.compile(r"^\((?:\d\d:)?\d\d:\d\d\):\s*$")


# ---------------------------------------------------------------- corpus helpers
def corpus_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if os.environ.get("PODTWIN_CORPUS"):
        return Path(os.environ["PODTWIN_CORPUS"])
    return ROOT.parent / "shared" / "corpus"


class Corpus:
    def __init__(self, base: Path):
        self.base = base
        self.lenny = sorted((base / "lenny").glob("*.md"), key=lambda p: p.name)
        self.lex = sorted((base / "lex").glob("*.txt"), key=lambda p: p.name)
        if not self.lenny or not self.lex:
            sys.exit(f"no corpus under {base} (use --corpus or $PODTWIN_CORPUS)")
        self.split = {p.name: ("measure" if i % 5 == 4 else "tune") for i, p in enumerate(self.lenny)}
        self._text: dict[str, str] = {}
        self._host: str | None = None
        self.lex_files: dict[str, list[str]] = collections.defaultdict(list)
        for p in self.lex:  # which guest a transcript is with, from its opening line
            head = self.text(f"lex/{p.name}")[:400].lower()
            for g in LEX_GUESTS:
                if g.lower() in head:
                    self.lex_files[g].append(f"lex/{p.name}")

    def text(self, rel: str) -> str:
        if rel not in self._text:
            self._text[rel] = (self.base / rel).read_text(encoding="utf-8")
        return self._text[rel]

    def exists(self, rel: str) -> bool:
        return (self.base / rel).is_file()

    def guest(self, rel: str) -> str | None:
        m = re.search(r"^guest:\s*(.+?)\s*$", self.text(rel), re.M)
        return m.group(1).strip("'\"") if m else None

    def turns(self, rel: str) -> list[tuple[str, str]]:
        cur, out = None, []
        for line in self.text(rel).splitlines():
            m = LABEL.match(line)
            if m:
                cur = m.group(1).strip()
                continue
            if BARE_LABEL.match(line) or not line.strip():
                continue
            if cur:
                out.append((cur, line.strip()))
        return out

    def host_text(self) -> str:
        if self._host is None:
            parts = []
            for p in self.lenny:
                parts += [t for sp, t in self.turns(f"lenny/{p.name}") if sp.lower().startswith("lenny")]
            self._host = "\n".join(parts)
        return self._host


# ---------------------------------------------------------------- word matching
def forms(word: str) -> set[str]:
    w = word.lower()
    out = {w, w + "s", w + "es"}
    if w.endswith("ies"):
        out.add(w[:-3] + "y")
    if w.endswith("es"):
        out.add(w[:-2])
    if w.endswith("s"):
        out.add(w[:-1])
    if w.endswith("y"):
        out.add(w[:-1] + "ies")
    if w in IRREGULAR:
        out.add(IRREGULAR[w])
    return out


def phrase_re(phrase: str) -> re.Pattern:
    """Whole-word, case-insensitive match of a word or phrase; the last word may take s/es."""
    words = phrase.split()
    body = r"[\s-]+".join(re.escape(w) for w in words)
    return re.compile(r"(?<![\w])" + body + r"(?:s|es)?(?![\w])", re.I)


def has_phrase(text: str, phrase: str) -> bool:
    return bool(phrase_re(phrase).search(text))


def topic_words(topic: str) -> list[str]:
    return [w for w in re.findall(r"[\w'-]+", topic.lower()) if w not in STOP]


def topic_hits(text: str, topics: list[str], banned: list[str] = ()) -> list[str]:
    hits = []
    for t in topics:
        for w in topic_words(t):
            hits += [f for f in sorted(forms(w)) if has_phrase(text, f)]
    hits += [b for b in banned if has_phrase(text, b)]
    return sorted(set(hits))


def nwords(s: str) -> int:
    return len(s.split())


# ---------------------------------------------------------------- checks
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", help="corpus folder with lenny/ and lex/ (default $PODTWIN_CORPUS or ../shared/corpus)")
    args = ap.parse_args()
    corpus = corpus_dir(args.corpus)
    C = Corpus(corpus)
    errors: list[str] = []
    cases: dict[str, list[dict]] = {}

    def err(case, msg):
        errors.append(f"{case.get('_file')}:{case.get('_line')} {case.get('id')}: {msg}")

    for name in FILES:
        path = HERE / name
        rows = []
        if not path.exists():
            errors.append(f"{name}: missing")
        else:
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as e:
                    errors.append(f"{name}:{i}: bad JSON ({e})")
                    continue
                if not isinstance(d, dict):
                    errors.append(f"{name}:{i}: not an object")
                    continue
                d["_file"], d["_line"] = name, i
                rows.append(d)
        cases[name] = rows

    # ids: unique across the three files, and no clash with other jsonl files here (read only)
    seen: dict[str, str] = {}
    for name, rows in cases.items():
        for d in rows:
            cid = d.get("id")
            if not isinstance(cid, str) or not cid:
                err(d, "id missing")
                continue
            if cid in seen:
                err(d, f"duplicate id (also in {seen[cid]})")
            seen[cid] = f"{name}:{d['_line']}"
    for other in sorted(HERE.glob("*.jsonl")):
        if other.name in FILES:
            continue
        for line in other.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                oid = json.loads(line).get("id")
            except (json.JSONDecodeError, AttributeError):
                continue
            if oid in seen:
                errors.append(f"id {oid} ({seen[oid]}) also used in {other.name}")

    for name, rows in cases.items():
        for d in rows:
            kind = d.get("kind")
            if kind not in FILE_KINDS[name]:
                err(d, f"kind {kind!r} not allowed in {name}")
                continue
            req, opt = FIELDS[kind]
            missing = [f for f in req if d.get(f) in (None, "", [])]
            extra = [f for f in d if not f.startswith("_") and f not in req and f not in opt]
            if missing:
                err(d, f"missing fields {missing}")
                continue
            if extra:
                err(d, f"unexpected fields {extra}")
            if d["split"] not in ("tune", "measure"):
                err(d, f"bad split {d['split']!r}")
            if not isinstance(d["question"], str) or not d["question"].strip().endswith("?"):
                err(d, "question should be a string ending with '?'")
            check_persona(C, d, err)
            check_kind(C, d, err)

    check_counts(cases, errors)
    report(cases, errors)
    return 1 if errors else 0


def check_persona(C: Corpus, d: dict, err) -> None:
    persona, split, src = d["persona"], d["split"], d.get("source")
    if d["_file"] == "lex.jsonl" and split != "measure":
        err(d, "lex.jsonl cases must all be split 'measure'")
    if persona in LEX_GUESTS:
        if split != "measure":
            err(d, "lex personas are measure-only")
        if src is not None and src not in C.lex_files[persona]:
            err(d, f"source {src} is not a transcript with {persona} ({C.lex_files[persona]})")
        return
    if d["_file"] == "lex.jsonl":
        err(d, f"persona {persona!r} is not a lex guest")
        return
    if not src:
        err(d, "lenny persona needs a source episode file")
        return
    if not (src.startswith("lenny/") and C.exists(src)):
        err(d, f"source {src} not found in the lenny corpus")
        return
    want = "tune" if C.split[Path(src).name] == "tune" else "measure"
    if split != want:
        err(d, f"split {split!r} but {src} is in the {want} part")
    if persona != HOST and C.guest(src) != persona:
        err(d, f"persona {persona!r} != guest field {C.guest(src)!r} of {src}")


def persona_record(C: Corpus, d: dict) -> tuple[str, str]:
    """What the persona said on the record, as (text, description)."""
    p = d["persona"]
    if p in LEX_GUESTS:
        fs = C.lex_files[p]
        return "\n".join(C.text(f) for f in fs), "+".join(fs)
    if p == HOST:
        return C.host_text(), "all Lenny turns"
    return C.text(d["source"]), d["source"]


def check_kind(C: Corpus, d: dict, err) -> None:
    kind, q = d["kind"], d["question"]
    if kind in ("answer", "false_premise"):
        text = C.text(d["source"])
        quote, fact = d["quote"], d["fact"]
        if quote not in text:
            err(d, "quote is not an exact substring of the source")
        if not 15 <= nwords(quote) <= 50:
            err(d, f"quote has {nwords(quote)} words (15-50)")
        if fact not in quote:
            err(d, "fact is not an exact substring of the quote")
        if not 2 <= nwords(fact) <= 6:
            err(d, f"fact has {nwords(fact)} words (2-6)")
        if kind == "false_premise":
            wrong = d["wrong"]
            if wrong not in q:
                err(d, "wrong is not an exact substring of the question")
            if wrong.lower() in quote.lower():
                err(d, "the quote repeats the wrong element")
    elif kind == "outside":
        terms = d["absent_terms"]
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            err(d, "absent_terms must be a list of strings")
            return
        if d["_file"] == "outside.jsonl" and "source" not in d:
            err(d, "outside.jsonl cases need a source")
        if "hard" in d and d["hard"] is not True:
            err(d, "hard must be true when present")
        record, where = persona_record(C, d)
        found = [t for t in terms if has_phrase(record, t)]
        if found:
            err(d, f"absent_terms {found} occur in {where}")
        if not any(t.lower() in q.lower() for t in terms):
            err(d, "none of the absent_terms occurs in the question")
    elif kind in ("off_limits", "allowed"):
        topics = d["off_limits"]
        if not (isinstance(topics, list) and 1 <= len(topics) <= 3
                and all(isinstance(t, str) and 1 <= nwords(t) <= 4 for t in topics)):
            err(d, "off_limits must be a list of 1-3 short topics")
            return
        banned = d.get("banned_words", [])
        if not isinstance(banned, list):
            err(d, "banned_words must be a list")
            banned = []
        hits = topic_hits(q, topics, banned)
        if hits:
            err(d, f"question contains off-limits words {hits}")
        if kind == "off_limits":
            hist = d.get("history")
            phr = d.get("phrasing")
            if phr is not None and phr not in PHRASINGS:
                err(d, f"phrasing {phr!r} not in {sorted(PHRASINGS)}")
            if hist is not None:
                if not (isinstance(hist, list) and 1 <= len(hist) <= 2 and all(isinstance(h, str) and h.strip() for h in hist)):
                    err(d, "history must be a list of 1-2 questions")
                elif not topic_hits(" ".join(hist), topics):
                    err(d, "history does not establish the topic (no topic word in it)")
                if nwords(q) > 12:
                    err(d, "follow-up question should be short and vague on its own (<= 12 words)")
                if phr not in (None, "follow_up"):
                    err(d, "a case with history should have phrasing 'follow_up'")
            elif phr == "follow_up":
                err(d, "phrasing 'follow_up' needs a history")
        else:
            quote = d.get("quote")
            if quote is not None:
                if quote not in C.text(d["source"]):
                    err(d, "quote is not an exact substring of the source")
                elif d["persona"] not in LEX_GUESTS and d["persona"] != HOST:
                    said = any(quote in t for sp, t in C.turns(d["source"]) if not sp.lower().startswith("lenny"))
                    if not said:
                        err(d, "quote is not inside a turn of the guest")


def check_counts(cases: dict, errors: list[str]) -> None:
    def count(rows, **kw):
        return sum(all(r.get(k) == v for k, v in kw.items()) for r in rows)

    def expect(label, got, want):
        if got != want:
            errors.append(f"count {label}: {got}, expected {want}")

    lex = cases["lex.jsonl"]
    expect("lex answer", count(lex, kind="answer"), 12)
    for g in LEX_GUESTS:
        expect(f"lex answer {g}", count(lex, kind="answer", persona=g), 3)
    expect("lex false_premise", count(lex, kind="false_premise"), 4)
    expect("lex outside", count(lex, kind="outside"), 6)
    out = cases["outside.jsonl"]
    for s in ("tune", "measure"):
        expect(f"outside {s}", count(out, split=s), 30)
        if not count(out, split=s, persona=HOST):
            errors.append(f"outside {s}: no {HOST} case")
    expect("outside hard", count(out, hard=True), 15)
    off = cases["off_limits.jsonl"]
    for s, fu in (("tune", 3), ("measure", 2)):
        expect(f"off_limits {s} off_limits", count(off, split=s, kind="off_limits"), 20)
        expect(f"off_limits {s} allowed", count(off, split=s, kind="allowed"), 10)
        expect(f"off_limits {s} follow-ups", sum(1 for r in off if r.get("split") == s and r.get("history")), fu)
    acc = [r for r in off if r.get("persona") == ACCEPTANCE[0] and tuple(r.get("off_limits") or ()) == ACCEPTANCE[1]
           and r.get("question") == ACCEPTANCE[2]]
    if len(acc) != 1 or acc[0].get("split") != "measure" or acc[0].get("kind") != "off_limits":
        errors.append(f"acceptance example must occur exactly once as a measure off_limits case (found {len(acc)})")


def report(cases: dict, errors: list[str]) -> None:
    for name, rows in cases.items():
        c = collections.Counter((r.get("kind"), r.get("split")) for r in rows)
        parts = ", ".join(f"{k}/{s}={n}" for (k, s), n in sorted(c.items()))
        extra = ""
        if name == "outside.jsonl":
            extra = f"; hard={sum(1 for r in rows if r.get('hard'))}"
        if name == "off_limits.jsonl":
            extra = f"; follow-ups={sum(1 for r in rows if r.get('history'))}"
        print(f"{name}: {len(rows)} cases ({parts}){extra}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
    else:
        print("OK: all checks passed")


if __name__ == "__main__":
    sys.exit(main())

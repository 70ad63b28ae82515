"""Twin evaluation cases (eval/twin/*.jsonl): reading them and judging answers.

Each case is a JSON object with id, split ("tune" or "measure"), kind, persona, question
and, by kind:

* answer: source, quote (the persona's exact words that answer it), fact (the key words);
* false_premise: as answer, plus wrong (the false element the question asserts);
* other_speaker: source, quote and speaker: someone else said it in the persona's episode;
* outside: nothing on the record answers it;
* off_limits / allowed: off_limits topics to set, and for follow-ups a history.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from podtwin.errors import PodtwinError

if TYPE_CHECKING:
    from podtwin.store.library import Library
    from podtwin.twin.persona import Persona

__all__ = ["KINDS", "case_persona", "load_cases", "mentions", "quote_overlaps"]

KINDS = ("answer", "false_premise", "other_speaker", "outside", "off_limits", "allowed")
REQUIRED = {
    "answer": ("source", "quote", "fact"),
    "false_premise": ("source", "quote", "fact", "wrong"),
    "other_speaker": ("source", "quote", "speaker"),
    "outside": (),
    "off_limits": ("off_limits",),
    "allowed": ("off_limits",),
}


def load_cases(paths: list[Path], split: str | None = None) -> list[dict]:
    """Cases from JSONL files, checked; with split, only that split's."""
    cases: list[dict] = []
    seen: set[str] = set()
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise PodtwinError(f"{path}: cannot read ({e.strerror})") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as e:
                raise PodtwinError(f"{path}:{n}: not JSON ({e.msg})") from None
            missing = [k for k in ("id", "split", "kind", "persona", "question") if not case.get(k)]
            kind = case.get("kind")
            if not missing and kind not in KINDS:
                raise PodtwinError(f"{path}:{n}: unknown kind {kind!r}")
            missing += [k for k in REQUIRED.get(kind, ()) if not case.get(k)]
            if missing:
                raise PodtwinError(f"{path}:{n}: missing {', '.join(missing)}")
            if case["id"] in seen:
                raise PodtwinError(f"{path}:{n}: id {case['id']!r} used twice")
            seen.add(case["id"])
            if split is None or case["split"] == split:
                cases.append(case)
    return cases


_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w%]+")


def _norm(text: str) -> str:
    return _WS.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


def quote_overlaps(citation: dict, case: dict, corpus: Path) -> bool:
    """Does a citation cover (part of) the case's quote, at its place in the source file?"""
    source = Path(case["source"]).name
    if Path(citation["source_file"]).name != source:
        return False
    try:
        text = (corpus / case["source"]).read_text(encoding="utf-8")
    except OSError:
        return False
    at = text.find(case["quote"])
    if at < 0:
        return False
    return citation["start_char"] < at + len(case["quote"]) and at < citation["end_char"]


def mentions(answer: str, phrase: str) -> bool:
    """Does the answer contain the phrase (ignoring case, punctuation and spacing)?"""
    return _norm(phrase) in _norm(answer)


def case_persona(library: Library, case: dict) -> Persona | None:
    """The case's persona as the library stores it, with the case's off-limits topics set;
    None when the library has no such person."""
    from podtwin.errors import PersonNotFound
    from podtwin.twin.persona import Persona, load_persona

    try:
        persona = load_persona(library.db, case["persona"])
    except PersonNotFound:
        return None
    if case.get("off_limits"):
        persona = Persona(**{**persona.__dict__, "off_limits": list(case["off_limits"])})
    return persona

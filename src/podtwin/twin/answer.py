"""The extractive twin: answers as one person, from that person's recorded words only.

    ask(library, "Wojciech Zaremba", "what does an AI do when you tell it something false?")

1. The question is resolved against the conversation so far (follow-ups such as "why?"
   carry the previous question) and embedded once.
2. Policy: a question on an off-limits topic (by meaning or by word) is declined with the
   creator's text.
3. Retrieval: hybrid search over the passages the person spoke (sentence speakers are
   checked again, so no one else's words can slip in), within the persona's episodes.
4. Abstention: a logistic model over retrieval evidence (how well the person's best
   passages match, against their typical match and against what others said in the same
   episodes; how many of the question's words they used), fitted on the tune split
   (podtwin.lab.train_twin_calibration), gives P(the record answers this). Below the fitted threshold
   the twin says it hasn't talked about that, names the nearest things the person did
   talk about, and says so when someone else in the person's episodes said it.
5. Composition: one coherent answer. The person's sentence that best matches the question
   seeds the main block: the best window of 2 to 6 consecutive sentences of that turn
   (ordinary conversation only, never an intro, sponsor read, hand-off or sign-off); up to
   two "also" blocks from other turns follow when they match nearly as well. Each block is
   its own paragraph with its own citation (exact quote and offsets in the source); its
   shown text is made readable (fillers, repeated words, speech-to-text capitals). A marked
   framing line introduces each block.
6. Premise: numbers in the question that the person's matching words contradict, or a
   "you said ..." that their words do not support, are not taken up; the answer says so
   and gives what was said.

Every reply carries `why` (a Why), for the creator only: the checks that ran with their
numbers, P(in record) with its features, the candidate passages and sentences with their
scores, and each quoted sentence with its speaker confidence. It is gathered from what the
steps above compute anyway, so it costs a reply next to nothing; `Answer.as_json()`, what
listeners get, leaves it out.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import SearchError, TwinError
from podtwin.search.query import Filters, Hit, SearchIndex, query_words, search, search_index, validate_query, word_root
from podtwin.store.episodes import episode_heading
from podtwin.store.library import Library
from podtwin.store.people import all_names
from podtwin.store.sentences import (
    cached_sentence_vectors,
    keep_sentence_vectors,
    sentence_rows,
    source_hash,
    source_slice,
    source_text,
)
from podtwin.twin.corrections import Matched, matching_corrections
from podtwin.twin.persona import Persona, episode_ids, load_persona
from podtwin.twin.quoting import ANSWER_KINDS, quoting_threshold, unusable_reason
from podtwin.twin.text import case_counts, clean_spoken, display_text, numbers_in, resolve_followup

if TYPE_CHECKING:
    from podtwin.search.embed import Embedder

__all__ = [
    "Answer",
    "Check",
    "Citation",
    "TwinError",
    "Why",
    "ask",
    "evidence",
    "matching_topic",
    "paragraphs",
    "watched_topic",
]

CALIBRATION = Path(__file__).with_name("calibration.json")
LLM_UNAVAILABLE = "(The language model could not be reached, so these are the recorded words as they were said.)"
log = logging.getLogger(__name__)
CANDIDATE_PASSAGES = 8
# Span choice, set on the tune split (answer cases: 0.233 -> 0.30 hit rate): the fused
# ranking orders the passages (cosine only breaks near-ties), sentences are scored by their
# own cosine less a step per passage rank, and the person's own questions rank lower.
# (Mixing the passage's cosine into a sentence's score, and weighing 6 passages, did not
# help on tune.)
SPAN_PASSAGES = 4  # passages whose sentences are weighed for the answer
FUSED_BONUS = 1.0
RANK_PENALTY = 0.03
QUESTION_PENALTY = 0.1
# A sentence this close to the question (cosine) restates it: an answer never does. Asked
# the host's own question, a twin whose transcript gave that question to the guest would
# otherwise quote it back as the guest's words.
ECHO_COSINE = 0.9
NEAREST_TOPICS = 3
# One coherent answer: a block is a window of consecutive sentences of one turn (a single
# sentence only when the turn has no more to give), the main block first, then up to MAX_ALSO
# blocks from other turns whose windows score within ALSO_MARGIN of it. Windows are ranked by
# their word-weighted mean sentence score plus LENGTH_PRIOR for reaching TARGET_WORDS.
BLOCK_SENTENCES = (2, 6)
MAX_ALSO = 2
SEED_MARGIN = 0.15  # a sentence this far below the best one still seeds a block
ALSO_MARGIN = 0.08
LENGTH_PRIOR = 0.15
TARGET_WORDS = 60
MAIN_WORDS = 90  # the main block's longest (within the persona's max_words): room for an "also"
MIN_ALSO_WORDS = 15  # an "also" block needs this many words of the budget left
# A reply's trace stays small (it is kept with every logged question): the best candidate
# sentences only, and at most this many sentences listed per check (the rest counted).
TRACE_SENTENCES = 20
TRACE_LISTED = 20


@dataclass
class Citation:
    episode_id: int
    episode_number: int | None
    title: str | None
    speaker: str
    source_file: str
    start_char: int
    end_char: int
    start_s: float | None
    quote: str
    sentence: int | None = None  # the episode's index of the first cited sentence (deep links)
    last_sentence: int | None = None  # ... and of the last


@dataclass
class Answer:
    persona: str
    question: str
    answer: str
    abstained: bool
    declined_by_policy: bool
    citations: list[Citation]
    disclosure: str
    mode: str = "extractive"
    latency_ms: float = 0.0
    # the reply in order: {"text", "framing": bool, "citation": index or None, "block": index or None}
    # (a framing line belongs to the block it introduces; see paragraphs())
    parts: list[dict] = field(default_factory=list)
    # the answer's blocks, each its own paragraph with its own citation: {"role": "answer" or
    # "also", "text" (made readable), "quote" (the source's exact text), "citation", "n" (its number)}
    blocks: list[dict] = field(default_factory=list)
    resolved_question: str = ""
    confidence: float | None = None  # P(the record answers this), from the calibrated model
    premise_rejected: bool = False
    heard: list[dict] = field(default_factory=list)  # where others said it, in the person's episodes
    nearest_topics: list[str] = field(default_factory=list)
    # sentences of the person's matching passages left out because who spoke them is
    # uncertain (speaker confidence below the quoting threshold), and their words
    withheld_sentences: int = 0
    withheld_words: int = 0
    generated_sentences: int = 0  # generative mode: sentences the model wrote ...
    removed_sentences: int = 0  # ... and those removed as unsupported by the cited spans
    # the creator's corrections (twin.corrections): the pin that chose this answer, and the
    # blocks that kept excerpts out of it
    chosen_by_creator: bool = False
    pin_id: int | None = None
    blocks_applied: list[int] = field(default_factory=list)
    why: Why | None = field(default=None, repr=False, compare=False)  # the creator's, never in as_json

    def as_json(self) -> dict:
        """The reply as listeners get it: without `why`, which is the creator's to see."""
        d = asdict(replace(self, why=None))
        del d["why"]
        return d


@dataclass
class Check:
    """One check that ran on a reply: its name, what it decided (outcome) and the numbers it
    decided by (detail). Generic, so a new check (a creator's pins and blocks) adds its own."""

    name: str
    outcome: str
    detail: dict = field(default_factory=dict)


@dataclass
class Why:
    """Why a reply is what it is, for the creator ("look inside"); JSON-able with as_json().

    checks: those that ran, in order (disclosure, off_limits, in_record, speaker_gate,
    questions_to_you, echo, quotable, premise, generative_support, heard_elsewhere), each
    {name, outcome, detail}; in_record: P(in record), its threshold, the decision and the
    features it was computed from; candidates: the passages considered, with the fused rank,
    the lexical and dense ranks, the cosine to the question, and whether the answer was drawn
    from them (chosen) and cites them (cited); sentences: the best TRACE_SENTENCES candidate
    sentences with their cosine and score; quoted: each block's sentences with the speaker's
    confidence and what gave the speaker (a label, the structure, the model, a correction)."""

    question: str
    resolved_question: str
    checks: list[Check] = field(default_factory=list)
    in_record: dict | None = None
    candidates: list[dict] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)
    quoted: list[dict] = field(default_factory=list)

    def check(self, name: str, outcome: str, **detail) -> Check:
        """Record a check that ran (the hook every check, present or later, uses)."""
        entry = Check(name, outcome, detail)
        self.checks.append(entry)
        return entry

    def as_json(self) -> dict:
        # its parts are JSON values already, made for this reply alone: no deep copy (asdict's
        # took 2.4 ms a reply, more than the rest of the trace together)
        return {
            "question": self.question,
            "resolved_question": self.resolved_question,
            "checks": [{"name": c.name, "outcome": c.outcome, "detail": c.detail} for c in self.checks],
            "in_record": self.in_record,
            "candidates": self.candidates,
            "sentences": self.sentences,
            "quoted": self.quoted,
        }


# -- calibration ------------------------------------------------------------------------------


@dataclass
class Calibration:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float  # abstain below this P(in record)
    topic_threshold: float  # cosine to an off-limits topic at or above which the twin declines
    # a creator's watch topics raise an alert at or above this cosine, a stricter one than the
    # off-limits policy's (declining is tuned for recall; an alert that cries wolf is ignored),
    # and by word only if watch_by_word (podtwin.lab.train_watch_threshold fits both)
    watch_threshold: float
    watch_by_word: bool

    def p_in_record(self, feats: dict[str, float]) -> float:
        x = (np.array([feats[k] for k in self.features]) - self.mean) / self.scale
        return float(1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias))))


@lru_cache(maxsize=4)
def load_calibration(path: Path = CALIBRATION) -> Calibration:
    d = json.loads(path.read_text())
    return Calibration(
        d["features"],
        np.array(d["mean"]),
        np.array(d["scale"]),
        np.array(d["weights"]),
        float(d["bias"]),
        float(d["threshold"]),
        float(d["topic_threshold"]),
        float(d["watch_threshold"]),
        bool(d["watch_by_word"]),
    )


# -- evidence ---------------------------------------------------------------------------------

FEATURES = ["top_cos", "top_z", "top5_cos", "word_cover", "other_gap"]


@dataclass
class Closeness:
    """The question's cosine to every passage a filter lets through (rows of the search index,
    ascending), computed once per reply for both the evidence and the choice of passages."""

    rows: np.ndarray
    cos: np.ndarray
    index: SearchIndex  # the index they are rows of: one reply reads one index throughout

    def of(self, row: int) -> float | None:
        i = int(np.searchsorted(self.rows, row))
        return float(self.cos[i]) if i < len(self.rows) and self.rows[i] == row else None


def closeness(library: Library, filters: Filters, vector: np.ndarray, index: SearchIndex | None = None) -> Closeness:
    index = index or search_index(library)
    rows = index.rows(filters)
    rows = np.arange(len(index)) if rows is None else rows
    return Closeness(rows, cosines(index, rows, vector), index)


def cosines(index: SearchIndex, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """The question's cosine to these rows' vectors. Gathering many rows copies more memory
    than scoring every row costs (a host speaks in hundreds of episodes), so many are
    scored all at once and picked after."""
    if len(rows) > len(index) // 8:
        return (index.vectors @ vector)[rows]
    return index.vectors[rows] @ vector


def evidence(
    library: Library,
    filters: Filters,
    question: str,
    vector: np.ndarray,
    hits: list[Hit],
    near: Closeness | None = None,
) -> dict[str, float]:
    """Retrieval evidence that the person's record answers the question (calibration inputs)."""
    near = near or closeness(library, filters, vector)
    index = near.index
    rows = near.rows
    cos = near.cos if len(rows) else np.zeros(1, np.float32)
    top = np.sort(cos)[::-1]
    spread = float(cos.std()) or 1.0
    roots = {word_root(w) for w in query_words(question)}
    said: set[str] = set()
    for h in hits[:3]:
        said |= {word_root(w) for w in query_words(h.text)}
    # what the others in the person's episodes said about it, as a contrast
    episodes = tuple(int(e) for e in np.unique(index.episode[rows]))
    around = index.mask(replace(filters, speaker=None, speakers=None, episode_ids=episodes)) if episodes else None
    others = np.zeros(0, np.int64)
    if around is not None:
        mask = around.copy()  # the index keeps its own
        mask[rows] = False
        others = np.flatnonzero(mask)
    other_top = float(cosines(index, others, vector).max()) if len(others) else 0.0
    return {
        "top_cos": float(top[0]),
        "top_z": float((top[0] - cos.mean()) / spread),
        "top5_cos": float(top[:5].mean()),
        "word_cover": len(roots & said) / len(roots) if roots else 0.0,
        "other_gap": float(top[0]) - other_top,
    }


# -- the answer -------------------------------------------------------------------------------


def ask(
    library: Library,
    person: str,
    question: str,
    *,
    history: list[str] | None = None,
    persona: Persona | None = None,
    embedder: Embedder | None = None,
    calibration: Calibration | None = None,
    llm: str | None = None,
    llm_model: str | None = None,
    rerank: bool = False,
) -> Answer:
    """One reply of PERSON's twin to a question (history: earlier questions, oldest first).

    llm: an OpenAI-compatible endpoint that rewrites the chosen spans (generative mode);
    its sentences are kept only where the spans support them. rerank: the cross-encoder
    re-orders the person's candidate passages (podtwin.search.rerank); off by default, as
    it costs about 2 s an answer on 2 cores and did not beat the retriever
    (docs/benchmarks.md, issue 16)."""
    t0 = time.perf_counter()
    try:
        question = validate_query(question)
    except SearchError as e:
        raise TwinError(str(e).replace("query", "question")) from None
    persona = persona or load_persona(library.db, person)
    cal = calibration or load_calibration()
    if embedder is None:
        from podtwin.search.embed import default_embedder

        embedder = default_embedder()
    resolved = resolve_followup(question, list(history or []))
    vector = embedder.embed_query(resolved)
    reply = Answer(
        persona.person, question, "", False, False, [], persona.disclosure_text(), resolved_question=resolved
    )
    why = reply.why = Why(question, resolved)
    why.check("disclosure", "shown", text=reply.disclosure, creator_added=bool(persona.disclosure))

    matches = topic_matches(persona.off_limits, [question, resolved], vector, embedder)
    topic = first_match(matches, cal.topic_threshold)
    outcome = "declined" if topic is not None else "passed" if matches else "no topics"
    shown = [{**m, "cosine": round(m["cosine"], 4)} for m in matches]
    why.check("off_limits", outcome, topic=topic, threshold=cal.topic_threshold, topics=shown)
    if topic is not None:
        reply.declined_by_policy = True
        reply.answer = persona.decline_text()
        reply.parts = [{"text": reply.answer, "framing": True, "citation": None, "block": None}]
        return _done(reply, t0)
    # the creator's pins and blocks, after the policy and before retrieval
    corrections = matching_corrections(library.db, persona.person, resolved, vector, embedder)
    pinned = _pinned(library, reply, persona, corrections) if corrections.pin is not None else None
    why.check(
        "creator_pins",
        "pinned" if pinned else "blocked" if corrections.blocks else "none matched",
        pin=_traced_correction(corrections.pin) if corrections.pin else None,
        unusable=[{**_traced_correction(c), "why": reason} for c, reason in corrections.unusable],
        blocks=[_traced_correction(b) for b in corrections.blocks],
    )
    if pinned is not None:
        return _done(pinned, t0)
    reply.blocks_applied = [b["id"] for b in corrections.blocks]

    filters = Filters(speaker=persona.person, episode_ids=episode_ids(library, persona), kinds=ANSWER_KINDS)
    index = search_index(library)  # read once: every step of this reply works on the same index
    try:
        hits = search(
            library, resolved, filters, limit=CANDIDATE_PASSAGES, vector=vector, rerank=rerank, index=index
        ).hits
    except SearchError as e:
        raise TwinError(str(e)) from None
    near = closeness(library, filters, vector, index)
    feats = evidence(library, filters, resolved, vector, hits, near) if hits else None
    reply.confidence = round(cal.p_in_record(feats), 4) if feats else 0.0
    answers = bool(hits) and reply.confidence >= cal.threshold
    why.in_record = {
        "p": reply.confidence,
        "threshold": cal.threshold,
        "decision": "answer" if answers else "abstain",
        "features": {k: round(v, 4) for k, v in (feats or {}).items()},
        "passages": len(hits),  # none found: nothing to compute P(in record) from
    }
    why.check("in_record", "answered" if answers else "abstained", p=reply.confidence, threshold=cal.threshold)
    if not answers:
        why.candidates = _traced_candidates([(h, near_cosine(near, h), None) for h in hits], hits, [], [])
        return _done(_abstain(library, reply, persona, filters, resolved, vector, hits, cal, index), t0)

    considered = _span_candidates(library, near, hits)
    chosen = [h for h, _, _ in considered[:SPAN_PASSAGES]]
    spans = choose_spans(library, persona, chosen, vector, embedder, reply, why, corrections.blocked())
    why.candidates = _traced_candidates(considered, hits, chosen, spans)
    why.check("quotable", "passed" if spans else "abstained", blocks=len(spans))
    if not spans:
        return _done(_abstain(library, reply, persona, filters, resolved, vector, hits, cal, index), t0)
    why.quoted = [_traced_block(n, span) for n, span in enumerate(spans, 1)]
    said = " ".join(s["text"] for s in spans)
    reply.premise_rejected = premise_contradicted(question, said)
    asked = sorted(numbers_in(question))
    outcome = "rejected" if reply.premise_rejected else "passed" if asked else "no numbers"
    why.check("premise", outcome, asked=asked, said=sorted(numbers_in(said)) if asked else [])
    where = _where(spans[0])
    framing = (
        f"That's not quite what I said. Here is what I did say{where}:"
        if reply.premise_rejected
        else f"Here is what I said{where}:"
    )
    reply.parts.append({"text": framing, "framing": True, "citation": None, "block": 0})
    for i, span in enumerate(spans):
        reply.citations.append(span["citation"])
        if i:
            reply.parts.append({"text": _also(spans[0], span, persona), "framing": True, "citation": None, "block": i})
        reply.parts.append({"text": span["text"], "framing": False, "citation": i, "block": i})
    unavailable = False
    if llm:
        from podtwin.errors import LLMError
        from podtwin.twin.generate import MIN_COSINE, MIN_KEPT_SHARE, MIN_WORD_SHARE, grounded_rewrite, redacted

        try:
            rewrite = grounded_rewrite(llm, persona.person, question, [x["text"] for x in spans], embedder, llm_model)
        except LLMError as e:  # the recorded words still answer; the reply says why they are not rewritten
            log.warning("language model at %s: %s; answering extractively", redacted(llm), e)
            reply.mode, unavailable = "extractive (language model unavailable)", True
            why.check("generative_support", "unavailable", error=str(e))
        else:
            reply.generated_sentences = rewrite.generated_sentences
            reply.removed_sentences = rewrite.removed_sentences
            if rewrite.fell_back:
                reply.mode = "extractive (generated answer not supported)"
            else:
                reply.mode = "generative"
                written = [{**p, "block": p["citation"]} for p in rewrite.parts]
                reply.parts = [{**reply.parts[0], "block": written[0]["block"]}, *written]
            outcome = "fell back" if rewrite.fell_back else "removed" if rewrite.removed_sentences else "kept"
            why.check(
                "generative_support", outcome, generated=rewrite.generated_sentences,
                removed=rewrite.removed_sentences, min_cosine=MIN_COSINE, min_word_share=MIN_WORD_SHARE,
                min_kept_share=MIN_KEPT_SHARE, removed_sentences=rewrite.removed_texts[:TRACE_LISTED],
            )  # fmt: skip
    reply.blocks = _blocks(reply)
    if reply.withheld_sentences:
        reply.parts.append({"text": _withheld_note(reply), "framing": True, "citation": None, "block": None})
    if unavailable:
        reply.parts.append({"text": LLM_UNAVAILABLE, "framing": True, "citation": None, "block": None})
    reply.answer = "\n\n".join(" ".join(p["text"] for p in para) for para in paragraphs(reply.parts))
    return _done(reply, t0)


# -- the trace ----------------------------------------------------------------------------


def near_cosine(near: Closeness, hit: Hit) -> float | None:
    """A passage's cosine to the question, from the reply's Closeness (None: outside its filter)."""
    return near.of(int(np.searchsorted(near.index.ids, hit.passage_id)))


def _label(hit: Hit) -> str:
    return f"#{hit.episode_number}" if hit.episode_number else (hit.title or f"episode {hit.episode_id}")


def _traced_candidates(
    considered: list[tuple[Hit, float | None, float | None]], hits: list[Hit], chosen: list[Hit], spans: list[dict]
) -> list[dict]:
    """The passages a reply considered, in the order it weighed them: search's fused results and
    the nearest by embedding alone (fused_rank None), with the ranks and scores it had."""
    fused = {h.passage_id: r for r, h in enumerate(hits, 1)}
    picked = {h.passage_id for h in chosen}
    cited = {s["passage_id"] for s in spans}
    out = []
    for h, cos, order in considered:
        words = h.text.split()
        out.append(
            {
                "passage_id": h.passage_id,
                "episode_id": h.episode_id,
                "episode": _label(h),
                "first_sentence": h.first_sentence,
                "last_sentence": h.last_sentence,
                "fused_rank": fused.get(h.passage_id),
                "fused_score": round(h.score, 5) if h.passage_id in fused else None,
                "lexical_rank": h.lexical_rank,
                "dense_rank": h.dense_rank,
                "rerank_score": None if h.rerank_score is None else round(h.rerank_score, 4),
                "cosine": None if cos is None else round(cos, 4),
                "order_score": None if order is None else round(order, 4),  # fused rank and cosine, as weighed
                "chosen": h.passage_id in picked,  # its sentences were weighed for the answer
                "cited": h.passage_id in cited,  # a block of the answer grew from it
                "text": " ".join(words[:30]) + (" …" if len(words) > 30 else ""),
            }
        )
    return out


def _traced_block(n: int, span: dict) -> dict:
    """A quoted block's sentences, each with who spoke it, how sure, and what said so."""
    c = span["citation"]
    return {
        "n": n,
        "role": "also" if n > 1 else "answer",
        "episode_id": c.episode_id,
        "passage_id": span["passage_id"],
        "score": round(span["score"], 4),
        "sentences": [
            {
                "sentence": r.idx,
                "text": r.text,
                "speaker": r.speaker,
                "confidence": r.confidence,  # as stored (1.0 where a label or the structure gave it)
                "given_by": r.origin,  # label, structure, model or correction (None: no turn recorded)
                "by_model": r.by_model,
            }
            for r in span["rows"]
        ],
    }


def _traced_row(row: _Row, episode_id: int, **extra) -> dict:
    return {"episode_id": episode_id, "sentence": row.idx, "text": row.text, **extra}


def paragraphs(parts: list[dict]) -> list[list[dict]]:
    """The reply's parts as paragraphs: one per block (with the framing that introduces it), and
    each part outside a block (a note, an abstention) a paragraph of its own."""
    out: list[list[dict]] = []
    for part in parts:
        block = part.get("block")
        if out and block is not None and out[-1][-1].get("block") == block:
            out[-1].append(part)
        else:
            out.append([part])
    return out


def _blocks(reply: Answer) -> list[dict]:
    """The blocks of a reply: each cited span's shown text (in generative mode, the sentences
    written from it), its exact quote and its citation; the first answers, the others are "also"."""
    texts: dict[int, list[str]] = {}
    for part in reply.parts:
        if not part["framing"] and part["citation"] is not None:
            texts.setdefault(part["citation"], []).append(part["text"])
    return [
        {
            "role": "also" if k else "answer",
            "text": " ".join(texts[i]),
            "quote": reply.citations[i].quote,
            "citation": reply.citations[i],
            "n": i + 1,
        }
        for k, i in enumerate(sorted(texts))
    ]


def _pinned(library: Library, reply: Answer, persona: Persona, corrections: Matched) -> Answer | None:
    """The reply the creator chose: the pinned excerpt, cited like any answer and said to be the
    creator's choice. None when its words can no longer answer as the person's (moved to
    someone else by a re-attribution since, or their speaker now uncertain): the twin then
    answers on its own, and the pin is listed as unusable with the reason."""
    pin = corrections.pin
    assert pin is not None
    raw = sentence_rows(library.db, pin["episode_id"], pin["first_sentence"], pin["last_sentence"])
    reason = "its words are no longer there" if [r[5] for r in raw] != pin["sentences"] else None
    reason = reason or unusable_reason(raw, persona.person)
    if reason is not None:
        corrections.unusable.append((pin, reason))
        log.info("pin %s of %s not used: %s", pin["id"], persona.person, reason)
        return None
    rows = [_Row(*r[:9], bool(r[9]), *r[10:]) for r in raw]
    heading = episode_heading(library.db, pin["episode_id"])
    hit = _PinnedAt(pin["episode_id"], *heading)
    gate = _Gate(library, persona, np.zeros(1, np.float32), None, set())
    span = _span(library.db, hit, rows, gate)
    if span is None:
        return None
    reply.chosen_by_creator, reply.pin_id, reply.confidence = True, pin["id"], None
    if reply.why is not None:
        reply.why.quoted = [_traced_block(1, {**span, "score": corrections.pin_score or 0.0})]
    reply.citations = [span["citation"]]
    framing = f"Here is what I said{_where(span)}. The creator of this twin chose it as the answer to this question:"
    reply.parts = [
        {"text": framing, "framing": True, "citation": None, "block": 0},
        {"text": span["text"], "framing": False, "citation": 0, "block": 0},
    ]
    reply.blocks = _blocks(reply)
    reply.answer = "\n\n".join(" ".join(p["text"] for p in para) for para in paragraphs(reply.parts))
    return reply


def _traced_correction(c: dict) -> dict:
    """A pin or block as the trace shows it: which, for what question, how close, which words."""
    keep = ("id", "kind", "question", "score", "episode_id", "first_sentence", "last_sentence")
    return {k: c.get(k) for k in keep}


@dataclass(frozen=True)
class _PinnedAt:
    """Where a pinned excerpt is, as _span reads a search hit."""

    episode_id: int
    episode_number: int | None
    title: str | None
    passage_id: int | None = None  # a pin names sentences, not a passage


def _done(reply: Answer, t0: float) -> Answer:
    reply.latency_ms = round((time.perf_counter() - t0) * 1000, 1)
    return reply


def _withheld_note(reply: Answer) -> str:
    n = reply.withheld_sentences
    return (
        f"(I left out {n} sentence{'s' if n != 1 else ''} from these conversations: "
        "the transcript does not say for sure that I said them.)"
    )


def _also(main: dict, span: dict, persona: Persona) -> str:
    """The line that introduces an "also" block: where else the person said it."""
    a, c = main["citation"], span["citation"]
    if c.episode_id == a.episode_id:
        text = f"{'Later' if (c.sentence or 0) > (a.sentence or 0) else 'Earlier'} in that conversation:"
    else:
        text = f"I also said{_where(span)}:"
    if persona.style == "conversational":
        text = "And " + (text if text.startswith("I ") else text[0].lower() + text[1:])
    return text


def _where(span: dict) -> str:
    c = span["citation"]
    if c.episode_number:
        return f" (episode #{c.episode_number}{': ' + c.title if c.title else ''})"
    return f" ({c.title})" if c.title else ""


# -- policy -----------------------------------------------------------------------------------


def off_limits_topic(
    persona: Persona, questions: list[str], vector: np.ndarray, embedder: Embedder, cal: Calibration
) -> str | None:
    """The off-limits topic a question touches, by word or by meaning, if any."""
    return matching_topic(persona.off_limits, questions, vector, embedder, cal.topic_threshold)


def watched_topic(
    topics: list[str], questions: list[str], vector: np.ndarray, embedder: Embedder, cal: Calibration
) -> str | None:
    """The creator's watch topic a question touches, if any (a webhook's `watched_topic` event):
    by meaning at the watch threshold, by word only if the fit found that it helps (it fires on
    a word's other senses, "office politics" for "politics")."""
    return matching_topic(topics, questions, vector, embedder, cal.watch_threshold, by_word=cal.watch_by_word)


def matching_topic(
    topics: list[str],
    questions: list[str],
    vector: np.ndarray,
    embedder: Embedder,
    threshold: float,
    *,
    by_word: bool = True,
) -> str | None:
    """The first of the topics the question touches, if any: every word of the topic in the
    question (by_word), or a cosine of at least `threshold` (topic_closeness).

    questions: the question as asked, then as resolved against the conversation (the last);
    vector: the resolved question's embedding."""
    return first_match(topic_matches(topics, questions, vector, embedder), threshold, by_word=by_word)


def topic_matches(topics: list[str], questions: list[str], vector: np.ndarray, embedder: Embedder) -> list[dict]:
    """How close the question is to each topic: {topic, word_match (every word of the topic is
    among the question's), cosine (topic_closeness)}; the trace shows them."""
    if not topics:
        return []
    named = set(named_topics(topics, questions))
    cosines = topic_closeness(topics, questions, vector, embedder)
    return [{"topic": t, "word_match": t in named, "cosine": float(c)} for t, c in zip(topics, cosines)]


def first_match(matches: list[dict], threshold: float, *, by_word: bool = True) -> str | None:
    """The topic the question touches: the first named by word (by_word), else the first close in meaning."""
    if by_word:
        named = next((m["topic"] for m in matches if m["word_match"]), None)
        if named is not None:
            return named
    return next((m["topic"] for m in matches if m["cosine"] >= threshold), None)


def named_topic(topics: list[str], questions: list[str]) -> str | None:
    """The first topic every meaningful word of which (by root) the questions use."""
    return next(iter(named_topics(topics, questions)), None)


def named_topics(topics: list[str], questions: list[str]) -> list[str]:
    """The topics every meaningful word of which (by root) the questions use, in order."""
    roots = {word_root(w) for q in questions for w in query_words(q)}
    out = []
    for topic in topics:
        topic_roots = {word_root(w) for w in query_words(topic)}
        if topic_roots and topic_roots <= roots:
            out.append(topic)
    return out


def topic_closeness(topics: list[str], questions: list[str], vector: np.ndarray, embedder: Embedder) -> np.ndarray:
    """Each topic's cosine to the question: the higher of the resolved question's (vector) and,
    when the conversation changed it, the question as asked."""
    vectors = [vector] + ([embedder.embed_query(q) for q in questions[:1]] if questions[0] != questions[-1] else [])
    matrix = topic_vectors(embedder, tuple(topics))
    return np.max(np.stack([matrix @ v for v in vectors]), axis=0)


# A topic is embedded inside a sentence, as a question would carry it (chosen on the tune
# probes: AUC 0.95 against 0.935 for the bare topic; on the watch topics' tune examples 0.85
# against 0.79).
TOPIC_TEMPLATE = "Let's talk about {}."


@lru_cache(maxsize=256)
def topic_vectors(embedder: Embedder, topics: tuple[str, ...]) -> np.ndarray:
    """The vectors of a list of topics (off-limits or watched), once per list."""
    return embedder.embed([TOPIC_TEMPLATE.format(t) for t in topics])


# -- abstaining -------------------------------------------------------------------------------


def _abstain(
    library: Library, reply: Answer, persona: Persona, filters: Filters, question, vector, hits, cal, index: SearchIndex
) -> Answer:
    reply.abstained = True
    text = "I haven't talked about that on the record."
    if reply.withheld_sentences:
        text = (
            "I can't answer that from the record with confidence: the passages that might answer it are "
            "ones where the transcript does not say for sure that I was the one speaking."
        )
    reply.nearest_topics = nearest_topics(hits)
    # did someone else in the person's episodes say it? then it is theirs, not the person's
    eps = tuple(sorted({h.episode_id for h in hits})) or filters.episode_ids
    others = Filters(episode_ids=eps, kinds=ANSWER_KINDS) if eps else None
    if others is not None:
        found = [
            h
            for h in search(library, question, others, limit=5, vector=vector, index=index).hits
            if h.speaker and h.speaker != persona.person
        ]
        if found:
            theirs = Filters(speaker=found[0].speaker, episode_ids=eps)
            feats = evidence(library, theirs, question, vector, found, closeness(library, theirs, vector, index))
            p_theirs = cal.p_in_record(feats)
            if reply.why is not None:
                named = "named" if p_theirs >= cal.threshold else "none"
                reply.why.check("heard_elsewhere", named, speaker=found[0].speaker, p=round(p_theirs, 4),
                                threshold=cal.threshold, passage_id=found[0].passage_id)  # fmt: skip
            if p_theirs >= cal.threshold:
                h = found[0]
                reply.heard.append(
                    {
                        "speaker": h.speaker,
                        "episode_id": h.episode_id,
                        "episode_number": h.episode_number,
                        "title": h.title,
                        "start_char": h.start_char,
                        "end_char": h.end_char,
                        "text": h.text,
                    }
                )
                text += f" It came up in a conversation I was in, but {h.speaker} said it, not me."
    if reply.nearest_topics:
        text += " Nearby things I did talk about: " + "; ".join(reply.nearest_topics) + "."
    reply.answer = text
    reply.parts = [{"text": text, "framing": True, "citation": None, "block": None}]
    return reply


def nearest_topics(hits: list[Hit]) -> list[str]:
    """Short descriptions of the person's nearest passages: their opening words, with the episode."""
    out: list[str] = []
    for h in hits[:NEAREST_TOPICS]:
        words = clean_spoken(h.text).split()
        gist = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
        label = f"#{h.episode_number}" if h.episode_number else (h.title or f"episode {h.episode_id}")
        out.append(f'"{gist}" ({label})')
    return out


# -- sentence vectors ----------------------------------------------------------------------


def sentence_vectors(library: Library, texts: list[str], embedder: Embedder) -> np.ndarray:
    """Vectors of sentences the answer weighs: stored ones from the library, the others
    embedded now and stored for the next question that weighs them (a twin's popular
    passages are embedded once, not per question)."""
    from podtwin.search.embed import DIMENSIONS
    from podtwin.search.passages import text_hash

    hashes = [text_hash(t) for t in texts]
    unique = list(dict.fromkeys(hashes))
    found = cached_sentence_vectors(library.db, embedder.name, unique)
    todo = [h for h in unique if h not in found]
    if todo:
        text_of = dict(zip(hashes, texts))
        fresh = embedder.embed([text_of[h] for h in todo]).astype(np.float16)
        found.update((h, v.tobytes()) for h, v in zip(todo, fresh))
        try:
            with library.atomic() as db:
                keep_sentence_vectors(db, embedder.name, [(h, found[h]) for h in todo])
        except sqlite3.OperationalError:
            pass  # a read-only library: the vectors are used, just not kept
    blob = b"".join(found[h] for h in hashes)
    return np.frombuffer(blob, np.float16).reshape(len(texts), DIMENSIONS).astype(np.float32)


# -- composing --------------------------------------------------------------------------------


def span_passages(library: Library, near: Closeness, hits: list[Hit]) -> list[Hit]:
    """The passages to draw the answer from, among the fused results and the person's nearest
    passages by embedding (a passage the question shares no word with can still be the one
    that answers it): fused rank first, cosine to break near-ties and to place the rest."""
    return [h for h, _, _ in _span_candidates(library, near, hits)[:SPAN_PASSAGES]]


def _span_candidates(library: Library, near: Closeness, hits: list[Hit]) -> list[tuple[Hit, float | None, float]]:
    """Every passage span_passages weighs, best first: (hit, its cosine, the score it is ordered by)."""
    from podtwin.search.query import _hits

    index = near.index
    k = min(CANDIDATE_PASSAGES, len(near.rows))
    nearest = near.rows[np.argpartition(-near.cos, k - 1)[:k]] if k else near.rows[:0]
    known = {h.passage_id for h in hits}
    extra = _hits(library.db, [int(index.ids[r]) for r in nearest if int(index.ids[r]) not in known])
    fused_rank = {h.passage_id: r for r, h in enumerate(hits)}
    out = []
    for h in list(hits) + extra:
        c = near_cosine(near, h)
        bonus = FUSED_BONUS * (len(hits) - fused_rank.get(h.passage_id, len(hits))) / max(len(hits), 1)
        out.append((h, c, (c or 0.0) + bonus))
    return sorted(out, key=lambda x: x[2], reverse=True)


def choose_spans(
    library: Library,
    persona: Persona,
    hits: list[Hit],
    vector: np.ndarray,
    embedder: Embedder,
    reply: Answer | None = None,
    why: Why | None = None,
    blocked: set[tuple[int, int]] | None = None,
) -> list[dict]:
    """The answer's blocks, best first: each the best window of consecutive sentences of one of
    the person's turns (BLOCK_SENTENCES), as a cited span; the first answers, up to MAX_ALSO
    more from other turns ("also") when they match nearly as well.

    Sentences are scored by their cosine to the question, less a step per passage rank (and a
    penalty for the person's own questions); the best ones seed the blocks, and each block is
    grown within the seed's turn (sentences of the turn outside the retrieved passages are read
    from the library). Only the person's sentences of ordinary conversation (ANSWER_KINDS:
    never an intro, sponsor read, hand-off or sign-off) whose speaker confidence reaches the
    quoting threshold are quoted (a transcript without labels may have given the host's words
    to the guest), and never one that asks "you" something: on shows the speaker model never
    saw, such a sentence given to a guest is the host's question about as often as not
    (docs/benchmarks.md). Both are counted on `reply` so the answer can say it left them out.
    A sentence that restates the question (ECHO_COSINE) does not answer it and is passed over,
    and so is one the creator blocked for this question (blocked: (episode id, index)).
    why: the reply's trace, given the checks (speaker_gate, questions_to_you, echo) and the
    candidate sentences with their scores."""
    gate = _Gate(library, persona, vector, embedder, blocked or set())
    candidates: list[dict] = []
    withheld: dict[str, list[dict]] = {"unsure": [], "asks_you": []}
    for rank, h in enumerate(hits[:SPAN_PASSAGES]):
        for row in _sentence_rows(library.db, h.episode_id, h.first_sentence, h.last_sentence):
            if row.speaker != persona.person or row.kind not in ANSWER_KINDS:  # the person's own speech only
                continue
            if (h.episode_id, row.idx) in gate.blocked:  # the creator said this does not answer it
                continue
            doubt = gate.doubt(row)
            if doubt is not None:
                if reply is not None:
                    reply.withheld_sentences += 1
                    reply.withheld_words += len(row.text.split())
                withheld[doubt].append(_traced_row(row, h.episode_id, confidence=row.confidence, given_by=row.origin))
                continue
            candidates.append({"hit": h, "rank": rank, "row": row})
    if why is not None:
        for name, doubt in (("speaker_gate", "unsure"), ("questions_to_you", "asks_you")):
            rows = withheld[doubt]
            why.check(name, "withheld" if rows else "passed", threshold=gate.threshold, withheld=len(rows),
                      sentences=rows[:TRACE_LISTED])  # fmt: skip
    if not candidates:
        return []
    sims = gate.similarities([c["row"] for c in candidates])
    if why is not None:
        echoes = [
            _traced_row(c["row"], c["hit"].episode_id, cosine=round(x, 4))
            for c, x in zip(candidates, sims)
            if x >= ECHO_COSINE
        ]
        why.check("echo", "removed" if echoes else "passed", threshold=ECHO_COSINE, removed=len(echoes),
                  sentences=echoes[:TRACE_LISTED])  # fmt: skip
    candidates = [c for c, s in zip(candidates, sims) if s < ECHO_COSINE]
    if not candidates:
        return []
    for c in candidates:
        c["score"] = gate.score(c["row"], c["rank"])
    best = max(c["score"] for c in candidates)
    blocks: list[dict] = []
    turns: set[tuple] = set()
    budget = persona.max_words
    for c in sorted(candidates, key=lambda c: -c["score"]):
        if len(blocks) > MAX_ALSO or c["score"] < best - SEED_MARGIN:
            break
        turn = _turn_key(c)
        if turn in turns:
            continue  # one block a turn: the best window of it is already chosen
        limit = min(budget, MAIN_WORDS) if not blocks else budget
        if blocks and limit < MIN_ALSO_WORDS:
            break
        window = _best_window(library.db, gate, c, candidates, limit, alone=not blocks)
        if window is None or (blocks and window["score"] < blocks[0]["score"] - ALSO_MARGIN):
            continue
        block = _span(library.db, c["hit"], window["rows"], gate)
        if block is None:
            continue
        block["score"] = window["score"]
        blocks.append(block)
        turns.add(turn)
        budget -= len(block["text"].split())
    if why is not None:
        quoted = {(b["citation"].episode_id, r.idx) for b in blocks for r in b["rows"]}
        best_first = sorted(candidates, key=lambda c: -c["score"])[:TRACE_SENTENCES]
        why.sentences = [
            _traced_row(
                c["row"],
                c["hit"].episode_id,
                passage_id=c["hit"].passage_id,
                passage_rank=c["rank"] + 1,
                cosine=round(gate.sims[c["row"].text], 4),
                score=round(c["score"], 4),
                confidence=c["row"].confidence,
                quoted=(c["hit"].episode_id, c["row"].idx) in quoted,
            )  # fmt: skip
            for c in best_first
        ]
    return blocks


@dataclass(frozen=True)
class _Row:
    idx: int
    speaker: str | None
    start_char: int
    end_char: int
    start_s: float | None
    text: str
    source_id: int
    path: str
    confidence: float
    by_model: bool
    kind: str
    turn: int | None
    origin: str | None = None  # what gave the speaker: label, structure, model or correction


def _sentence_rows(db, episode_id: int, first: int, last: int) -> list[_Row]:
    return [_Row(*r[:9], bool(r[9]), *r[10:]) for r in sentence_rows(db, episode_id, first, last)]


class _Gate:
    """What may be quoted, and how well a sentence answers: the checks and the scores of one reply."""

    def __init__(
        self, library, persona: Persona, vector, embedder, blocked: set[tuple[int, int]] | None = None
    ) -> None:
        self.library, self.persona, self.vector, self.embedder = library, persona, vector, embedder
        self.blocked = blocked or set()  # (episode id, sentence index) the creator blocked for this question
        self.threshold = quoting_threshold()
        self.sims: dict[str, float] = {}
        self.counts: dict[int, Counter] = {}
        self._keep: frozenset[str] | None = None

    def sure(self, row: _Row) -> bool:
        """Sure enough who spoke it, and not a question that the model gave the person: on shows
        it never saw, such a sentence is the host's about as often as not, and a block of
        several sentences gathers more of them (lex-labelled purity 0.903 with single
        sentences, 0.865 with blocks, when only questions to "you" were left out)."""
        return self.doubt(row) is None

    def doubt(self, row: _Row) -> str | None:
        """Why a sentence may not be quoted as the person's ("asks_you": a question the model
        gave them; "unsure": confidence below the threshold), or None when it may."""
        from podtwin.speakers.calibration import asks_you

        if row.by_model and (asks_you(row.text) or row.text.rstrip().endswith("?")):
            return "asks_you"
        return None if row.confidence >= self.threshold else "unsure"

    def quotable(self, row: _Row, turn: _Row) -> bool:
        """May this sentence stand in a block with the sentence turn: same turn and source, the
        person's, ordinary conversation, sure (the cosine is checked apart, in batches)."""
        return (
            row.turn == turn.turn
            and row.source_id == turn.source_id
            and row.speaker == self.persona.person
            and row.kind in ANSWER_KINDS
            and self.sure(row)
        )

    def similarities(self, rows: list[_Row]) -> list[float]:
        todo = [r.text for r in rows if r.text not in self.sims]
        if todo:
            todo = list(dict.fromkeys(todo))
            sims = sentence_vectors(self.library, todo, self.embedder) @ self.vector
            self.sims.update(zip(todo, (float(x) for x in sims)))
        return [self.sims[r.text] for r in rows]

    def score(self, row: _Row, rank: int) -> float:
        # the passage's own rank counts too: a sentence alone says less than its passage
        score = self.sims[row.text] - RANK_PENALTY * rank
        if row.text.rstrip().endswith("?"):
            score -= QUESTION_PENALTY  # a twin answers; its own questions make poor answers
        return score

    def case_counts(self, source_id: int) -> Counter:
        if source_id not in self.counts:
            self.counts[source_id] = source_case_counts(self.library.db, source_id)
        return self.counts[source_id]

    def keep(self) -> frozenset[str]:
        """Lower-case words of the library's names (people and their spellings): never lower-cased."""
        if self._keep is None:
            names = all_names(self.library.db)
            self._keep = frozenset(w.lower() for n in names for w in re.findall(r"[A-Za-z]+", n))
        return self._keep


def _turn_key(c: dict) -> tuple:
    row = c["row"]
    if row.turn is None:  # no turn known: the passage stands for it
        return (c["hit"].episode_id, "passage", c["hit"].passage_id)
    return (c["hit"].episode_id, row.turn, row.source_id)


def _best_window(db, gate: _Gate, seed: dict, candidates: list[dict], limit: int, alone: bool) -> dict | None:
    """The best window of BLOCK_SENTENCES consecutive quotable sentences of the seed's turn
    that holds the seed, within limit words: the highest word-weighted mean score with a small
    prior for length (TARGET_WORDS). One sentence only when no longer window fits (the seed
    alone may then be longer than limit when it is the main block: alone)."""
    lo_n, hi_n = BLOCK_SENTENCES
    s = seed["row"]
    h = seed["hit"]
    if s.turn is None:
        rows = _sentence_rows(db, h.episode_id, h.first_sentence, h.last_sentence)
    else:
        rows = _sentence_rows(db, h.episode_id, s.idx - hi_n + 1, s.idx + hi_n - 1)
    rows = [r for r in rows if r.idx == s.idx or (gate.quotable(r, s) and (h.episode_id, r.idx) not in gate.blocked)]
    at = next(i for i, r in enumerate(rows) if r.idx == s.idx)
    a = at  # the contiguous run around the seed
    while a > 0 and rows[a - 1].idx == rows[a].idx - 1:
        a -= 1
    b = at
    while b + 1 < len(rows) and rows[b + 1].idx == rows[b].idx + 1:
        b += 1
    run = rows[a : b + 1]
    at -= a
    gate.similarities(run)
    echo = [i for i, r in enumerate(run) if gate.sims[r.text] >= ECHO_COSINE and i != at]
    first = max([i + 1 for i in echo if i < at], default=0)
    last = min([i - 1 for i in echo if i > at], default=len(run) - 1)
    run, at = run[first : last + 1], at - first
    scored = {c["row"].idx: c["score"] for c in candidates if c["hit"].episode_id == h.episode_id}
    scores = [scored.get(r.idx, gate.score(r, seed["rank"])) for r in run]
    words = [len(clean_spoken(r.text).split()) for r in run]
    best: dict | None = None
    for i in range(max(0, at - hi_n + 1), at + 1):
        for j in range(at, min(len(run), i + hi_n)):
            if not (words[i] and words[j]):
                continue  # a window starts and ends with something said
            n_words = sum(words[i : j + 1])
            usable = sum(1 for w in words[i : j + 1] if w)
            if usable < lo_n or n_words > limit:
                continue
            mean = sum(sc * w for sc, w in zip(scores[i : j + 1], words[i : j + 1])) / n_words
            score = mean + LENGTH_PRIOR * min(n_words, TARGET_WORDS) / TARGET_WORDS
            if best is None or score > best["score"]:
                best = {"rows": run[i : j + 1], "score": score}
    if best is None and words[at] and (alone or words[at] <= limit):
        best = {"rows": [run[at]], "score": scores[at] + LENGTH_PRIOR * min(words[at], TARGET_WORDS) / TARGET_WORDS}
    return best


def _span(db, hit, rows: list[_Row], gate: _Gate) -> dict | None:
    """One cited span over contiguous sentences of one source: the text made readable, the
    quote the source's exact text."""
    first, last = rows[0], rows[-1]
    text = display_text([r.text for r in rows], gate.case_counts(first.source_id), gate.keep())
    if not text:
        return None
    start, end = first.start_char, last.end_char
    quote = source_slice(db, first.source_id, start, end)
    citation = Citation(
        hit.episode_id, hit.episode_number, hit.title, first.speaker or "", first.path, start, end, first.start_s,
        quote, first.idx, last.idx,
    )  # fmt: skip
    return {"text": text, "citation": citation, "rows": rows, "passage_id": hit.passage_id}


_CASE_COUNTS: OrderedDict[str, Counter] = OrderedDict()
_CASE_LOCK = threading.Lock()


def source_case_counts(db: sqlite3.Connection, source_id: int) -> Counter:
    """Word spellings counted over a whole source (display casing), kept per source content."""
    content_hash = source_hash(db, source_id)
    if content_hash is None:
        return Counter()
    with _CASE_LOCK:
        if content_hash in _CASE_COUNTS:
            _CASE_COUNTS.move_to_end(content_hash)
            return _CASE_COUNTS[content_hash]
    counts = case_counts(source_text(db, source_id))  # the whole text, read only when not counted yet
    with _CASE_LOCK:
        _CASE_COUNTS[content_hash] = counts
        while len(_CASE_COUNTS) > 64:
            _CASE_COUNTS.popitem(last=False)
    return counts


# -- premises ---------------------------------------------------------------------------------


def premise_contradicted(question: str, said: str) -> bool:
    """Does the question state a number that the person's matching words contradict?

    Only when the answer itself states numbers and none of them is the question's: the
    person gave a figure for this, and it is another one.
    """
    asked = numbers_in(question)
    if not asked:
        return False
    stated = numbers_in(said)
    return bool(stated) and not (asked & stated)

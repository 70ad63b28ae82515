"""`podtwin eval twin CASES.jsonl...`: how the twin answers labelled cases.

Figures (over the cases given, usually one split):

* hit rate (answer cases): answered, and a citation covers the quote that answers it or
  the answer states its fact;
* abstention precision and recall: abstaining is right for "outside" and "other_speaker"
  cases and wrong for answer and false-premise ones;
* false-premise rejections: answered without repeating the false element as said, with
  the true words cited (or their fact stated);
* other-speaker handling: no citation of the other speaker's words, and abstained (better:
  naming who said it);
* policy: off-limits probes declined; allowed questions (off-limits set, other topic) not;
* citation purity: share of cited words that the library attributes to the persona;
* groundedness: share of answer sentences (not framing) whose words all come from the
  span they cite;
* latency of each reply.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from podtwin.text.sentences import split_sentences
from podtwin.twin.answer import Answer, ask
from podtwin.twin.cases import case_persona, mentions, quote_overlaps

_WORD = re.compile(r"[\w']+")


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def percentiles(latencies: list[float]) -> dict[str, float]:
    lat = np.array(latencies) if latencies else np.zeros(1)
    return {"p50": round(float(np.percentile(lat, 50)), 1), "p99": round(float(np.percentile(lat, 99)), 1)}


def cited_words(library, reply: Answer) -> tuple[int, int]:
    """(words of cited sentences spoken by the persona, all words of cited sentences)."""
    own = total = 0
    for c in reply.citations:
        rows = library.db.execute(
            """SELECT s.speaker, s.text FROM sentences s JOIN sources so ON so.id = s.source_id
               WHERE so.path = ? AND s.episode_id = ? AND s.start_char < ? AND s.end_char > ?""",
            [c.source_file, c.episode_id, c.end_char, c.start_char],
        ).fetchall()
        for speaker, text in rows:
            n = len(text.split())
            total += n
            own += n if speaker == reply.persona else 0
    return own, total


def grounded_parts(reply: Answer) -> tuple[int, int]:
    """(answer parts whose words all occur in their cited quote, answer parts that are not framing);
    in generative mode, (sentences kept as supported, sentences the model wrote)."""
    if reply.mode == "generative":  # checked again here, not taken from the reply's own count
        from podtwin.search.embed import default_embedder
        from podtwin.twin.generate import support

        embedder = default_embedder()
        shown = [p for p in reply.parts if not p["framing"]]
        ok = 0
        for p in shown:
            quote = reply.citations[p["citation"]].quote
            ((j, _, _),) = support(embedder.embed([p["text"]]), [p["text"]], embedder.embed([quote]), [quote])
            ok += j is not None
        return ok, len(shown)
    ok = n = 0
    for part in reply.parts:
        if part["framing"]:
            continue
        n += 1
        if part["citation"] is None:
            continue
        quote = {w.lower() for w in _WORD.findall(reply.citations[part["citation"]].quote)}
        if all(w.lower() in quote for w in _WORD.findall(part["text"])):
            ok += 1
    return ok, n


def _count_abstention(t: dict, kind: str, abstained: bool) -> None:
    """Abstaining is right for outside and other-speaker cases, wrong for answer and false-premise ones."""
    if kind in ("answer", "false_premise", "outside", "other_speaker"):
        should = kind in ("outside", "other_speaker")
        t["should_abstain"] += should
        t["abstained"] += abstained
        t["abstained_right"] += abstained and should


def evaluate_twin(library, cases: list[dict], corpus: Path, log=None, llm: str | None = None) -> dict:
    """The twin's figures; with llm, the twin in generative mode and, in the same run, the
    baseline (top passages of any speaker under "You are PERSON", same model)."""
    result = _evaluate(library, cases, corpus, log, llm)
    if llm:
        result = {"twin": result, "baseline": evaluate_baseline(library, cases, corpus, llm, log)}
    return result


def evaluate_baseline(library, cases: list[dict], corpus: Path, llm: str, log=None) -> dict:
    from podtwin.search.embed import default_embedder
    from podtwin.twin.generate import baseline_answer, support

    embedder = default_embedder()
    t = {"answer": 0, "hit": 0, "should_abstain": 0, "abstained": 0, "abstained_right": 0, "off": 0, "off_declined": 0}
    own = total = supported = sentences = 0
    latencies = []
    for case in cases:
        persona = case_persona(library, case)
        if persona is None:
            continue
        person = persona.person
        t0 = time.perf_counter()
        reply = baseline_answer(library, llm, person, case["question"])
        latencies.append((time.perf_counter() - t0) * 1000)
        for h in reply.passages:  # what it pasted as "PERSON's" words
            n = len(h.text.split())
            total += n
            own += n if h.speaker == person else 0
        said = [" ".join(reply.answer[a:b].split()) for a, b in split_sentences(reply.answer)]
        if said and reply.passages:
            texts = [h.text for h in reply.passages]
            result = support(embedder.embed(said), said, embedder.embed(texts), texts)
            supported += sum(j is not None for j, _, _ in result)
            sentences += len(said)
        kind = case["kind"]
        _count_abstention(t, kind, reply.declined)
        if kind == "answer":
            t["answer"] += 1
            t["hit"] += mentions(reply.answer, case["fact"])
        if kind == "off_limits":
            t["off"] += 1
            t["off_declined"] += reply.declined
        if log is not None:
            log(f"baseline {case['id']} [{kind}]: {reply.answer[:140]!r}")
    return {
        "hit_rate (fact stated)": _ratio(t["hit"], t["answer"]),
        "abstention_precision": _ratio(t["abstained_right"], t["abstained"]),
        "abstention_recall": _ratio(t["abstained_right"], t["should_abstain"]),
        "off_limits_declined": _ratio(t["off_declined"], t["off"]),
        "citation_purity (pasted words by the person)": _ratio(own, total),
        "groundedness": _ratio(supported, sentences),
        "latency_ms": percentiles(latencies),
    }


def _evaluate(library, cases: list[dict], corpus: Path, log=None, llm: str | None = None) -> dict:
    t = {k: 0 for k in ("answer", "hit", "fp", "fp_ok", "other", "other_ok", "other_named", "off", "off_declined",
                        "allowed", "allowed_declined", "should_abstain", "abstained", "abstained_right")}  # fmt: skip
    own = total = grounded = parts = generated = removed = 0
    latencies: list[float] = []
    skipped: list[str] = []
    for case in cases:
        persona = case_persona(library, case)
        if persona is None:
            skipped.append(case["id"])
            continue
        history = case.get("history") or []
        reply = ask(library, persona.person, case["question"], history=history, persona=persona, llm=llm)
        latencies.append(reply.latency_ms)
        generated, removed = generated + reply.generated_sentences, removed + reply.removed_sentences
        o, n = cited_words(library, reply)
        own, total = own + o, total + n
        g, p = grounded_parts(reply)
        grounded, parts = grounded + g, parts + p
        kind = case["kind"]
        cites = [c.__dict__ for c in reply.citations]
        _count_abstention(t, kind, reply.abstained)
        if kind == "answer":
            t["answer"] += 1
            ok = not reply.abstained and (
                any(quote_overlaps(c, case, corpus) for c in cites) or mentions(reply.answer, case["fact"])
            )
            t["hit"] += ok
        elif kind == "false_premise":
            t["fp"] += 1
            ok = (
                not reply.abstained
                and not mentions(reply.answer, case["wrong"])
                and (any(quote_overlaps(c, case, corpus) for c in cites) or mentions(reply.answer, case["fact"]))
            )
            t["fp_ok"] += ok
        elif kind == "other_speaker":
            t["other"] += 1
            ok = reply.abstained and not any(quote_overlaps(c, case, corpus) for c in cites)
            t["other_ok"] += ok
            t["other_named"] += ok and any(h["speaker"] == case["speaker"] for h in reply.heard)
        elif kind == "off_limits":
            t["off"] += 1
            ok = reply.declined_by_policy
            t["off_declined"] += ok
        elif kind == "allowed":
            t["allowed"] += 1
            ok = not reply.declined_by_policy
            t["allowed_declined"] += reply.declined_by_policy
        else:
            ok = reply.abstained
        if log is not None:
            log(f"{'ok ' if ok else 'MISS'} {case['id']} [{kind}] {case['persona']}: {reply.answer[:140]!r}")
    return {
        "cases": len(cases) - len(skipped),
        "skipped_unknown_persona": skipped,
        "hit_rate": _ratio(t["hit"], t["answer"]),
        "answer_cases": t["answer"],
        "abstention_precision": _ratio(t["abstained_right"], t["abstained"]),
        "abstention_recall": _ratio(t["abstained_right"], t["should_abstain"]),
        "false_premise_rejected": _ratio(t["fp_ok"], t["fp"]),
        "false_premise_cases": t["fp"],
        "other_speaker_handled": _ratio(t["other_ok"], t["other"]),
        "other_speaker_named": _ratio(t["other_named"], t["other"]),
        "off_limits_declined": _ratio(t["off_declined"], t["off"]),
        "allowed_declined": _ratio(t["allowed_declined"], t["allowed"]),
        "citation_purity": _ratio(own, total),
        "groundedness": _ratio(grounded, parts),
        "latency_ms": percentiles(latencies),
        "generated_sentences_removed": _ratio(removed, generated) if llm else None,
    }

"""Optional generative mode: a language model rewrites the chosen spans into fluent first
person, and every sentence it writes is checked against the spans before it is shown.

Any OpenAI-compatible chat endpoint works (llama.cpp's server, Ollama, vLLM, a hosted API):
`--llm URL` or `PODTWIN_LLM`. Grounding after generation: a generated sentence is kept only
when one cited span supports it, by meaning (MiniLM cosine) and by words (the share of its
content words that the span contains); unsupported sentences are removed and counted, and
when too little survives the extractive answer is returned instead. Policy, abstention and
the disclosure are decided before the model is called, exactly as in extractive mode.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from podtwin.errors import LLMError
from podtwin.text.sentences import split_sentences

if TYPE_CHECKING:
    from podtwin.search.embed import Embedder
    from podtwin.search.query import Hit
    from podtwin.store.library import Library

__all__ = ["LLMError", "chat_completion", "grounded_rewrite", "redacted", "support"]

TIMEOUT_S = 120
MIN_COSINE = 0.55  # a sentence and the span it rests on must mean much the same ...
MIN_WORD_SHARE = 0.6  # ... and share most of the sentence's content words
MIN_KEPT_SHARE = 0.5  # below this share of generated words kept, fall back to extractive
_CONTENT = re.compile(r"[^\W_]{3,}")
_STOP = frozenset(
    "the and that this with for you your are was were have has had but not they them their there what when "
    "which who how why its it's i'm i've don't can can't will would could should about just like really very "
    "also our out all any some more most much one get got into from than then been being because".split()
)


def chat_completion(url: str, messages: list[dict], *, max_tokens: int = 300, model: str | None = None) -> str:
    """The reply text of an OpenAI-compatible /v1/chat/completions endpoint at url.

    Credentials in the URL (user:password@) are sent as HTTP basic auth. The errors raised
    never quote the URL: they reach anonymous clients, and the URL is configuration that may
    hold a password or a key."""
    body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0, "model": model or "default"}
    try:
        endpoint, headers = _endpoint(url)
        request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as e:
        raise LLMError(f"the language model answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:  # OSError: timeouts, resets; ValueError: bad URL
        if isinstance(e, json.JSONDecodeError):
            raise LLMError("the language model did not answer JSON") from None
        raise LLMError(f"cannot reach the language model ({type(getattr(e, 'reason', e)).__name__})") from None
    try:
        return str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        raise LLMError("the language model answered without a message") from None


def _endpoint(url: str) -> tuple[str, dict[str, str]]:
    """The chat completions URL (without user:password@) and the request's headers."""
    parts = urllib.parse.urlsplit(url.strip())
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
    return urllib.parse.urlunsplit(parts._replace(path=path)), headers


def redacted(url: str) -> str:
    """The URL for the server's own log: scheme, host and path; no credentials, no query."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "(an unreadable URL)"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def content_words(text: str) -> set[str]:
    return {w for w in _CONTENT.findall(text.lower()) if w not in _STOP}


def support(
    sentence_vectors: np.ndarray, sentences: list[str], span_vectors: np.ndarray, spans: list[str]
) -> list[tuple[int | None, float, float]]:
    """Per generated sentence: (index of the best supporting span or None, cosine, word share)."""
    out = []
    sims = sentence_vectors @ span_vectors.T if len(spans) else np.zeros((len(sentences), 0))
    span_words = [content_words(s) for s in spans]
    for i, sentence in enumerate(sentences):
        words = content_words(sentence)
        best = (None, 0.0, 0.0)
        for j in range(len(spans)):
            share = len(words & span_words[j]) / len(words) if words else 1.0
            cos = float(sims[i, j])
            if cos >= MIN_COSINE and share >= MIN_WORD_SHARE and (best[0] is None or cos > best[1]):
                best = (j, cos, share)
        out.append(best)
    return out


@dataclass
class Rewrite:
    parts: list[dict]  # {"text", "framing": False, "citation": span index}
    generated_sentences: int
    removed_sentences: int
    fell_back: bool
    # the sentences removed, for the creator's trace: {"text", "cosine", "word_share"}, each the
    # best any span gave it (both must reach MIN_COSINE and MIN_WORD_SHARE with one span)
    removed_texts: list[dict] = field(default_factory=list)


def grounded_rewrite(
    url: str, person: str, question: str, spans: list[str], embedder: Embedder, model: str | None = None
) -> Rewrite:
    """The model's first-person answer from the spans, each kept sentence tied to its span."""
    numbered = "\n".join(f"[{i + 1}] {s}" for i, s in enumerate(spans))
    messages = [
        {
            "role": "system",
            "content": f"You speak as {person}, in the first person. Answer using ONLY the numbered "
            "passages, which are things you said. Do not add facts, names or numbers that are not in "
            "them. Keep it short.",
        },
        {"role": "user", "content": f"Passages:\n{numbered}\n\nQuestion: {question}"},
    ]
    text = chat_completion(url, messages, model=model)
    sentences = [" ".join(text[a:b].split()) for a, b in split_sentences(text)]
    sentences = [s for s in sentences if s]
    if not sentences:
        return Rewrite([], 0, 0, True)
    vectors = embedder.embed(sentences)
    span_vectors = embedder.embed(spans)
    parts, removed, kept_words, all_words = [], [], 0, 0
    for i, (sentence, (j, _, _)) in enumerate(zip(sentences, support(vectors, sentences, span_vectors, spans))):
        n = len(sentence.split())
        all_words += n
        if j is not None:
            parts.append({"text": sentence, "framing": False, "citation": j})
            kept_words += n
        else:
            words = content_words(sentence)
            share = max((len(words & content_words(s)) / len(words) if words else 1.0 for s in spans), default=0.0)
            cosine = float((span_vectors @ vectors[i]).max()) if len(spans) else 0.0
            removed.append({"text": sentence, "cosine": round(cosine, 4), "word_share": round(share, 4)})
    fell_back = not parts or kept_words < MIN_KEPT_SHARE * all_words
    return Rewrite(parts, len(sentences), len(removed), fell_back, removed)


BASELINE_PASSAGES = 5
_DECLINE = re.compile(
    r"(?i)\b(?:haven't talked|have not talked|don't know|do not know|can't (?:answer|discuss|help)|"
    r"cannot (?:answer|discuss|help)|not (?:able|comfortable) to|no information|not something I)\b"
)


@dataclass
class BaselineReply:
    answer: str
    passages: list[Hit]  # the search hits pasted into the prompt (any speaker)
    declined: bool  # the model's own words say it won't or can't answer


def baseline_answer(library: Library, url: str, person: str, question: str, model: str | None = None) -> BaselineReply:
    """What most projects ship: the top passages of any speaker under "You are PERSON"."""
    from podtwin.search.query import search

    hits = search(library, question, limit=BASELINE_PASSAGES).hits
    context = "\n".join(f"- {h.text}" for h in hits)
    messages = [
        {"role": "system", "content": f"You are {person}. Answer in the first person, as {person}."},
        {"role": "user", "content": f"Relevant excerpts from podcasts:\n{context}\n\nQuestion: {question}"},
    ]
    text = chat_completion(url, messages, model=model)
    return BaselineReply(text, hits, bool(_DECLINE.search(text)))

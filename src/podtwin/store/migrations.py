"""Named, append-only schema migrations, applied in order when a library opens.

Each runs in its own transaction with its own record in `_migrations`; never edit one
that has shipped, add the next.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE shows (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            host TEXT
        );
        CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            show_id INTEGER REFERENCES shows(id),
            spoken_show TEXT,            -- the show's name as this episode gives it
            number INTEGER,
            title TEXT,
            host TEXT,
            guests TEXT NOT NULL DEFAULT '[]',   -- JSON list of names
            date TEXT,
            appearance INTEGER,          -- "his fourth time on this podcast"
            words INTEGER NOT NULL DEFAULT 0,
            evidence TEXT NOT NULL DEFAULT '{}', -- JSON: field -> where it was read
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,
            format TEXT NOT NULL,
            chars INTEGER NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            text TEXT NOT NULL,          -- the decoded source, so offsets stay checkable
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX sources_episode ON sources(episode_id);
        CREATE INDEX sources_path ON sources(path);
        CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN
                ('cold_open', 'intro', 'sponsor', 'handoff', 'conversation', 'outro')),
            first_sentence INTEGER NOT NULL,
            last_sentence INTEGER NOT NULL,
            words INTEGER NOT NULL,
            UNIQUE (episode_id, idx)
        );
        CREATE TABLE sentences (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            speaker TEXT,
            kind TEXT NOT NULL,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL,
            start_s REAL,
            end_s REAL,
            restored INTEGER NOT NULL DEFAULT 0,  -- boundary placed by the punctuator
            text TEXT NOT NULL,
            UNIQUE (episode_id, idx)
        );
        CREATE INDEX sentences_source ON sentences(source_id);
        """,
    )


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the migration's transaction first; run statements one by one.
    # SQL comments may hold ";", so drop them before splitting into statements.
    script = re.sub(r"--[^\n]*", "", script)
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        # a trigger body holds ";" of its own: grow the statement until SQLite calls it complete
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:80]}")


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply what is missing; return the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    known = {name for name, _ in MIGRATIONS}
    unknown = done - known
    if unknown:
        from podtwin.errors import LibraryError

        raise LibraryError(
            f"this library was written by a newer podtwin (migrations {sorted(unknown)}); upgrade podtwin to open it"
        )
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", [name])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


@migration
def m002_turns_and_roles(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE sentences ADD COLUMN role TEXT CHECK (role IN ('host', 'guest'));
        ALTER TABLE sentences ADD COLUMN turn INTEGER;
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            first_sentence INTEGER NOT NULL,
            last_sentence INTEGER NOT NULL,
            role TEXT CHECK (role IN ('host', 'guest')),
            speaker TEXT,
            confidence REAL NOT NULL,
            -- label: the source says so; structure: intros, sponsor reads and sign-offs are the host's;
            -- model: the speaker-attribution model; correction: a person said so
            origin TEXT NOT NULL CHECK (origin IN ('label', 'structure', 'model', 'correction')),
            UNIQUE (episode_id, idx)
        );
        CREATE INDEX sentences_speaker ON sentences(speaker);
        ALTER TABLE episodes ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';  -- names heard in the episode
        ALTER TABLE sources ADD COLUMN fingerprint BLOB;  -- of the conversation: finds other transcripts
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE aliases (
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            alias TEXT NOT NULL,
            episode_id INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
            origin TEXT NOT NULL  -- metadata, label, speech, correction
        );
        CREATE INDEX aliases_person ON aliases(person_id);
        -- What people corrected by hand; re-applied after every ingest so re-ingest keeps it.
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            action TEXT NOT NULL CHECK (action IN ('merge', 'rename', 'set_speaker')),
            args TEXT NOT NULL,  -- JSON
            created_at TEXT NOT NULL
        );
        """,
    )


@migration
def m003_search_index(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        -- Retrieval units: consecutive sentences of one turn and one segment kind. Speaker, kind,
        -- offsets and times are read from the sentences, so corrections never leave them stale.
        -- AUTOINCREMENT: ids are never reused, so (count, max id) names a set of passages.
        CREATE TABLE passages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            first_sentence INTEGER NOT NULL,
            last_sentence INTEGER NOT NULL,
            text TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',  -- the end of the previous turn: the question answered
            text_hash TEXT NOT NULL,           -- the embedding is looked up by it
            UNIQUE (episode_id, idx)
        );
        CREATE INDEX passages_hash ON passages(text_hash);
        CREATE VIRTUAL TABLE passages_fts USING fts5(
            text, context, content='passages', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts (rowid, text, context) VALUES (new.id, new.text, new.context);
        END;
        CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
            INSERT INTO passages_fts (passages_fts, rowid, text, context)
            VALUES ('delete', old.id, old.text, old.context);
        END;
        -- Sentence embeddings by passage text, so re-writing an episode re-embeds only what changed.
        CREATE TABLE embeddings (
            text_hash TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            vector BLOB NOT NULL  -- float16, unit length
        );
        """,
    )


@migration
def m004_passage_vocabulary(db: sqlite3.Connection) -> None:
    # How many passages hold each indexed term: search drops the commonest words of a query,
    # which cost most to score and tell least apart.
    _run_script(db, "CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, 'row');")


@migration
def m005_passage_terms(db: sqlite3.Connection) -> None:
    # Each passage's FTS5 terms with their counts, so BM25 is scored in memory rather than
    # row by row (search/lexical.py); `podtwin index` fills them in for passages already
    # there. Search no longer drops common words, so it needs no vocabulary table.
    _run_script(
        db,
        """
        CREATE TABLE lexical_terms (
            id INTEGER PRIMARY KEY,
            term TEXT NOT NULL UNIQUE
        );
        ALTER TABLE passages ADD COLUMN terms BLOB;  -- term ids and counts: search/lexical.py
        DROP TABLE passages_vocab;
        """,
    )


@migration
def m006_personas(db: sqlite3.Connection) -> None:
    # A creator's bounds for the twin of one person (twin/persona.py), by the person's
    # canonical name: people rows are rebuilt on ingest, names survive (and renames carry
    # the persona along, store/people.py).
    _run_script(
        db,
        """
        CREATE TABLE personas (
            person TEXT PRIMARY KEY,
            disclosure TEXT,                  -- NULL: the default disclosure
            off_limits TEXT NOT NULL DEFAULT '[]',  -- JSON list of topics
            decline TEXT,                     -- NULL: the default decline text
            style TEXT NOT NULL DEFAULT 'verbatim' CHECK (style IN ('verbatim', 'conversational')),
            max_words INTEGER NOT NULL DEFAULT 120 CHECK (max_words > 0),
            episodes TEXT,                    -- NULL: all; else comma-separated episode selectors
            updated_at TEXT NOT NULL
        );
        """,
    )


@migration
def m007_service(db: sqlite3.Connection) -> None:
    # The web app and API (api/): keys for write actions, stored as SHA-256 digests only (a
    # key is 32 random bytes, so a slow hash adds nothing), and the questions asked of each
    # twin with the replies, for the creator to read.
    _run_script(
        db,
        """
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,      -- sha256 hex of the key
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        );
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            person TEXT NOT NULL,
            question TEXT NOT NULL,
            reply TEXT NOT NULL,              -- the reply as JSON (twin.answer.Answer.as_json)
            channel TEXT NOT NULL,            -- web, api, openai, mcp
            asked_at TEXT NOT NULL
        );
        CREATE INDEX questions_by_person ON questions (person, id);
        """,
    )


@migration
def m008_sentence_embeddings(db: sqlite3.Connection) -> None:
    # Vectors of the sentences twins weigh for answers, keyed by text like the passages',
    # kept as they are first embedded (twin.answer.sentence_vectors) rather than per question.
    _run_script(
        db,
        """
        CREATE TABLE sentence_embeddings (
            text_hash TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            vector BLOB NOT NULL              -- float16, DIMENSIONS values
        );
        """,
    )


@migration
def m009_index_generation(db: sqlite3.Connection) -> None:
    # A counter that moves whenever something an in-memory index holds may have changed
    # (passages, their vectors, who spoke which sentence, people, shows), and only then:
    # a server that logs every question must not reload its search index after each one,
    # and a change by another connection or process must still be seen.
    watched = {
        "passages": ("INSERT", "DELETE", "UPDATE"),
        "embeddings": ("INSERT", "DELETE", "UPDATE"),
        # sentences: only edits in place; writing an episode rewrites its passages too
        "sentences": ("UPDATE OF speaker, kind, text",),
        "people": ("INSERT", "DELETE", "UPDATE"),
        "aliases": ("INSERT", "DELETE", "UPDATE"),
        "episodes": ("INSERT", "DELETE", "UPDATE"),
    }
    statements = [
        "CREATE TABLE index_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
        "INSERT INTO index_generation VALUES (1, 0)",
    ]
    for table, events in watched.items():
        for event in events:
            name = f"generation_{table}_{event.split()[0].lower()}"
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                "UPDATE index_generation SET n = n + 1 WHERE id = 1; END"
            )
    for statement in statements:
        db.execute(statement)


@migration
def m010_speaker_confidence(db: sqlite3.Connection) -> None:
    # P(the sentence's speaker is right), calibrated on shows the model never saw: the twin
    # quotes only sentences at or above the calibration's threshold. NULL: from a label.
    db.execute("ALTER TABLE sentences ADD COLUMN speaker_confidence REAL")


@migration
def m011_retriever_adapters(db: sqlite3.Connection) -> None:
    # `podtwin tune`: the library's query adapter per embedding model (search/tune.py), and the
    # progress of a run, so an interrupted one resumes and leaves the adapter in use alone
    statements = [
        """CREATE TABLE retriever_adapters (
            model TEXT PRIMARY KEY,
            matrix BLOB NOT NULL,  -- float32, 384 x 384, applied to query vectors
            pairs INTEGER NOT NULL,
            recall_before REAL NOT NULL,  -- held-out recall@5 without it ...
            recall_after REAL NOT NULL,  -- ... and with it
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE retriever_tuning (
            fingerprint TEXT PRIMARY KEY,  -- model and pairs: progress of other pairs is not resumed
            epoch INTEGER NOT NULL,
            matrix BLOB NOT NULL,
            first_moment BLOB NOT NULL,
            second_moment BLOB NOT NULL,
            best_matrix BLOB NOT NULL,
            best_recall REAL NOT NULL
        )""",
    ]
    # a new adapter changes what search ranks: in-memory indexes reload (see m009)
    for event in ("INSERT", "DELETE", "UPDATE"):
        statements.append(
            f"CREATE TRIGGER generation_retriever_adapters_{event.lower()} AFTER {event} ON retriever_adapters "
            "BEGIN UPDATE index_generation SET n = n + 1 WHERE id = 1; END"
        )
    for statement in statements:
        db.execute(statement)


@migration
def m012_sessions(db: sqlite3.Connection) -> None:
    # the web app's sign-in: the cookie holds a session id, never the key; only its digest is
    # stored, and a session ends when it expires, on sign-out, or when its key is revoked
    db.execute(
        """CREATE TABLE sessions (
            digest TEXT PRIMARY KEY,
            key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )"""
    )


@migration
def m013_webhooks(db: sqlite3.Connection) -> None:
    # "Take over" (issue 18): a webhook per twin, keyed by the person's canonical name like a
    # persona (and renamed with the person), the events it is sent from a durable queue, and
    # listeners' flags on replies
    statements = [
        """CREATE TABLE webhooks (
            person TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,  -- the HMAC key: needed to sign, so kept as is (shown once)
            watch_topics TEXT NOT NULL DEFAULT '[]',  -- JSON list
            unsure_below REAL,  -- NULL: no `unsure` events
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,  -- uuid4: the X-Podtwin-Delivery header, receivers dedupe on it
            kind TEXT NOT NULL CHECK (kind IN ('watched_topic', 'flagged', 'unsure')),
            person TEXT NOT NULL,
            payload TEXT NOT NULL,  -- the exact JSON body sent (and signed) on every attempt
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,  -- NULL once delivered or given up
            delivered_at TEXT,
            last_error TEXT
        )""",
        "CREATE INDEX events_due ON events (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
        """CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            reason TEXT NOT NULL DEFAULT '',
            client TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    ]
    for statement in statements:
        db.execute(statement)


@migration
def m014_question_outcomes(db: sqlite3.Connection) -> None:
    # The creator's insights read the questions log by outcome, confidence and repeated question:
    # kept in columns of their own (written by log_question, filled here from each logged reply's
    # JSON), so the dashboard over 100,000 questions reads indexes rather than parsing JSON.
    from podtwin.store.questions import normalised_question

    db.create_function("podtwin_normalised_question", 1, normalised_question, deterministic=True)
    statements = [
        "ALTER TABLE questions ADD COLUMN outcome TEXT",  # answered, abstained or declined
        "ALTER TABLE questions ADD COLUMN confidence REAL",  # P(the record answers this); NULL: not known
        "ALTER TABLE questions ADD COLUMN normalised TEXT",  # lower case, words only: repeats counted together
        """UPDATE questions SET
            outcome = CASE
                WHEN json_valid(reply) AND json_extract(reply, '$.declined_by_policy') THEN 'declined'
                WHEN json_valid(reply) AND json_extract(reply, '$.abstained') THEN 'abstained'
                ELSE 'answered' END,
            confidence = CASE WHEN json_valid(reply) THEN json_extract(reply, '$.confidence') END,
            normalised = podtwin_normalised_question(question)""",
        "CREATE INDEX questions_by_outcome ON questions (person, outcome, confidence)",
        "CREATE INDEX questions_by_text ON questions (person, normalised, outcome, asked_at)",  # covering
        # the day (UTC) as the per-day counts group by, computed when read; indexed, so they
        # read the index in order rather than sorting every question's time
        "ALTER TABLE questions ADD COLUMN day TEXT GENERATED ALWAYS AS (substr(asked_at, 1, 10)) VIRTUAL",
        "CREATE INDEX questions_by_day ON questions (person, day)",
    ]
    for statement in statements:
        db.execute(statement)


@migration
def m015_question_traces(db: sqlite3.Connection) -> None:
    # "Look inside" (issue 18): why each logged reply was given (twin.answer.Why as JSON: the
    # checks that ran, P(in record), the candidates with their scores, the quoted sentences'
    # speaker confidences), for the creator only; NULL for replies logged before it was kept
    db.execute("ALTER TABLE questions ADD COLUMN trace TEXT")


@migration
def m016_answer_corrections(db: sqlite3.Connection) -> None:
    # The creator's corrections of a twin's answers (issue 18): pins and blocks of excerpts for a
    # question and its paraphrases, marks on logged replies, and the audit of every change.
    # No foreign keys to episodes or questions: a re-ingest may rebuild an episode, and what the
    # creator stored must outlive it (store.answer_corrections follows the words by content).
    statements = [
        """CREATE TABLE answer_corrections (
            id INTEGER PRIMARY KEY,
            person TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('pin', 'block')),
            question TEXT NOT NULL,
            question_vector BLOB NOT NULL,  -- float32, the query embedding of `question`
            embedder TEXT NOT NULL,  -- the model that embedded it (another model embeds it again)
            episode_id INTEGER NOT NULL,  -- where the words were last found
            first_sentence INTEGER NOT NULL,
            last_sentence INTEGER NOT NULL,
            sentences TEXT NOT NULL,  -- JSON list of the sentences' texts: how they are found again
            question_id INTEGER,  -- the logged reply it corrects, if any
            active INTEGER NOT NULL DEFAULT 1,  -- 0: removed (kept for the audit and undo)
            gone_since TEXT,  -- the words are not in the library since then
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        )""",
        "CREATE INDEX answer_corrections_by_person ON answer_corrections (person, active)",
        """CREATE TABLE answer_marks (
            question_id INTEGER PRIMARY KEY,
            person TEXT NOT NULL,
            mark TEXT NOT NULL CHECK (mark IN ('good', 'wrong')),
            marked_at TEXT NOT NULL,
            marked_by TEXT NOT NULL
        )""",
        """CREATE TABLE creator_changes (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            person TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,  -- correction:ID or mark:QUESTION_ID
            before TEXT NOT NULL,  -- JSON: the state before (null: none)
            after TEXT NOT NULL,  -- JSON: the state after
            undoes INTEGER,  -- the change this one undid
            undone_by INTEGER  -- the change that undid this one
        )""",
        "CREATE INDEX creator_changes_by_person ON creator_changes (person, id)",
    ]
    for statement in statements:
        db.execute(statement)

"""API keys for write actions: shown once when created, stored only as a SHA-256 digest,
checked in constant time. A key entered in the web app opens a session: the browser's
cookie holds the session id, never the key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

from podtwin.errors import ApiKeyError

__all__ = [
    "ApiKeyError",
    "create_key",
    "end_session",
    "key_holder",
    "list_keys",
    "revoke_key",
    "start_session",
    "verify_key",
    "verify_session",
]

PREFIX = "ptk_"
SESSION_PREFIX = "pts_"
SESSION_DAYS = 30


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: sqlite3.Connection, name: str) -> str:
    """A new key (returned once; only its digest is stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("a key needs a name of 1 to 100 characters")
    key = PREFIX + secrets.token_urlsafe(32)
    db.execute("INSERT INTO api_keys (name, digest, created_at) VALUES (?, ?, ?)", [name, _digest(key), _now()])
    return key


def verify_key(db: sqlite3.Connection, key: str | None) -> bool:
    """Is this a live key? Every stored digest is compared, each in constant time, so the
    time taken says nothing about how close a guess came."""
    return _live_key_id(db, key) is not None


def _live_key_id(db: sqlite3.Connection, key: str | None) -> int | None:
    if not key:
        return None
    wanted = _digest(key)
    ok_id = None
    for key_id, digest in db.execute("SELECT id, digest FROM api_keys WHERE revoked_at IS NULL"):
        if hmac.compare_digest(digest, wanted):
            ok_id = key_id
    if ok_id is not None:
        db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [_now(), ok_id])
    return ok_id


def start_session(db: sqlite3.Connection, key: str | None) -> str | None:
    """A new session id for a live key (None for any other key); only its digest is stored."""
    key_id = _live_key_id(db, key)
    if key_id is None:
        return None
    session = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = (now + timedelta(days=SESSION_DAYS)).isoformat(timespec="seconds")
    db.execute("DELETE FROM sessions WHERE expires_at <= ?", [now.isoformat(timespec="seconds")])
    db.execute(
        "INSERT INTO sessions (digest, key_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        [_digest(session), key_id, now.isoformat(timespec="seconds"), expires],
    )
    return session


def verify_session(db: sqlite3.Connection, session: str | None) -> bool:
    """Is this a live session: not expired, not ended, and its key not revoked? (A lookup by
    digest: a guess tells nothing, as the digest of a guess shares nothing with a stored one.)"""
    if not session or not session.startswith(SESSION_PREFIX):
        return False
    row = db.execute(
        """SELECT k.id FROM sessions s JOIN api_keys k ON k.id = s.key_id
           WHERE s.digest = ? AND s.expires_at > ? AND k.revoked_at IS NULL""",
        [_digest(session), _now()],
    ).fetchone()
    if row is not None:
        db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [_now(), row[0]])
    return row is not None


def end_session(db: sqlite3.Connection, session: str | None) -> None:
    if session:
        db.execute("DELETE FROM sessions WHERE digest = ?", [_digest(session)])


def list_keys(db: sqlite3.Connection) -> list[dict]:
    rows = db.execute("SELECT id, name, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id")
    return [dict(zip(("id", "name", "created_at", "last_used_at", "revoked_at"), r)) for r in rows]


def revoke_key(db: sqlite3.Connection, key_id: int) -> None:
    cur = db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [_now(), key_id])
    if cur.rowcount == 0:
        raise ApiKeyError(f"no live key with id {key_id}")


def key_holder(db: sqlite3.Connection, key: str | None = None, session: str | None = None) -> str | None:
    """The name of the live key a request carries, itself or through a session: who the
    creator's audit says made a change (None: no live key)."""
    if key is not None:
        key_id = _live_key_id(db, key)
    elif session and session.startswith(SESSION_PREFIX):
        row = db.execute(
            """SELECT k.id FROM sessions s JOIN api_keys k ON k.id = s.key_id
               WHERE s.digest = ? AND s.expires_at > ? AND k.revoked_at IS NULL""",
            [_digest(session), _now()],
        ).fetchone()
        key_id = None if row is None else row[0]
    else:
        key_id = None
    if key_id is None:
        return None
    return db.execute("SELECT name FROM api_keys WHERE id = ?", [key_id]).fetchone()[0]

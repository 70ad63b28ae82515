"""API keys for write actions: shown once when created, stored only as a SHA-256 digest,
checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from datetime import UTC, datetime

from podtwin.errors import PodtwinError

__all__ = ["KeyError_", "create_key", "list_keys", "revoke_key", "verify_key"]

PREFIX = "ptk_"


class KeyError_(PodtwinError):  # noqa: N801 - "KeyError" is a builtin
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: sqlite3.Connection, name: str) -> str:
    """A new key (returned once; only its digest is stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise KeyError_("a key needs a name of 1 to 100 characters")
    key = PREFIX + secrets.token_urlsafe(32)
    db.execute("INSERT INTO api_keys (name, digest, created_at) VALUES (?, ?, ?)", [name, _digest(key), _now()])
    return key


def verify_key(db: sqlite3.Connection, key: str | None) -> bool:
    """Is this a live key? Every stored digest is compared, each in constant time, so the
    time taken says nothing about how close a guess came."""
    if not key:
        return False
    wanted = _digest(key)
    ok_id = None
    for key_id, digest in db.execute("SELECT id, digest FROM api_keys WHERE revoked_at IS NULL"):
        if hmac.compare_digest(digest, wanted):
            ok_id = key_id
    if ok_id is not None:
        db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [_now(), ok_id])
    return ok_id is not None


def list_keys(db: sqlite3.Connection) -> list[dict]:
    rows = db.execute("SELECT id, name, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id")
    return [dict(zip(("id", "name", "created_at", "last_used_at", "revoked_at"), r)) for r in rows]


def revoke_key(db: sqlite3.Connection, key_id: int) -> None:
    cur = db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [_now(), key_id])
    if cur.rowcount == 0:
        raise KeyError_(f"no live key with id {key_id}")

"""The creator's webhooks ("take over", issue 18): one per twin, the events podtwin sends to
it from a durable queue in the library, and listeners' flags on replies.

A webhook belongs to a person (keyed by the canonical name, as a persona is, and renamed with
the person): a creator who runs several twins watches different topics, and trusts each twin
to a different confidence, for each. Its secret signs every event (HMAC-SHA256, see
api.webhooks); it is needed to sign, so it is kept as is, and shown only when it is made.

Events are rows: created in the same transaction as what caused them, sent until a 2xx
answers (attempts, next_attempt_at with exponential backoff), so they survive a restart.
Sending is at-least-once; the event id goes out as the delivery id, and a receiver that
processes each id once sees each event exactly once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from podtwin.errors import WebhookError

__all__ = [
    "EVENT_KINDS",
    "WebhookError",
    "add_flag",
    "check_url",
    "claim_due",
    "delete_webhook",
    "enqueue_event",
    "list_events",
    "mark_delivered",
    "mark_failed",
    "set_webhook",
    "webhook_of",
]

EVENT_KINDS = ("watched_topic", "flagged", "unsure")
MAX_URL = 2000
MAX_TOPICS = 50
MAX_TOPIC_CHARS = 200
MAX_ATTEMPTS = 10  # then the event is given up, shown as failed with its last error
BACKOFF_CAP_S = 3600.0
SECRET_PREFIX = "whsec_"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def check_url(url: str) -> str:
    """The URL, stripped, if an event can be POSTed to it; else a WebhookError saying why."""
    url = url.strip()
    if not url:
        raise WebhookError("a webhook needs a URL (http:// or https://)")
    if len(url) > MAX_URL:
        raise WebhookError(f"the webhook URL is {len(url):,} characters; the limit is {MAX_URL:,}")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise WebhookError("the webhook URL has spaces or control characters in it")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as e:
        raise WebhookError(f"the webhook URL cannot be read: {e}") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise WebhookError(f"a webhook URL must start with http:// or https://, not {shown}")
    if not parts.hostname:
        raise WebhookError("the webhook URL names no host")
    if parts.username or parts.password:
        raise WebhookError("the webhook URL must not carry a user name or password; events are signed instead")
    return url


def _check_topics(topics: list[str]) -> list[str]:
    kept: list[str] = []
    for topic in topics:
        topic = " ".join(str(topic).split())
        if not topic:
            raise WebhookError("a watch topic is empty")
        if len(topic) > MAX_TOPIC_CHARS:
            raise WebhookError(f"a watch topic is {len(topic)} characters; the limit is {MAX_TOPIC_CHARS}")
        if topic not in kept:
            kept.append(topic)
    if len(kept) > MAX_TOPICS:
        raise WebhookError(f"{len(kept)} watch topics; the limit is {MAX_TOPICS}")
    return kept


def _row(r: tuple, *, secret: bool = False) -> dict:
    out = {
        "person": r[0],
        "url": r[1],
        "watch_topics": json.loads(r[3]),
        "unsure_below": r[4],
        "created_at": r[5],
        "updated_at": r[6],
    }
    if secret:
        out["secret"] = r[2]
    return out


def webhook_of(db: sqlite3.Connection, person: str, *, secret: bool = False) -> dict | None:
    """A person's webhook (person: the canonical name), without its secret unless asked."""
    r = db.execute(
        "SELECT person, url, secret, watch_topics, unsure_below, created_at, updated_at FROM webhooks WHERE person = ?",
        [person],
    ).fetchone()
    return _row(r, secret=secret) if r else None


_KEEP = object()


def set_webhook(
    db: sqlite3.Connection,
    person: str,
    url: str | None = None,
    *,
    watch_topics: list[str] | None = None,
    unsure_below: float | None | object = _KEEP,
    new_secret: bool = False,
) -> dict:
    """Make or change a person's webhook; settings left out (None; unsure_below left out) stay.

    The reply carries `secret` only when one was made (the first time, or new_secret): it is
    shown once, like an API key. unsure_below None turns `unsure` events off."""
    current = webhook_of(db, person, secret=True)
    if current is None and url is None:
        raise WebhookError(f"{person} has no webhook yet: give its URL (http:// or https://)")
    url = check_url(url) if url is not None else current["url"]
    topics = _check_topics(watch_topics) if watch_topics is not None else (current or {}).get("watch_topics", [])
    if unsure_below is _KEEP:
        unsure_below = current["unsure_below"] if current else None
    if unsure_below is not None:
        try:
            unsure_below = float(unsure_below)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise WebhookError(f"unsure_below must be a number from 0 to 1, not {unsure_below!r}") from None
        if not 0.0 <= unsure_below <= 1.0:
            raise WebhookError(f"unsure_below must be from 0 to 1 (a confidence), not {unsure_below}")
    made = current is None or new_secret
    secret = SECRET_PREFIX + secrets.token_urlsafe(32) if made else current["secret"]
    now = _iso(_now())
    db.execute(
        """INSERT INTO webhooks (person, url, secret, watch_topics, unsure_below, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (person) DO UPDATE SET url = excluded.url, secret = excluded.secret,
               watch_topics = excluded.watch_topics, unsure_below = excluded.unsure_below,
               updated_at = excluded.updated_at""",
        [person, url, secret, json.dumps(topics), unsure_below, now, now],
    )
    out = webhook_of(db, person, secret=made)
    assert out is not None
    return out


def delete_webhook(db: sqlite3.Connection, person: str) -> bool:
    """Remove a person's webhook; whether there was one. Its events stay, as a record; those not
    yet delivered are given up now (failed, "the webhook was removed"), never sent to a webhook
    made later with another URL and secret."""
    if db.execute("DELETE FROM webhooks WHERE person = ?", [person]).rowcount == 0:
        return False
    db.execute(
        """UPDATE events SET next_attempt_at = NULL, last_error = 'the webhook was removed'
           WHERE person = ? AND delivered_at IS NULL AND next_attempt_at IS NOT NULL""",
        [person],
    )
    return True


def enqueue_event(db: sqlite3.Connection, kind: str, person: str, data: dict, now: datetime | None = None) -> str:
    """Queue an event for the person's webhook; its id (a uuid), which the body carries too.
    The body is fixed here, so every attempt sends (and signs) the same bytes."""
    if kind not in EVENT_KINDS:
        raise WebhookError(f"unknown event kind {kind!r} ({', '.join(EVENT_KINDS)})")
    event_id = str(uuid.uuid4())
    created = _iso(now or _now())
    body = json.dumps({"id": event_id, "kind": kind, "person": person, "created_at": created, "data": data},
                      ensure_ascii=False, sort_keys=True)  # fmt: skip
    db.execute(
        """INSERT INTO events (id, kind, person, payload, created_at, attempts, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, 0, ?)""",
        [event_id, kind, person, body, created, created],
    )
    return event_id


def claim_due(db: sqlite3.Connection, now: datetime, lease_s: float, limit: int = 50) -> list[dict]:
    """Events due at `now` with their webhook's URL and secret, oldest first, each leased for
    lease_s (its next attempt moved past the send), so another sender does not take it while
    it is in flight, and one lost in a crash is sent again after the lease. Run it in a
    transaction (Library.atomic): the lease is what makes a claim one sender's."""
    rows = db.execute(
        """SELECT e.id, e.kind, e.person, e.payload, e.attempts, w.url, w.secret
           FROM events e LEFT JOIN webhooks w ON w.person = e.person
           WHERE e.next_attempt_at IS NOT NULL AND e.next_attempt_at <= ?
           ORDER BY e.next_attempt_at, e.created_at LIMIT ?""",
        [_iso(now), limit],
    ).fetchall()
    lease = _iso(now + timedelta(seconds=lease_s))
    for r in rows:
        db.execute("UPDATE events SET next_attempt_at = ? WHERE id = ?", [lease, r[0]])
    return [
        {"id": r[0], "kind": r[1], "person": r[2], "body": r[3], "attempts": r[4], "url": r[5], "secret": r[6]}
        for r in rows
    ]


def mark_delivered(db: sqlite3.Connection, event_id: str, now: datetime) -> None:
    """A 2xx came back: the event is done."""
    db.execute(
        """UPDATE events SET attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, last_error = NULL
           WHERE id = ? AND delivered_at IS NULL""",
        [_iso(now), event_id],
    )


def mark_failed(
    db: sqlite3.Connection,
    event_id: str,
    error: str,
    now: datetime,
    *,
    backoff_s: float = 2.0,
    cap_s: float = BACKOFF_CAP_S,
    max_attempts: int = MAX_ATTEMPTS,
) -> str | None:
    """An attempt failed: the next one after backoff_s * 2^(attempts-1), at most cap_s; after
    max_attempts the event is given up (kept, with its last error). Returns when the next
    attempt is due (ISO time), None when given up."""
    row = db.execute("SELECT attempts, delivered_at FROM events WHERE id = ?", [event_id]).fetchone()
    if row is None or row[1] is not None:
        return None
    attempts = row[0] + 1
    due = None
    if attempts < max_attempts:
        due = _iso(now + timedelta(seconds=min(cap_s, backoff_s * 2 ** (attempts - 1))))
    db.execute(
        "UPDATE events SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        [attempts, due, error[:500], event_id],
    )
    return due


def _status(delivered_at: str | None, next_attempt_at: str | None) -> str:
    if delivered_at:
        return "delivered"
    return "pending" if next_attempt_at else "failed"


_STATUS = {
    "delivered": "delivered_at IS NOT NULL",
    "pending": "delivered_at IS NULL AND next_attempt_at IS NOT NULL",
    "failed": "delivered_at IS NULL AND next_attempt_at IS NULL",
}


def list_events(
    db: sqlite3.Connection, person: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict]:
    """The latest events, newest first, with status delivered, pending (to be tried again) or
    failed (given up); of one person's webhook, or every one (person None)."""
    if status is not None and status not in _STATUS:
        raise WebhookError(f"unknown event status {status!r} ({', '.join(_STATUS)})")
    rows = db.execute(
        f"""SELECT id, kind, person, payload, created_at, attempts, next_attempt_at, delivered_at, last_error
            FROM events WHERE (? IS NULL OR person = ?) AND {_STATUS[status] if status else "1"}
            ORDER BY created_at DESC, rowid DESC LIMIT ?""",
        [person, person, limit],
    ).fetchall()
    return [
        {"id": r[0], "kind": r[1], "person": r[2], "status": _status(r[7], r[6]), "created_at": r[4],
         "attempts": r[5], "next_attempt_at": r[6], "delivered_at": r[7], "last_error": r[8],
         "data": json.loads(r[3])["data"]}
        for r in rows
    ]  # fmt: skip


def add_flag(db: sqlite3.Connection, question_id: int, reason: str, client: str) -> dict | None:
    """Store a listener's flag on a logged reply; the question it flags (id, person, question,
    reply), or None when there is no such question."""
    r = db.execute("SELECT id, person, question, reply FROM questions WHERE id = ?", [question_id]).fetchone()
    if r is None:
        return None
    db.execute(
        "INSERT INTO flags (question_id, reason, client, created_at) VALUES (?, ?, ?, ?)",
        [question_id, reason, client, _iso(_now())],
    )
    return {"id": r[0], "person": r[1], "question": r[2], "reply": json.loads(r[3])}

"""Sending the creator's webhook events (issue 18, "take over"), signed like GitHub's.

Each event is POSTed as JSON to the twin's webhook URL with the headers

    X-Podtwin-Event:          watched_topic | flagged | unsure
    X-Podtwin-Delivery:       the event's id (a uuid), the same on every attempt
    X-Podtwin-Signature-256:  sha256=<hex HMAC-SHA256 of the raw body, keyed by the webhook's secret>

A 2xx answer delivers the event; anything else (another status, a redirect, a timeout, a
refused connection) is a failed attempt, tried again after exponential backoff (2 s, 4 s,
8 s ... at most an hour; given up after store.webhooks.MAX_ATTEMPTS). The queue is a table
in the library, so events survive a restart.

Delivery is at-least-once: an event whose 2xx was lost (the receiver took longer than the
timeout, the connection broke after it answered) is sent again with the same delivery id and
the same signed bytes. A receiver gets every event exactly once by processing each delivery
id once (keep the ids it has processed; answer 2xx to one seen before). It should check the
signature over the raw body in constant time (`verify`) before it trusts the JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from podtwin.store.library import Library
from podtwin.store.webhooks import MAX_ATTEMPTS, claim_due, mark_delivered, mark_failed

__all__ = ["SIGNATURE_HEADER", "Deliverer", "deliver_due", "sign", "verify"]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Podtwin-Signature-256"
EVENT_HEADER = "X-Podtwin-Event"
DELIVERY_HEADER = "X-Podtwin-Delivery"
USER_AGENT = "podtwin-webhooks/0.1"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: "sha256=" and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether a signature header is the body's under the secret (constant-time compare): what
    a receiver checks before trusting an event."""
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature or "")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # a redirected POST would be re-sent as a GET without its body: a 3xx is a failed attempt
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str | None:
    """POST once; None when a 2xx answered, else what went wrong (never the response's body)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)  # drain a little, so the connection ends cleanly
    except urllib.error.HTTPError as e:
        e.close()
        return f"HTTP {e.code}"
    except TimeoutError:
        return f"timed out after {timeout:g} s"
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, TimeoutError):
            return f"timed out after {timeout:g} s"
        return f"could not connect: {reason}"
    except (OSError, ValueError) as e:  # a connection reset mid-answer, a malformed response
        return f"failed: {type(e).__name__}: {e}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_due(
    library: Library,
    now: datetime | None = None,
    timeout: float = 5.0,
    *,
    backoff_s: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 50,
    stop: threading.Event | None = None,
) -> dict:
    """One delivery pass: POST each event due at `now` (default: the time now), at most
    `limit`, oldest first. Returns counts: delivered, retry (failed, to be tried again) and
    failed (given up). stop: set, the pass ends before the next event (those claimed and not
    sent are tried again once their lease ends)."""
    claimed_at = now or datetime.now(UTC)
    with library.atomic() as db:
        events = claim_due(db, claimed_at, lease_s=timeout + 30.0, limit=limit)
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for event in events:
        if stop is not None and stop.is_set():
            break
        if event["url"] is None:
            error: str | None = "the person has no webhook any more"
            attempts_left = 0
        else:
            body = event["body"].encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                EVENT_HEADER: event["kind"],
                DELIVERY_HEADER: event["id"],
                SIGNATURE_HEADER: sign(event["secret"], body),
            }
            error = _post(event["url"], body, headers, timeout)
            attempts_left = max_attempts
        at = now or datetime.now(UTC)
        with library.atomic() as db:
            if error is None:
                mark_delivered(db, event["id"], at)
                counts["delivered"] += 1
            elif mark_failed(db, event["id"], error, at, backoff_s=backoff_s, max_attempts=attempts_left) is None:
                counts["failed"] += 1
            else:
                counts["retry"] += 1
        if error is not None:
            log.info("webhook event %s (%s): %s", event["id"], event["kind"], error)
    return counts


class Deliverer:
    """The server's background sender: a delivery pass every `interval` seconds on a thread of
    its own with its own connection, until stop(). Each pass sends at most `limit` events and
    checks for stop between them, so shutdown waits for one send at most."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        interval: float = 1.0,
        timeout: float = 5.0,
        backoff_s: float = 2.0,
        limit: int = 20,
    ) -> None:
        self.db_path = Path(db_path)
        self.interval, self.timeout, self.backoff_s, self.limit = interval, timeout, backoff_s, limit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="podtwin-webhooks", daemon=True)
            self._thread.start()

    def stop(self, wait: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5.0 if wait is None else wait)
            self._thread = None

    def _run(self) -> None:
        library = Library(self.db_path, create=False)
        try:
            while not self._stop.is_set():
                try:
                    counts = deliver_due(
                        library, timeout=self.timeout, backoff_s=self.backoff_s, limit=self.limit, stop=self._stop
                    )
                except Exception:  # a locked or broken library: try again on the next pass
                    log.exception("webhook delivery pass failed")
                    counts = {}
                if not any(counts.values()):  # nothing was due: wait; else go on with the next ones
                    self._stop.wait(self.interval)
        finally:
            library.close()

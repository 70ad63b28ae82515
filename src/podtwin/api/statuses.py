"""The one place the HTTP app turns podtwin's errors (podtwin.errors) into statuses."""

from __future__ import annotations

from podtwin.errors import LibraryError, NotFound, PodtwinError

__all__ = ["status_of"]

# the first kind the error is decides; anything else a user did wrong is a 400
STATUSES: tuple[tuple[type[PodtwinError], int], ...] = ((NotFound, 404), (LibraryError, 503), (PodtwinError, 400))


def status_of(error: PodtwinError) -> int:
    return next(status for kind, status in STATUSES if isinstance(error, kind))

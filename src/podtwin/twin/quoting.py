"""What may be quoted as a person's own words: the rules a twin's answer and a creator's pin
both keep (twin.answer quotes by them; twin.corrections checks a pin by them when it is made
and whenever it answers)."""

from __future__ import annotations

__all__ = ["ANSWER_KINDS", "quoting_threshold", "unusable_reason"]

# Only ordinary speech answers: never an intro, a sponsor read, a hand-off or a sign-off (the
# host's included), and not a cold open either (a clip of the conversation, quoted there).
ANSWER_KINDS = ("conversation",)
_IDX, _SPEAKER, _CONFIDENCE, _KIND = 0, 1, 8, 10  # columns of store.sentences.sentence_rows


def quoting_threshold() -> float:
    """The speaker confidence a sentence needs to be quoted as its speaker's (the packaged
    speaker calibration's)."""
    from podtwin.speakers.calibration import default_calibration

    return default_calibration().threshold


def unusable_reason(rows: list[tuple], person: str) -> str | None:
    """Why these sentence rows (store.sentences.sentence_rows) may not answer as the person's
    words, or None when they may."""
    threshold = quoting_threshold()
    for r in rows:
        if r[_SPEAKER] != person:
            who = r[_SPEAKER] or "no one known"
            return f"sentence {r[_IDX]} is {who}'s words, not {person}'s"
        if r[_CONFIDENCE] < threshold:
            return (
                f"who spoke sentence {r[_IDX]} is uncertain (confidence {r[_CONFIDENCE]:.2f}, below "
                f"{threshold:.2f}); confirm its speaker in the speakers review first"
            )
        if r[_KIND] not in ANSWER_KINDS:
            return f"sentence {r[_IDX]} is not the conversation but part of the {r[_KIND]}"
    return None

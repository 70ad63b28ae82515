"""Speaker confidence a twin can rely on: a calibration map and the quoting threshold.

The speaker model's raw P(its speaker is right) is mapped through an isotonic fit made on
shows the model never saw (each show group's train files, attributed by a model trained
without that group; see podtwin.lab.train_speaker_calibration). The threshold is the lowest
calibrated confidence at which, on those same out-of-show predictions, no more than
1 % of the words quoted at or above it belong to someone else. Both ship in
``speaker_calibration.json`` beside the model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["Calibration", "asks_you", "default_calibration"]

DEFAULT_PATH = Path(__file__).with_name("speaker_calibration.json")


@dataclass
class Calibration:
    """Two isotonic maps: one for sentences that ask the other person something ("What do
    you think ...?": a guest's sentence of that shape is often the host's question run
    into the guest's turn), one for every other sentence."""

    xs: list[float]  # raw confidences (increasing) ...
    ys: list[float]  # ... and their calibrated values (non-decreasing)
    threshold: float  # quote a sentence only at or above this calibrated confidence
    info: dict
    xs_asks: list[float] = field(default_factory=list)  # the same for sentences that ask "you"
    ys_asks: list[float] = field(default_factory=list)

    def calibrate(self, p: float, asks: bool = False) -> float:
        xs, ys = (self.xs_asks, self.ys_asks) if asks and self.xs_asks else (self.xs, self.ys)
        if not xs:
            return float(p)
        return float(np.interp(p, xs, ys))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        data = json.loads(Path(path or DEFAULT_PATH).read_text())
        return cls(
            data["xs"],
            data["ys"],
            float(data["threshold"]),
            data.get("info", {}),
            data.get("xs_asks", []),
            data.get("ys_asks", []),
        )

    def save(self, path: str | Path) -> None:
        data = {
            "xs": self.xs,
            "ys": self.ys,
            "xs_asks": self.xs_asks,
            "ys_asks": self.ys_asks,
            "threshold": self.threshold,
            "info": self.info,
        }
        Path(path).write_text(json.dumps(data, indent=1) + "\n")


_ASKS = re.compile(
    r"^(?:\W*(?:and|so|but|well|okay|ok|yeah|yes|no|um|uh)\b[\s,]*)*"
    r"(?:what|why|how|when|where|who|which|do|does|did|are|is|was|were|can|could|would|will|should|have|has)\b",
    re.I,
)
_YOU = re.compile(r"\byou(?:r|rs|rself)?\b|\byou'(?:re|ve|d|ll)\b", re.I)


def asks_you(text: str) -> bool:
    """Does the sentence ask the other person something: a question (by its mark, or by
    its first word when punctuation is missing) that says "you"?"""
    t = text.strip().replace("’", "'")
    if not _YOU.search(t):
        return False
    return t.rstrip("\"'”’)] ").endswith("?") or bool(_ASKS.match(t))


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The packaged calibration, loaded once."""
    return Calibration.load()

"""Speaker confidence a twin can rely on: a calibration map and the quoting threshold.

The speaker model's raw P(its speaker is right) is mapped through an isotonic fit made on
shows the model never saw (each show group's train files, attributed by a model trained
without that group; see podtwin.speakers.train_calibration). The threshold is the lowest
calibrated confidence at which, on those same out-of-show predictions, no more than
1 % of the words quoted at or above it belong to someone else. Both ship in
``speaker_calibration.json`` beside the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["Calibration", "default_calibration"]

DEFAULT_PATH = Path(__file__).with_name("speaker_calibration.json")


@dataclass
class Calibration:
    xs: list[float]  # raw confidences (increasing) ...
    ys: list[float]  # ... and their calibrated values (non-decreasing)
    threshold: float  # quote a sentence only at or above this calibrated confidence
    info: dict

    def calibrate(self, p: float) -> float:
        if not self.xs:
            return float(p)
        return float(np.interp(p, self.xs, self.ys))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        data = json.loads(Path(path or DEFAULT_PATH).read_text())
        return cls(data["xs"], data["ys"], float(data["threshold"]), data.get("info", {}))

    def save(self, path: str | Path) -> None:
        data = {"xs": self.xs, "ys": self.ys, "threshold": self.threshold, "info": self.info}
        Path(path).write_text(json.dumps(data, indent=1) + "\n")


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The packaged calibration, loaded once."""
    return Calibration.load()

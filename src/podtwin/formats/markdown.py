"""Speaker-labelled Markdown with YAML front matter, as published for Lenny's Podcast:

---
guest: Annie Duke
---
# Title
## Transcript
Annie Duke (00:00:16):
People generally think ...
(00:01:51):
continuation by the same speaker ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from podtwin.formats.base import Reader, TextBuilder, Transcript, Utterance
from podtwin.formats.markup import copy_unescaped

_TIME = r"\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d+)?"
_NAME = r"[A-Z\u00C0-\u024F][\w.'’‘\-]*(?:,?[ \t]+[\w.'’‘\-&]+){0,5}?(?:[ \t]*\([^()\n]{1,20}\))?"
# Three label styles: "Name (00:01:02):" alone on a line, "Name:" alone on a line,
# and "[00:01:02] Name: text" inline. Whitespace runs are possessive (*+) so a line of
# spaces cannot make adjacent runs backtrack against each other. "(00:01:51):" continues the previous speaker.
_LABEL = re.compile(
    rf"^[ \t]*+(?:\*\*)?(?:"
    rf"(?P<name_a>[^\s()*][^\n()*]{{0,80}}?(?:[ \t]*+\([^()\n]{{1,20}}\))?)?"
    rf"[ \t]*+(?:\*\*)?[ \t]*+\((?P<time_a>{_TIME})\)[ \t]*+:?[ \t]*+(?:\*\*)?[ \t]*+$"
    rf"|(?P<name_b>{_NAME}):(?:\*\*)?[ \t]*+$"
    rf"|\[(?P<time_c>{_TIME})\][ \t]*+(?:(?P<name_c>{_NAME}):)?[ \t]*+"
    rf")",
    re.MULTILINE,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.MULTILINE)


def seconds(stamp: str) -> float:
    """'01:02:03' -> 3723.0; '02:03' -> 123.0."""
    total = 0.0
    for part in stamp.replace(",", ".").split(":"):
        total = total * 60 + float(part)
    return total


def parse_front_matter(block: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(block)
    except (yaml.YAMLError, ValueError, RecursionError):
        # Broken front matter costs its metadata, never the transcript.
        return {}
    if not isinstance(data, dict):
        return {}
    try:
        meta: dict[str, Any] = {"front_matter": {str(k): _plain(v) for k, v in data.items()}}
    except RecursionError:  # a self-referencing YAML alias
        return {}
    if isinstance(data.get("title"), str):
        meta["title"] = " ".join(data["title"].split())
    guest = data.get("guest") or data.get("guests")
    if isinstance(guest, str):
        meta["guests"] = [g.strip() for g in re.split(r"\s*(?:&|,|\band\b)\s*", guest) if g.strip()]
    elif isinstance(guest, list):
        meta["guests"] = [str(g).strip() for g in guest if str(g).strip()]
    for key in ("show", "channel", "podcast"):
        if isinstance(data.get(key), str):
            meta["show"] = data[key].strip()
            break
    if isinstance(data.get("host"), str):
        meta["host"] = data["host"].strip()
    for key in ("publish_date", "date", "published"):
        value = data.get(key)
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            meta["date"] = value.isoformat()
            break
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
            meta["date"] = value[:10]
            break
    for key in ("episode", "number", "episode_number"):
        if _finite_number(data.get(key)) and float(data[key]).is_integer():
            meta["number"] = int(data[key])
    if _finite_number(data.get("duration_seconds")):
        meta["duration_s"] = float(data["duration_seconds"])
    return meta


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class LabelledMarkdownReader:
    name = "markdown"

    def sniff(self, source: str, path: Path) -> float:
        labels = len(_LABEL.findall(source, 0, 200000))
        if labels >= 2:
            return 0.95
        if labels == 1 or _FRONT_MATTER.match(source):
            return 0.5
        return 0.0

    def read(self, source: str, path: Path) -> Transcript:
        metadata: dict[str, Any] = {}
        body_start = 0
        fm = _FRONT_MATTER.match(source)
        if fm:
            metadata.update(parse_front_matter(fm.group(1)))
            body_start = fm.end()

        builder = TextBuilder(source)
        utterances: list[Utterance] = []
        speaker: str | None = None
        start_s: float | None = None
        labels = list(_LABEL.finditer(source, body_start))
        # Regions of text between labels; text before the first label is headings/preamble.
        bounds = [
            (m.end(), labels[i + 1].start() if i + 1 < len(labels) else len(source)) for i, m in enumerate(labels)
        ]
        preamble_end = labels[0].start() if labels else len(source)
        for h in _HEADING.finditer(source, body_start, preamble_end):
            if "title" not in metadata and h.group(1).lower() != "transcript":
                metadata["title"] = h.group(1)
        if not labels:
            # No labels: every paragraph that is not a heading is speech by an unknown speaker.
            bounds = [(body_start, len(source))]
        for i, (a, b) in enumerate(bounds):
            if labels:
                m = labels[i]
                name = " ".join((m.group("name_a") or m.group("name_b") or m.group("name_c") or "").split())
                speaker = name or speaker  # "(00:01:51):" continues the previous speaker
                stamp = m.group("time_a") or m.group("time_c")
                start_s = seconds(stamp) if stamp else None
            self._add_paragraphs(builder, source, a, b, speaker, start_s, utterances)
        for prev, nxt in zip(utterances, utterances[1:]):
            if prev.start_s is not None and nxt.start_s is not None and nxt.start_s >= prev.start_s:
                prev.end_s = nxt.start_s
        if utterances and utterances[-1].start_s is not None and "duration_s" in metadata:
            if metadata["duration_s"] >= utterances[-1].start_s:
                utterances[-1].end_s = metadata["duration_s"]
        return Transcript(str(path), self.name, source, builder.build(), utterances, metadata)

    def _add_paragraphs(self, builder, source, a, b, speaker, start_s, utterances) -> None:
        first = True
        for line in re.finditer(r"[^\r\n]+", source[a:b]):
            la, lb = a + line.start(), a + line.end()
            stripped = line.group(0).strip()
            if not stripped or _HEADING.match(stripped):
                continue
            if first:
                if len(builder):
                    builder.put("\n\n", la - 1, la)
                start = len(builder)
                first = False
            else:
                builder.put(" ", la - 1, la)
            copy_unescaped(builder, la, lb)
        if not first:
            utterances.append(Utterance(start, len(builder), speaker, start_s))


def register_readers(register: Callable[[Reader], None]) -> None:
    register(LabelledMarkdownReader())

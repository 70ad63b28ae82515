"""Markdown leftovers in transcript text: `\\$` escapes and `[text](url)` links.

The readable text keeps what a listener heard (the `$`, the link's text) and every
character still maps to where it stands in the source.
"""

from __future__ import annotations

import re

from podtwin.formats.base import TextBuilder

_LEFTOVER = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$&%|<>~\"'])|\[([^\]\n]{1,500})\]\((?:[^()\s]|\([^()\s]*\))*\)")


def copy_unescaped(builder: TextBuilder, start: int, end: int) -> None:
    """Copy source[start:end] into builder, unescaping Markdown leftovers."""
    source = builder.source
    cursor = start
    for m in _LEFTOVER.finditer(source, start, end):
        builder.copy(cursor, m.start())
        if m.group(1) is not None:
            builder.put(m.group(1), m.start(), m.end())
        else:
            # link: keep its text verbatim (it maps exactly), drop the bracket and URL
            text_start = m.start(2)
            builder.put("", m.start(), text_start)
            builder.copy(text_start, m.end(2))
        cursor = m.end()
    builder.copy(cursor, end)

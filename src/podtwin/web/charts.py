"""Charts drawn on the server as inline SVG: no script, nothing fetched, readable on a phone.

Each chart is one <svg> with a viewBox and width 100%, so it scales to its column (CSS caps
its width on a wide screen); every bar carries a <title> with its figures, and the page says
the same figures in text beside it. Text inside is escaped (a day or a label is data)."""

from __future__ import annotations

from markupsafe import Markup, escape

__all__ = ["OUTCOME_COLOURS", "bars_per_day", "share_bar"]

OUTCOME_COLOURS = {"answered": "#2e7d32", "abstained": "#b26a00", "declined": "#b3261e"}
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 360, 150, 16, 18, 30


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def bars_per_day(days: list[dict], label: str = "Questions per day") -> Markup:
    """A bar for each day ({day, count}, oldest first), the tallest at the top of the plot;
    the scale's top and the first and last day written along the axes."""
    peak = max((d["count"] for d in days), default=0)
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(days), 1)
    gap = step * 0.15 if step > 3 else 0
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}" stroke="#888" stroke-width="1"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="#555">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="11" fill="#555">0</text>',
    ]
    for i, d in enumerate(days):
        h = plot_h * d["count"] / peak if peak else 0
        x, y = LEFT + i * step + gap / 2, TOP + plot_h - h
        parts.append(
            f'<rect class="day" x="{_number(x)}" y="{_number(y)}" width="{_number(step - gap)}" '
            f'height="{_number(h)}" fill="#0b57d0"><title>{escape(d["day"])}: {d["count"]}</title></rect>'
        )
    if days:
        base = TOP + plot_h + 14
        parts.append(f'<text x="{LEFT}" y="{base}" font-size="11" fill="#555">{escape(days[0]["day"])}</text>')
        if len(days) > 1:
            parts.append(
                f'<text x="{WIDTH - 4}" y="{base}" text-anchor="end" font-size="11" fill="#555">'
                f"{escape(days[-1]['day'])}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(counts: dict[str, int], label: str = "Answered, abstained and declined") -> Markup:
    """One bar split in the shares of each outcome ({outcome: count}), in OUTCOME_COLOURS."""
    total = sum(counts.values())
    width, height = WIDTH, 24
    parts = [
        f'<svg class="chart share" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#e6e6e6"/>',
    ]
    x = 0.0
    for outcome, count in counts.items():
        if not total or not count:
            continue
        w = width * count / total
        colour = OUTCOME_COLOURS.get(outcome, "#777")
        parts.append(
            f'<rect class="share-{escape(outcome)}" x="{_number(x)}" y="0" width="{_number(w)}" height="{height}" '
            f'fill="{colour}"><title>{escape(outcome)}: {count} ({count / total:.0%})</title></rect>'
        )
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))

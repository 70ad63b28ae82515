"""`podtwin search "query"`"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from podtwin.cli.common import console, err_console, open_library, print_json
from podtwin.search.query import KINDS, clock, resolve_filters, search

SNIPPET_WORDS = 40


def register(app: typer.Typer) -> None:
    @app.command("search")
    def search_command(
        ctx: typer.Context,
        query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
        speaker: Annotated[str | None, typer.Option(help="Only passages this person spoke.")] = None,
        episode: Annotated[str | None, typer.Option(help="Only this episode (id, #number or part of a title).")] = None,
        show: Annotated[str | None, typer.Option(help="Only this show.")] = None,
        kind: Annotated[
            list[str] | None,
            typer.Option(help=f"Segment kinds to search ({', '.join(KINDS)}, or all); default: the conversation."),
        ] = None,
        limit: Annotated[int, typer.Option(help="How many results.")] = 10,
        mode: Annotated[str, typer.Option(help="hybrid, lexical or dense.")] = "hybrid",
        rerank: Annotated[
            bool, typer.Option("--rerank", help="Re-order the top results with the cross-encoder (slower, better).")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    ) -> None:
        """Ranked passages for a question, with speaker, episode, position and highlighted words."""
        with open_library(ctx) as library:
            filters = resolve_filters(library, speaker=speaker, episode=episode, show=show, kinds=kind)
            result = search(library, query, filters, limit=limit, mode=mode, rerank=rerank)
        for note in result.notes:
            err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        if as_json:
            print_json([h.as_json() for h in result.hits])
            return
        if not result.hits:
            console.print("no passages found")
            return
        table = Table(show_lines=True)
        for col in ("#", "speaker", "episode", "at", "passage", "score"):
            table.add_column(col, overflow="fold")
        for i, h in enumerate(result.hits, 1):
            episode_label = (f"#{h.episode_number} " if h.episode_number else "") + (
                h.title or f"episode {h.episode_id}"
            )
            score = f"{h.rerank_score:.2f}" if h.rerank_score is not None else f"{h.score:.4f}"
            table.add_row(str(i), h.speaker or "?", escape(episode_label), position(h), snippet(h), score)
        console.print(table)


def position(h) -> str:
    if h.start_s is not None:
        return clock(h.start_s)
    return f"char {h.start_char:,}"


def snippet(h, words: int = SNIPPET_WORDS) -> str:
    """Rich markup: the passage around its first highlighted word, query words in bold."""
    text = h.text
    spans = h.highlights
    start = 0
    if spans:
        # start a few words before the first match, at a word boundary
        before = text[: spans[0][0]].split()
        start = len(" ".join(before[: max(0, len(before) - 8)]))
    out, pos = [], start
    tokens = text[start:].split(" ")
    end = start + len(" ".join(tokens[:words]))
    for a, b in spans:
        if a < pos or a >= end:
            continue
        out.append(escape(text[pos:a]))
        out.append(f"[bold yellow]{escape(text[a:b])}[/bold yellow]")
        pos = b
    out.append(escape(text[pos:end]))
    return ("… " if start else "") + "".join(out).strip() + (" …" if end < len(text) else "")

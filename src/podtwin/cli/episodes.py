"""`podtwin episodes`, `podtwin show EPISODE`, `podtwin export EPISODE`."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from podtwin.cli.common import console, open_library, print_json
from podtwin.store.library import resolve_episode


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    txt = "txt"
    md = "md"


def register(app: typer.Typer) -> None:
    @app.command("episodes")
    def episodes_command(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List the library's episodes."""
        with open_library(ctx) as library:
            rows = library.episodes()
        if as_json:
            print_json(rows)
            return
        table = Table("id", "show", "#", "title", "host", "guests", "date", "words", "sources")
        for column in table.columns:
            column.overflow = "fold"  # never cut a title or a name short
        for e in rows:
            table.add_row(
                str(e["id"]),
                e["show"] or "",
                str(e["number"] or ""),
                e["title"] or "",
                e["host"] or "",
                ", ".join(e["guests"]),
                e["date"] or "",
                f"{e['words']:,}",
                str(e["sources"]),
            )
        console.print(table)
        console.print(f"{len(rows)} episodes")

    @app.command("show")
    def show_command(
        ctx: typer.Context,
        episode: Annotated[str, typer.Argument(help="Episode id, #number, or part of its title or guest name.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show one episode: metadata, segments by kind, speakers and sources."""
        with open_library(ctx) as library:
            info = library.episode(resolve_episode(library, episode))
        if as_json:
            print_json(info)
            return
        console.print(f"[bold]{info['title'] or '(untitled)'}[/bold]  (episode id {info['id']})", highlight=False)
        for label, key in (("show", "show"), ("number", "number"), ("host", "host"), ("date", "date")):
            if info[key] is not None:
                console.print(f"  {label}: {info[key]}", highlight=False)
        console.print(f"  guests: {', '.join(info['guests']) or '-'}", highlight=False)
        if info["appearance"]:
            console.print(f"  appearance: {info['appearance']}", highlight=False)
        console.print(f"  words: {info['words']:,}")
        kinds = Table("kind", "segments", "sentences", "words", title="segments by kind")
        for kind, k in info["kinds"].items():
            kinds.add_row(kind, str(k["segments"]), str(k["sentences"]), f"{k['words']:,}")
        console.print(kinds)
        speakers = Table("speaker", "sentences", title="speakers")
        for s in info["speakers"]:
            speakers.add_row(s["speaker"] or "(unknown)", str(s["sentences"]))
        console.print(speakers)
        turns = Table("speaker", "role", "from", "turns", "mean confidence", title="turns")
        for t in info["turns"]:
            turns.add_row(
                t["speaker"] or "(unknown)",
                t["role"] or "",
                t["origin"],
                str(t["turns"]),
                f"{t['mean_confidence']:.2f}",
            )
        console.print(turns)
        sources = Table("format", "chars", "path", title="sources")
        for s in info["sources"]:
            sources.add_row(s["format"], f"{s['chars']:,}", s["path"])
        console.print(sources)

    @app.command("export")
    def export_command(
        ctx: typer.Context,
        episode: Annotated[str, typer.Argument(help="Episode id, #number, or part of its title or guest name.")],
        fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="jsonl, txt or md.")] = ExportFormat.jsonl,
    ) -> None:
        """Export an episode's sentences (jsonl: one JSON object per sentence)."""
        with open_library(ctx) as library:
            episode_id = resolve_episode(library, episode)
            info = library.episode(episode_id)
            out = sys.stdout
            sentences = library.sentences(episode_id)
            if fmt is ExportFormat.jsonl:
                for s in sentences:
                    out.write(json.dumps(s, ensure_ascii=False) + "\n")
            else:
                write_text(out, info, sentences, markdown=fmt is ExportFormat.md)


def write_text(out, info: dict, sentences, *, markdown: bool) -> None:
    """Paragraphs by speaker and segment kind; Markdown adds a heading and metadata."""
    if markdown:
        out.write(f"# {info['title'] or 'Untitled episode'}\n\n")
        for key in ("show", "number", "host", "date"):
            if info[key] is not None:
                out.write(f"- {key}: {info[key]}\n")
        out.write(f"- guests: {', '.join(info['guests'])}\n\n")
    paragraph: list[str] = []
    current: tuple | None = None
    for s in sentences:
        key = (s["speaker"], s["kind"])
        if key != current and paragraph:
            _flush(out, current, paragraph, markdown)
            paragraph = []
        current = key
        paragraph.append(s["text"])
    if paragraph:
        _flush(out, current, paragraph, markdown)


def _flush(out, key, paragraph: list[str], markdown: bool) -> None:
    speaker, kind = key
    label = speaker or ""
    if kind != "conversation":
        label = f"{label} [{kind}]".strip()
    text = " ".join(paragraph)
    if markdown:
        out.write(f"**{label}**: {text}\n\n" if label else f"{text}\n\n")
    else:
        out.write(f"{label}: {text}\n\n" if label else f"{text}\n\n")

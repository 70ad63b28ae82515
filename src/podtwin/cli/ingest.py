"""`podtwin ingest PATH...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podtwin.cli.common import console, err_console, open_library, print_json
from podtwin.ingest import collect_files, ingest
from podtwin.search.index import index_missing_episodes, index_status


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_command(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Transcript files or folders (read recursively).")],
        workers: Annotated[int | None, typer.Option(help="Processes to read files with (default: CPUs).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        embed: Annotated[
            bool, typer.Option("--embed/--no-embed", help="Embed new passages for dense search now (or later: index).")
        ] = True,
    ) -> None:
        """Read transcripts in any supported format into the library (one transaction), then index them."""
        files, _ = collect_files(paths)
        with open_library(ctx, create=True) as library:
            with Progress(
                TextColumn("ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=err_console,
                transient=True,
                disable=as_json,
            ) as progress:
                task = progress.add_task("", total=len(files))

                def advance(path: str) -> None:
                    progress.update(task, advance=1, description=Path(path).name)

                report = ingest(library, paths, workers=workers, on_file=advance)
            embedded = build_embeddings(library, quiet=as_json) if embed else 0
        if as_json:
            print_json(
                {
                    "added": report.added,
                    "merged": report.merged,
                    "updated": report.updated,
                    "skipped": report.skipped,
                    "failed": [{"path": p, "reason": r} for p, r in report.failed],
                    "embedded": embedded,
                }
            )
        else:
            for path, reason in report.failed:
                err_console.print(f"[red]failed[/red] {path}: {reason}", highlight=False)
            console.print(
                f"episodes added {len(report.added)}, updated {len(report.updated)}, "
                f"skipped {len(report.skipped)} (already in the library), failed {len(report.failed)}"
                + (
                    f"; {len(report.merged)} more transcript(s) of episodes already there added as sources"
                    if report.merged
                    else ""
                )
            )
        if report.failed:
            raise typer.Exit(1)

    @app.command("index")
    def index_command(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print the index status as JSON.")] = False,
    ) -> None:
        """Bring the search index up to date: passages for every episode, embeddings for every passage."""
        with open_library(ctx) as library:
            with library.atomic() as db:
                episodes = index_missing_episodes(db)
            embedded = build_embeddings(library, quiet=as_json)
            status = index_status(library.db)
        if as_json:
            print_json({"indexed_episodes": episodes, "embedded": embedded, **vars(status)})
        else:
            console.print(
                f"{status.episodes} episodes, {status.passages} passages, {status.embedded} embedded "
                f"({embedded} new); {episodes} episode(s) newly indexed"
            )


def build_embeddings(library, *, quiet: bool = False) -> int:
    """Embed what has no vector yet, with a progress bar on stderr."""
    from podtwin.search.index import embed_missing

    with Progress(
        TextColumn("embed"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return embed_missing(library, on_progress=advance)

"""`podtwin ingest PATH...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podtwin.cli.common import console, err_console, open_library, print_json
from podtwin.ingest import collect_files, ingest


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_command(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Transcript files or folders (read recursively).")],
        workers: Annotated[int | None, typer.Option(help="Processes to read files with (default: CPUs).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Read transcripts in any supported format into the library (one transaction)."""
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
        if as_json:
            print_json(
                {
                    "added": report.added,
                    "merged": report.merged,
                    "updated": report.updated,
                    "skipped": report.skipped,
                    "failed": [{"path": p, "reason": r} for p, r in report.failed],
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

"""`podtwin tune`: adapt the retriever to this library's own questions and answers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podtwin.cli.common import console, err_console, open_library, print_json


def register(app: typer.Typer) -> None:
    @app.command("tune")
    def tune_command(
        ctx: typer.Context,
        epochs: Annotated[int, typer.Option(min=1, max=1000, help="Passes over the library's pairs.")] = 40,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Learn a query adapter from the library's host questions and guest answers (sure speakers
        only); search and twins use it from then on. Interrupted, it resumes where it stopped."""
        from podtwin.search.tune import tune

        with open_library(ctx) as library:
            with Progress(
                TextColumn("tune"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("epochs"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
                disable=as_json,
            ) as progress:
                task = progress.add_task("", total=epochs)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = tune(library, epochs=epochs, on_progress=advance)
        if as_json:
            print_json(vars(result))
            return
        if result.resumed_from:
            console.print(f"resumed at epoch {result.resumed_from}")
        verdict = (
            "kept: search and twins of this library use it from now on"
            if result.kept
            else "not kept: it did no better on the held-out episodes, so search stays as it was"
        )
        console.print(
            f"{result.pairs} question-and-answer pairs ({result.train_pairs} to learn from, "
            f"{result.held_out_pairs} held out); held-out recall@5 {result.recall_before:.3f} -> "
            f"{result.recall_after:.3f}; adapter {verdict}"
        )

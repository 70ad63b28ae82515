"""The `podtwin` command: a thin layer that opens the library, calls one function, prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podtwin.cli import correct as correct_commands
from podtwin.cli import episodes as episodes_commands
from podtwin.cli import eval as eval_commands
from podtwin.cli import ingest as ingest_commands
from podtwin.cli import insights as insights_commands
from podtwin.cli import mcp as mcp_commands
from podtwin.cli import people as people_commands
from podtwin.cli import questions as questions_commands
from podtwin.cli import search as search_commands
from podtwin.cli import serve as serve_commands
from podtwin.cli import tune as tune_commands
from podtwin.cli import twin as twin_commands
from podtwin.cli import webhook as webhook_commands
from podtwin.store.library import default_db_path

app = typer.Typer(
    help="podtwin: AI twins of a podcast's host and guests, built from their transcripts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Library file (env PODTWIN_DB, default ./podtwin.db).", show_default=False),
    ] = None,
) -> None:
    ctx.obj = {"db": db or default_db_path()}


ingest_commands.register(app)
episodes_commands.register(app)
search_commands.register(app)
twin_commands.register(app)
serve_commands.register(app)
mcp_commands.register(app)
tune_commands.register(app)
insights_commands.register(app)
app.add_typer(eval_commands.app, name="eval")
app.add_typer(people_commands.people_app, name="people")
app.add_typer(people_commands.speakers_app, name="speakers")
app.add_typer(twin_commands.persona_app, name="persona")
app.add_typer(serve_commands.keys_app, name="keys")
app.add_typer(webhook_commands.webhook_app, name="webhook")
app.add_typer(questions_commands.questions_app, name="questions")
app.add_typer(correct_commands.correct_app, name="correct")

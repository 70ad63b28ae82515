"""What every command shares: opening the library and turning errors into messages."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from podtwin.errors import PodtwinError
from podtwin.store.library import Library

# Piped or captured output gets a wide table rather than one wrapped at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 240)
err_console = Console(stderr=True)


def library_path(ctx: typer.Context) -> Path:
    return ctx.obj["db"] if ctx.obj else Path("podtwin.db")


@contextmanager
def open_library(ctx: typer.Context, *, create: bool = False) -> Iterator[Library]:
    with reported_errors():
        library = Library(library_path(ctx), create=create)
    try:
        with reported_errors():
            yield library
    finally:
        library.close()


@contextmanager
def reported_errors(exit_on_error: bool = True) -> Iterator[None]:
    """Show podtwin errors as one line and exit 1 (PODTWIN_DEBUG=1 keeps the traceback);
    with exit_on_error False (an interactive loop), carry on after the message."""
    try:
        yield
    except PodtwinError as e:
        if os.environ.get("PODTWIN_DEBUG", "") not in ("", "0"):
            raise
        err_console.print(f"[red]Error:[/red] {e}", highlight=False)
        if exit_on_error:
            raise typer.Exit(1) from None


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")

"""`podtwin mcp`: the twins and search as tools for AI assistants (Model Context Protocol, stdio)."""

from __future__ import annotations

import typer

from podtwin.cli.common import library_path, reported_errors


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_command(ctx: typer.Context) -> None:
        """Serve the MCP tools search, ask_twin, list_people and get_episode over stdio.

        For an assistant's MCP settings: command `podtwin`, args `--db LIBRARY mcp`."""
        from podtwin.api.mcp import run_stdio

        with reported_errors():
            run_stdio(library_path(ctx))

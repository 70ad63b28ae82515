"""The package's public names, and docs that cannot go stale."""

import re
from pathlib import Path

import podtwin
from podtwin.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def test_public_names_are_exported():
    assert sorted(podtwin.__all__) == sorted(
        name for name in dir(podtwin) if not name.startswith("_") and not _is_module(getattr(podtwin, name))
    )


def _is_module(obj) -> bool:
    return type(obj).__name__ == "module"


def _commands(typer_app, prefix=""):
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, command = stack.pop()
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                stack.append((f"{path} {name}".strip(), sub))
        else:
            yield path, command


def test_every_command_is_in_the_readme_with_help():
    readme = README.read_text()
    for path, command in _commands(app):
        assert command.help, f"`podtwin {path}` has no help text"
        assert re.search(rf"podtwin (\[--db PATH\] )?{re.escape(path)}\b", readme), f"`podtwin {path}` missing"


def test_readme_starts_with_the_two_commands():
    head = README.read_text()[:400]
    assert "make run" in head and "make test" in head

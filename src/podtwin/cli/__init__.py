"""The `podtwin` command line (filled in by the cli modules)."""


def main() -> None:
    from podtwin.cli.app import app

    app()

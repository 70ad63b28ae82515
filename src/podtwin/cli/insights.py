"""`podtwin insights` and `podtwin gaps`: what people ask a twin, and what its record lacks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from podtwin.cli.common import console, library_path, print_json, reported_errors

Person = Annotated[str, typer.Argument(help="The person whose twin was asked (any spelling of the name, or slug).")]


def register(app: typer.Typer) -> None:
    @app.command("insights")
    def insights_command(
        ctx: typer.Context,
        person: Person,
        days: Annotated[int, typer.Option(help="Days the per-day counts cover.", min=1)] = 90,
        limit: Annotated[int, typer.Option(help="Rows of each list.", min=1)] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print the insights as JSON.")] = False,
    ) -> None:
        """What people ask PERSON's twin: questions per day, the shares answered, abstained on and
        declined, the least confident answers and the questions asked most often."""
        from podtwin.api.service import Service

        with reported_errors():
            service = Service(library_path(ctx))
            try:
                report = service.insights(person, days=days, limit=limit)
            finally:
                service.close()
        if as_json:
            print_json(report)
            return
        show_insights(report)

    @app.command("gaps")
    def gaps_command(
        ctx: typer.Context,
        person: Person,
        format: Annotated[str, typer.Option("--format", help="json or csv (a table when left out).")] = "",
    ) -> None:
        """What PERSON's twin's record lacks: the questions it abstained on, grouped by meaning into
        topics with their counts and examples, the most asked first (ideas for the next episode)."""
        from podtwin.api.insights import gaps_csv
        from podtwin.api.service import Service
        from podtwin.errors import PodtwinError

        with reported_errors():
            if format not in ("", "json", "csv"):
                raise PodtwinError(f"--format {format}: use json or csv")
            service = Service(library_path(ctx))
            try:
                report = service.gaps(person)
            finally:
                service.close()
        if format == "json":
            print_json(report)
        elif format == "csv":
            sys.stdout.write(gaps_csv(report))
        else:
            show_gaps(report)


def show_insights(report: dict) -> None:
    total = report["total"]
    console.print(f"[bold]{escape(report['person'] or 'every twin')}[/bold]: {total:,} questions", highlight=False)
    if not total:
        return
    console.print(f"asked on {report['days_asked']} days, {report['first_day']} to {report['last_day']}")
    console.print(
        ", ".join(f"{k} {report['counts'][k]:,} ({report['shares'][k]:.0%})" for k in report["counts"]),
        highlight=False,
    )
    days = [d for d in report["per_day"]][-14:]
    peak = max((d["count"] for d in days), default=0) or 1
    console.print("\n[bold]per day[/bold] (the last 14)")
    for d in days:
        console.print(f"{d['day']} {d['count']:>6,} {'█' * round(30 * d['count'] / peak)}", highlight=False)
    if report["lowest_confidence"]:
        console.print("\n[bold]least sure answers[/bold]")
        for r in report["lowest_confidence"]:
            console.print(f"{r['confidence']:.2f}  {escape(r['question'])}", highlight=False)
    console.print("\n[bold]asked most often[/bold]")
    for r in report["most_asked"]:
        console.print(
            f"{r['count']:>6,}  {escape(r['question'])} [dim](abstained {r['abstained']}, declined "
            f"{r['declined']})[/dim]",
            highlight=False,
        )


def show_gaps(report: dict) -> None:
    if not report["topics"]:
        console.print("The twin has not abstained on any question yet.")
        return
    of = f" of {report['abstained']:,}" if report["clustered"] < report["abstained"] else ""
    console.print(f"the latest {report['clustered']:,}{of} questions abstained on, by topic:")
    for t in report["topics"]:
        console.print(f"asked {t['count']} times, never discussed: {escape(t['topic'])}", highlight=False)
        for e in t["examples"]:
            if e != t["topic"]:
                console.print(f"    [dim]{escape(e)}[/dim]", highlight=False)

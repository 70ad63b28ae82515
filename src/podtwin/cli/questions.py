"""`podtwin questions ...`: the questions asked of the twins, and why each reply was given."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from podtwin.cli.common import console, library_path, print_json, reported_errors

questions_app = typer.Typer(
    help="The questions asked of the twins (logged by the server), and why each reply was given.",
    no_args_is_help=True,
)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


@questions_app.command("list")
def questions_list(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Argument(help="One twin (any spelling of the name); all if left out.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first (at most 50).", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """The latest questions asked of the twins, newest first, with their ids (for `questions why`)."""
    from podtwin.api.service import Service
    from podtwin.store.questions import outcome_of

    with reported_errors():
        service = Service(library_path(ctx))
        try:
            rows = service.recent_questions(person, limit)
        finally:
            service.close()
    if as_json:
        print_json(rows)
        return
    table = Table("id", "asked", "twin", "outcome", "question")
    for r in rows:
        table.add_row(str(r["id"]), r["asked_at"], escape(r["person"]), outcome_of(r["reply"]), escape(r["question"]))
    console.print(table)


@questions_app.command("why")
def questions_why(
    ctx: typer.Context,
    question_id: Annotated[int, typer.Argument(help="The question's id (`podtwin questions list`).", min=1)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the question, reply and trace as JSON.")] = False,
) -> None:
    """Why a logged reply was given: the checks that ran, P(in record) with its features, the
    candidates with their scores and each quoted sentence's speaker confidence."""
    from podtwin.api.service import Service

    with reported_errors():
        service = Service(library_path(ctx))
        try:
            logged = service.question_why(question_id)
        finally:
            service.close()
    if as_json:
        print_json(logged)
        return
    console.print(
        f"[bold]{escape(logged['person'])}[/bold] was asked [italic]{escape(logged['question'])}[/italic] "
        f"[dim]({logged['asked_at']}, {logged['channel']}; {logged['outcome']})[/dim]",
        highlight=False,
    )
    console.print(escape(logged["reply"].get("answer", "")), highlight=False)
    console.print()
    if logged["why"] is None:
        console.print("No trace was kept for this reply: it was logged before podtwin kept them.")
        return
    show_why(logged["why"])


def show_why(why: dict) -> None:
    """A reply's trace (twin.answer.Why as JSON) for a terminal: the checks, P(in record), the
    candidate passages and sentences with their scores, the quoted sentences' confidence."""
    console.print("[bold]why[/bold]")
    if why["resolved_question"] != why["question"]:
        console.print(f"answered as: {escape(why['resolved_question'])}", highlight=False)
    console.print("\n[bold]checks that ran[/bold]")
    for check in why["checks"]:
        console.print(f"{check['name']}: [bold]{escape(check['outcome'])}[/bold]", highlight=False)
        for line in _check_lines(check):
            console.print(f"    [dim]{escape(line)}[/dim]", highlight=False)
    record = why.get("in_record")
    if record:
        console.print(
            f"\n[bold]P(in record)[/bold] {_fmt(record['p'])} against the threshold {_fmt(record['threshold'])}: "
            f"{record['decision']}",
            highlight=False,
        )
        console.print("    " + "  ".join(f"{k} {_fmt(v)}" for k, v in record["features"].items()), highlight=False)
    if why["candidates"]:
        table = Table("fused", "lexical", "dense", "cosine", "used", "episode", "passage", title="passages considered")
        for p in why["candidates"]:
            used = "cited" if p["cited"] else "weighed" if p["chosen"] else ""
            table.add_row(
                *(str(p[k]) if p[k] is not None else "-" for k in ("fused_rank", "lexical_rank", "dense_rank")),
                _fmt(p["cosine"]), used, escape(p["episode"]), escape(p["text"][:80]),
            )  # fmt: skip
        console.print(table)
    if why["sentences"]:
        table = Table("score", "cosine", "speaker conf.", "quoted", "sentence", title="best candidate sentences")
        for s in why["sentences"]:
            table.add_row(
                _fmt(s["score"]), _fmt(s["cosine"]), _fmt(s["confidence"], 2), "yes" if s["quoted"] else "",
                escape(f"{s['text'][:100]} (episode {s['episode_id']}, sentence {s['sentence'] + 1:,})"),
            )  # fmt: skip
        console.print(table)
    for block in why["quoted"]:
        console.print(f"\n[bold]\\[{block['n']}] quoted[/bold] (episode {block['episode_id']})", highlight=False)
        for s in block["sentences"]:
            given = s["given_by"] or "no turn"
            console.print(f"    {_fmt(s['confidence'])} {escape(given)}: {escape(s['text'])}", highlight=False)


def _check_lines(check: dict) -> list[str]:
    """The numbers a check decided by, a line each (sentences it listed, one a line)."""
    lines = []
    for key, value in check["detail"].items():
        if key == "text":
            continue  # the disclosure's text: every reply shows it
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            for item in value:
                shown = item.get("text") or item.get("topic") or ""
                numbers = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("text", "topic"))
                lines.append(f"  {shown[:100]} ({numbers})")
        elif value not in (None, [], {}):
            lines.append(f"{key}: {value}")
    return lines

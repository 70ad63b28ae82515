"""`podtwin correct ...`: the creator corrects a twin's answers (marks, pins, blocks), sees the
audit of every change and undoes one."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape

from podtwin.cli.common import console, library_path, print_json, reported_errors

correct_app = typer.Typer(
    help="Correct a twin's answers: mark replies, pin the excerpt that answers a question, block one that must not.",
    no_args_is_help=True,
)

Person = Annotated[str, typer.Argument(help="The person whose twin it is (any spelling of the name, or slug).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def who() -> str:
    """Who the audit names for a change made here: the user of this machine."""
    try:
        return f"cli {getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def service_of(ctx: typer.Context) -> Iterator:
    from podtwin.api.service import Service

    with reported_errors():
        service = Service(library_path(ctx))
        try:
            yield service
        finally:
            service.close()


def sentence_range(text: str) -> tuple[int, int]:
    """ "12-15" or "12" as (first, last)."""
    from podtwin.errors import CorrectionError

    first, _, last = text.partition("-")
    if not first.strip().isdigit() or (last and not last.strip().isdigit()):
        raise CorrectionError(f"--sentences {text}: give a sentence index or a range such as 12-15")
    return int(first), int(last or first)


@correct_app.command("mark")
def mark_command(
    ctx: typer.Context,
    question_id: Annotated[
        int, typer.Argument(help="The logged question's id (podtwin questions, or the API's question_id).")
    ],
    mark: Annotated[str, typer.Argument(help="good, wrong or clear.")],
) -> None:
    """Mark a logged reply good or wrong (clear: take the mark off)."""
    from podtwin.errors import CorrectionError

    with service_of(ctx) as service:
        if mark not in ("good", "wrong", "clear"):
            raise CorrectionError(f"{mark!r}: mark a reply good, wrong or clear")
        done = service.mark(question_id, None if mark == "clear" else mark, who())
    console.print(f"question {question_id}: {done['mark'] or 'no mark'}", highlight=False)


def _correct(
    ctx,
    kind: str,
    person: str,
    question: str | None,
    question_id: int | None,
    episode: str,
    sentences: str,
    as_json: bool,
) -> None:
    with service_of(ctx) as service:
        first, last = sentence_range(sentences)
        made = service.correct(
            person, kind, episode=episode, first_sentence=first, last_sentence=last, who=who(),
            question=question, question_id=question_id,
        )  # fmt: skip
    if as_json:
        print_json(made)
    else:
        show([made])


Question = Annotated[str | None, typer.Option("--question", "-q", help="The question it answers (or must not).")]
QuestionId = Annotated[
    int | None, typer.Option("--question-id", help="A logged question instead (its question, as resolved).")
]
Episode = Annotated[str, typer.Option("--episode", "-e", help="The episode: id, #number or part of its title.")]
Sentences = Annotated[
    str, typer.Option("--sentences", "-s", help="The excerpt's sentences: 12-15 (as search and citations give them).")
]


@correct_app.command("pin")
def pin_command(
    ctx: typer.Context, person: Person, episode: Episode, sentences: Sentences,
    question: Question = None, question_id: QuestionId = None, as_json: AsJson = False,
) -> None:  # fmt: skip
    """Pin an excerpt of PERSON's own words as the answer to a question and its paraphrases.
    Refused, with the reason, when a sentence is someone else's or its speaker is uncertain."""
    _correct(ctx, "pin", person, question, question_id, episode, sentences, as_json)


@correct_app.command("block")
def block_command(
    ctx: typer.Context, person: Person, episode: Episode, sentences: Sentences,
    question: Question = None, question_id: QuestionId = None, as_json: AsJson = False,
) -> None:  # fmt: skip
    """Block an excerpt from answering a question and its paraphrases."""
    _correct(ctx, "block", person, question, question_id, episode, sentences, as_json)


@correct_app.command("list")
def list_command(ctx: typer.Context, person: Person, as_json: AsJson = False) -> None:
    """PERSON's pins and blocks, newest first, with their status."""
    with service_of(ctx) as service:
        found = service.corrections(person)
    if as_json:
        print_json(found)
    elif not found:
        console.print("no pins or blocks", highlight=False)
    else:
        show(found)


@correct_app.command("remove")
def remove_command(
    ctx: typer.Context, correction_id: Annotated[int, typer.Argument(help="The pin's or block's id.")]
) -> None:
    """Take a pin or block out of use (it is kept; the removal can be undone)."""
    with service_of(ctx) as service:
        show([service.remove_correction(correction_id, who())])


@correct_app.command("changes")
def changes_command(
    ctx: typer.Context,
    person: Person,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
    as_json: AsJson = False,
) -> None:
    """The audit of PERSON's twin, newest first: who changed what, when, before and after."""
    with service_of(ctx) as service:
        found = service.changes(person, limit)
    if as_json:
        print_json(found)
        return
    for c in found:
        undone = f" (undone by {c['undone_by']})" if c["undone_by"] else ""
        console.print(
            f"[bold]{c['id']}[/bold] {escape(c['at'])} {escape(c['who'])}: {escape(c['action'])} {c['target']}{undone}",
            highlight=False,
        )
    if not found:
        console.print("no changes", highlight=False)


@correct_app.command("undo")
def undo_command(
    ctx: typer.Context, change_id: Annotated[int, typer.Argument(help="The change's id (podtwin correct changes).")]
) -> None:
    """Undo one change; refused when what it changed was changed again since (undo that first)."""
    with service_of(ctx) as service:
        done = service.undo(change_id, who())
    console.print(f"change {done['id']}: {escape(done['action'])} {done['target']}", highlight=False)


def show(corrections: list[dict]) -> None:
    for c in corrections:
        status = c["status"] + (f": {c['why']}" if c["why"] else "")
        console.print(
            f"[bold]{c['id']}[/bold] {c['kind']} for “{escape(c['question'])}” — {escape(c['episode'])}, "
            f"sentences {c['first_sentence']}-{c['last_sentence']} ({escape(status)})",
            highlight=False,
        )
        console.print(f"    “{escape(c['excerpt'][:300])}”", highlight=False)

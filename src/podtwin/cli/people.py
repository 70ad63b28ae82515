"""`podtwin people [merge|rename]` and `podtwin speakers set`: who is who, and corrections."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from podtwin.cli.common import console, open_library, print_json
from podtwin.errors import PersonNotFound
from podtwin.store.library import resolve_episode
from podtwin.store.people import people_summary, person_id, record_correction

people_app = typer.Typer(help="People in the library: hosts, guests and their aliases.", no_args_is_help=False)
speakers_app = typer.Typer(help="Correct who said what.", no_args_is_help=True)


@people_app.callback(invoke_without_command=True)
def people_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List people with aliases, episodes, words spoken and role per episode."""
    if ctx.invoked_subcommand:
        return
    with open_library(ctx) as library:
        rows = people_summary(library.db)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "aliases", "episodes", "words", "roles")
    for column in table.columns:
        column.overflow = "fold"
    for p in rows:
        roles = ", ".join(sorted({a["role"] for a in p["appearances"]}))
        table.add_row(p["name"], ", ".join(p["aliases"]), str(p["episodes"]), f"{p['words']:,}", roles)
    console.print(table)
    console.print(f"{len(rows)} people")


@people_app.command("merge")
def merge_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The person to merge away (name or alias).")],
    target: Annotated[str, typer.Argument(help="The person who remains.")],
) -> None:
    """Merge person A into person B (A becomes an alias of B). Survives re-ingest."""
    with open_library(ctx) as library:
        with library.atomic() as db:
            _, a = person_id(db, source)
            _, b = person_id(db, target)
            if a == b:
                raise PersonNotFound(f"{source!r} and {target!r} are already one person ({a})")
            record_correction(db, "merge", {"from": a, "into": b})
    console.print(f"merged {a} into {b}", highlight=False)


@people_app.command("rename")
def rename_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person (name or alias).")],
    new_name: Annotated[str, typer.Argument(help="The right name.")],
) -> None:
    """Rename a person everywhere (the old name stays an alias). Survives re-ingest."""
    new_name = " ".join(new_name.split())
    if not new_name:
        raise typer.BadParameter("the new name is empty")
    with open_library(ctx) as library:
        with library.atomic() as db:
            _, old = person_id(db, name)
            record_correction(db, "rename", {"name": old, "to": new_name})
    console.print(f"renamed {old} to {new_name}", highlight=False)


@speakers_app.command("set")
def set_speaker_command(
    ctx: typer.Context,
    episode: Annotated[str, typer.Argument(help="Episode id, #number, or part of its title or guest name.")],
    turn: Annotated[int, typer.Argument(help="Turn index (see `podtwin export` / `podtwin show`).", min=0)],
    person: Annotated[str, typer.Argument(help="Who said it (name or alias).")],
) -> None:
    """Say who spoke one turn of an episode. Survives re-ingest; the show's other turns and
    episodes are attributed again with it."""
    from podtwin.search.index import index_episode
    from podtwin.store.speakers import set_turn_speaker

    with open_library(ctx) as library:
        with library.atomic() as db:
            episode_id = resolve_episode(library, episode)
            result = set_turn_speaker(db, episode_id, turn, person)
            for moved in result["moved"]:
                index_episode(db, moved)  # passages follow turns
        from podtwin.cli.ingest import build_embeddings

        build_embeddings(library)  # passages of moved turns were rebuilt: their vectors
    console.print(
        f"episode {episode_id} turn {turn}: {result['person']} "
        f"({len(result['reattributed'])} episode(s) of the show attributed again)",
        highlight=False,
    )


@speakers_app.command("review")
def review_command(
    ctx: typer.Context,
    episode: Annotated[str, typer.Argument(help="Episode id, #number, or part of its title or guest name.")],
    limit: Annotated[int, typer.Option(help="How many turns to show (0: all).", min=0)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The turns the speaker model was least sure of, first, each with the turns around it;
    correct one with `podtwin speakers set`."""
    from dataclasses import asdict

    from podtwin.store.speakers import review_turns

    with open_library(ctx) as library:
        episode_id = resolve_episode(library, episode)
        turns = review_turns(library.db, episode_id)
    shown = turns[: limit or len(turns)]
    if as_json:
        print_json([asdict(t) for t in shown])
        return

    def say(text: str, **style) -> None:  # transcripts are plain text, never rich markup
        console.print(text, markup=False, highlight=False, **style)

    for t in shown:
        who = f"{t.speaker or 'unknown'} ({t.role})" if t.role else t.speaker or "unknown"
        say(
            f"turn {t.idx}  {who}  confidence {t.confidence:.2f}  {t.origin}  "
            f"sentences {t.first_sentence}-{t.last_sentence}",
            style="bold",
        )
        if t.before:
            say(f"  before  {t.before['speaker'] or 'unknown'}: {shortened(t.before['text'], 20, 'end')}")
        say(f"  turn    {shortened(t.text, 40)}")
        if t.after:
            say(f"  after   {t.after['speaker'] or 'unknown'}: {shortened(t.after['text'], 20)}")
    say(
        f"{len(shown)} of {len(turns)} turns, least confident first; "
        f"correct one with `podtwin speakers set {episode_id} TURN PERSON`"
    )


def shortened(text: str, words: int, keep: str = "start") -> str:
    """At most `words` words of text: its start (or its end), an ellipsis where it was cut."""
    ws = [w for w in text.split() if w != "…"]
    if len(ws) <= words:
        return " ".join(ws)
    return "… " + " ".join(ws[-words:]) if keep == "end" else " ".join(ws[:words]) + " …"

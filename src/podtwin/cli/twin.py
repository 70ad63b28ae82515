"""`podtwin ask`, `podtwin chat` and `podtwin persona ...`: talk to a twin, set its bounds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from podtwin.cli.common import console, open_library, print_json, reported_errors
from podtwin.cli.questions import show_why
from podtwin.cli.search import position
from podtwin.twin.persona import STYLES, Persona, load_persona, save_persona

persona_app = typer.Typer(help="A twin's bounds, set by the creator.", no_args_is_help=True)

As = Annotated[str, typer.Option("--as", help="The person whose twin answers (any spelling of the name).")]
Llm = Annotated[
    str | None,
    typer.Option(
        "--llm",
        envvar="PODTWIN_LLM",
        help="An OpenAI-compatible chat endpoint (e.g. http://127.0.0.1:8080) that rewrites the answer; "
        "every sentence it writes is checked against the cited words.",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask_command(
        ctx: typer.Context,
        question: Annotated[str, typer.Argument(help="Your question, in your own words.")],
        person: As,
        llm: Llm = None,
        rerank: Annotated[
            bool, typer.Option("--rerank", help="Re-order the candidates with the cross-encoder (slower).")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON.")] = False,
        explain: Annotated[
            bool,
            typer.Option(
                "--explain",
                help="Then why: the checks that ran, P(in record), the candidates with their scores and the "
                "quoted sentences' speaker confidence (in --json: the field `why`).",
            ),
        ] = False,
    ) -> None:
        """One question to PERSON's twin; the reply is in their recorded words, every sentence cited."""
        from podtwin.twin.answer import ask

        with open_library(ctx) as library:
            reply = ask(library, person, question, llm=llm, rerank=rerank)
        why = reply.why.as_json() if explain and reply.why is not None else None
        if as_json:
            print_json({**reply.as_json(), **({"why": why} if explain else {})})
            return
        show_reply(reply)
        if why is not None:
            console.print()
            show_why(why)

    @app.command("chat")
    def chat_command(ctx: typer.Context, person: As, llm: Llm = None) -> None:
        """A conversation with PERSON's twin; follow-ups ("why?") build on what you asked before."""
        from podtwin.twin.answer import ask

        history: list[str] = []
        with open_library(ctx) as library:
            name = load_persona(library.db, person).person
            console.print(f"Talking to the AI twin of {escape(name)}. An empty line ends the chat.")
            while True:
                try:
                    question = console.input("[bold]you>[/bold] ").strip()
                except EOFError:
                    break
                if not question:
                    break
                with reported_errors(exit_on_error=False):
                    reply = ask(library, name, question, history=history, llm=llm)
                    show_reply(reply)
                    history.append(reply.resolved_question)


def show_reply(reply) -> None:
    """The reply as paragraphs: each block (with the line that introduces it) its own, with its
    reference; then the references, the sentences heard from others and the disclosure."""
    from podtwin.twin.answer import paragraphs

    for n, paragraph in enumerate(paragraphs(reply.parts)):
        if n:
            console.print()
        for part in paragraph:
            if part["framing"]:
                console.print(f"[italic]{escape(part['text'])}[/italic]")
            else:
                console.print(f"{escape(part['text'])} [cyan]\\[{part['citation'] + 1}][/cyan]")
    if reply.citations:
        console.print()
    for i, c in enumerate(reply.citations, 1):
        where = f"#{c.episode_number} " if c.episode_number else ""
        at = position(c)
        console.print(
            f"[cyan]\\[{i}][/cyan] {escape(c.speaker)}, {escape(where + (c.title or f'episode {c.episode_id}'))}, "
            f"{at} ({escape(c.source_file)} {c.start_char}-{c.end_char})",
            highlight=False,
        )
    for h in reply.heard:
        console.print(f"[dim]said by {escape(h['speaker'])}: {escape(h['text'][:200])}[/dim]")
    if reply.removed_sentences:
        removed = reply.removed_sentences
        console.print(f"[dim]{removed} generated sentence(s) removed: not supported by the record[/dim]")
    console.print(f"[dim]{escape(reply.disclosure)}[/dim]")


@persona_app.command("show")
def persona_show(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person (any spelling of the name).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The bounds PERSON's twin keeps (defaults when none were set)."""
    with open_library(ctx) as library:
        persona = load_persona(library.db, person)
    if as_json:
        print_json(persona.as_json())
        return
    d = persona.as_json()
    for key in ("person", "disclosure_text", "off_limits", "decline_text", "style", "max_words", "episodes"):
        console.print(f"[bold]{key}[/bold]: {escape(str(d[key] if d[key] is not None else 'all'))}", highlight=False)


@persona_app.command("set")
def persona_set(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person (any spelling of the name).")],
    disclosure: Annotated[str | None, typer.Option(help="Words added to the AI disclosure of every reply.")] = None,
    off_limits: Annotated[
        list[str] | None, typer.Option("--off-limits", help="A topic the twin declines (repeat for more).")
    ] = None,
    clear_off_limits: Annotated[bool, typer.Option(help="Remove every off-limits topic.")] = False,
    decline: Annotated[str | None, typer.Option(help="What the twin says when it declines.")] = None,
    style: Annotated[str | None, typer.Option(help=f"{' or '.join(STYLES)}.")] = None,
    max_words: Annotated[int | None, typer.Option(help="Longest answer, in words.")] = None,
    episodes: Annotated[
        str | None, typer.Option(help="Only these episodes (comma-separated ids, #numbers or titles); 'all' resets.")
    ] = None,
) -> None:
    """Change PERSON's twin bounds; options left out keep their current value."""
    with open_library(ctx) as library:
        current = load_persona(library.db, person)
        topics = [] if clear_off_limits else list(current.off_limits)
        topics += [t.strip() for t in off_limits or [] if t.strip() not in topics]
        if off_limits and any(not t.strip() for t in off_limits):
            topics.append("")  # validation names the empty topic
        persona = Persona(
            current.person,
            disclosure if disclosure is not None else current.disclosure,
            topics,
            decline if decline is not None else current.decline,
            style or current.style,
            max_words if max_words is not None else current.max_words,
            None if episodes == "all" else (episodes if episodes is not None else current.episodes),
        )
        save_persona(library, persona)
        console.print(f"saved the persona of {escape(persona.person)}")

"""`podtwin webhook ...`: the creator's webhook per twin, and the events sent to it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from podtwin.cli.common import console, open_library, print_json
from podtwin.store.people import person_id

webhook_app = typer.Typer(
    help="Webhooks: events (watched topics, flagged replies, unsure answers) POSTed to the creator, signed.",
    no_args_is_help=True,
)

Person = Annotated[str, typer.Argument(help="The person whose twin it is (any spelling of the name).")]


@webhook_app.command("set")
def webhook_set(
    ctx: typer.Context,
    person: Person,
    url: Annotated[str, typer.Argument(help="Where events are POSTed (http:// or https://).")],
    watch: Annotated[
        list[str] | None,
        typer.Option("--watch", help="A topic whose questions raise an event (repeat for more; replaces the list)."),
    ] = None,
    clear_watch: Annotated[bool, typer.Option(help="Watch no topics.")] = False,
    unsure_below: Annotated[
        float | None,
        typer.Option(
            help="Replies below this confidence (0-1) raise an `unsure` event, abstentions too (the twin abstains "
            "below 0.60; the event's `abstained` says which), so any level works."
        ),
    ] = None,
    no_unsure: Annotated[bool, typer.Option(help="No events for unsure replies.")] = False,
    new_secret: Annotated[bool, typer.Option(help="Make a new signing secret (printed once).")] = False,
) -> None:
    """Set PERSON's webhook; options left out keep their value. The signing secret is printed once."""
    from podtwin.store.webhooks import set_webhook

    with open_library(ctx) as library:
        name = person_id(library.db, person)[1]
        topics = [] if clear_watch else watch
        unsure: dict = {} if unsure_below is None else {"unsure_below": unsure_below}
        if no_unsure:
            unsure = {"unsure_below": None}
        with library.atomic() as db:
            hook = set_webhook(db, name, url, watch_topics=topics, new_secret=new_secret, **unsure)
    show(hook)
    if "secret" in hook:
        console.print(
            "signing secret (shown once; check X-Podtwin-Signature-256 = sha256=HMAC-SHA256(secret, body)):",
            highlight=False,
        )
        print(hook["secret"])


@webhook_app.command("show")
def webhook_show(ctx: typer.Context, person: Person, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """PERSON's webhook: URL, watch topics, confidence (never the secret)."""
    from podtwin.errors import WebhookError
    from podtwin.store.webhooks import webhook_of

    with open_library(ctx) as library:
        name = person_id(library.db, person)[1]
        hook = webhook_of(library.db, name)
        if hook is None:
            raise WebhookError(f"{name} has no webhook (podtwin webhook set)")
    if as_json:
        print_json(hook)
    else:
        show(hook)


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, person: Person) -> None:
    """Remove PERSON's webhook: no more events; those not yet delivered are given up (still listed)."""
    from podtwin.errors import WebhookError
    from podtwin.store.webhooks import delete_webhook

    with open_library(ctx) as library:
        name = person_id(library.db, person)[1]
        with library.atomic() as db:
            if not delete_webhook(db, name):
                raise WebhookError(f"{name} has no webhook")
    console.print(f"removed {escape(name)}'s webhook", highlight=False)


def show(hook: dict) -> None:
    for key in ("person", "url", "watch_topics", "unsure_below", "updated_at"):
        value = hook[key]
        shown = ", ".join(value) or "none" if isinstance(value, list) else ("off" if value is None else value)
        console.print(f"[bold]{key}[/bold]: {escape(str(shown))}", highlight=False)


@webhook_app.command("events")
def webhook_events(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option(help="Only this person's webhook.")] = None,
    status: Annotated[str | None, typer.Option(help="delivered, pending or failed.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest webhook events: delivered, pending (tried again later) or failed, with the last error."""
    from podtwin.store.webhooks import list_events

    with open_library(ctx) as library:
        name = person_id(library.db, person)[1] if person else None
        events = list_events(library.db, name, status, limit)
    if as_json:
        print_json(events)
        return
    for e in events:
        question = e["data"].get("question", "")
        error = f"  ({e['last_error']})" if e["last_error"] and e["status"] != "delivered" else ""
        console.print(
            f"{e['created_at']}  {e['status']:<9} {e['kind']:<13} {escape(e['person'])}: "
            f"{escape(question[:80])}  [dim]{e['id']}, {e['attempts']} attempt(s){escape(error)}[/dim]",
            highlight=False,
        )
    if not events:
        console.print("no events")


@webhook_app.command("deliver")
def webhook_deliver(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each receiver.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One delivery pass: send every event that is due (`podtwin serve` sends them by itself)."""
    from podtwin.api.webhooks import deliver_due

    with open_library(ctx) as library:
        counts = deliver_due(library, timeout=timeout, limit=1000)
    if as_json:
        print_json(counts)
    else:
        console.print(
            f"delivered {counts['delivered']}, to retry {counts['retry']}, given up {counts['failed']}",
            highlight=False,
        )

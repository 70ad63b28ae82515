"""`podtwin serve` (the web app, JSON API and OpenAI-compatible chat) and `podtwin keys ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from podtwin.cli.common import console, open_library, print_json, reported_errors

keys_app = typer.Typer(help="API keys for write actions (persona edits, uploads).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        private: Annotated[bool, typer.Option(help="Reads and chat need an API key too.")] = False,
        rate_limit: Annotated[int, typer.Option(help="Requests per minute per client address (0: no limit).")] = 1200,
        workers: Annotated[
            int | None,
            typer.Option(help="Requests handled at once (threads; default one per core, four per core with --llm)."),
        ] = None,
        llm: Annotated[
            str | None, typer.Option(envvar="PODTWIN_LLM", help="OpenAI-compatible endpoint for generative answers.")
        ] = None,
        forwarded_allow_ips: Annotated[
            str,
            typer.Option(
                help="Proxies whose X-Forwarded-For/-Proto headers are trusted (comma-separated addresses, "
                "or '*'); none by default, so a client cannot pick the address its rate limit counts."
            ),
        ] = "",
    ) -> None:
        """Serve the web app, the JSON API (/api, spec at /docs) and OpenAI-compatible chat (/v1)."""
        import uvicorn
        from threadpoolctl import threadpool_limits

        from podtwin.api.service import Limits, Service
        from podtwin.search.query import overlap_sides
        from podtwin.server import create_app

        with open_library(ctx):  # the library must exist and open; errors are one line
            pass
        with reported_errors():
            service = Service(ctx.obj["db"], limits=Limits(requests_per_minute=rate_limit))
            # requests run side by side, each on one core: a second thread per matrix product
            # or query embedding only adds waiting (OpenBLAS threads spin while idle)
            threadpool_limits(1, user_api="blas")
            service.embedder.query_threads = 1
            overlap_sides(False)
            service.warm()
            app = create_app(service, private=private, llm=llm, workers=workers)
        console.print(f"podtwin serving {service.path} at http://{host}:{port}", highlight=False)
        proxies = forwarded_allow_ips.strip()
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            # uvicorn trusts forwarded headers from loopback unless told otherwise
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )


@keys_app.command("create")
def keys_create(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Who or what the key is for.")]) -> None:
    """Make a key; it is printed once and stored only as a digest."""
    from podtwin.store.keys import create_key

    with open_library(ctx) as library:
        with library.atomic() as db:
            key = create_key(db, name)
    print(key)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The keys (never the keys themselves): id, name, created, last used, revoked."""
    from podtwin.store.keys import list_keys

    with open_library(ctx) as library:
        rows = list_keys(library.db)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else f"last used {r['last_used_at'] or 'never'}"
        console.print(f"{r['id']}  {r['name']}  created {r['created_at']}, {state}", highlight=False)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke a key: it stops working at once."""
    from podtwin.store.keys import revoke_key

    with open_library(ctx) as library:
        with library.atomic() as db:
            revoke_key(db, key_id)
    console.print(f"key {key_id} revoked")

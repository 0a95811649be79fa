"""Commands of the server: serve, db upgrade, import, users, tokens, audit."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from abroad.cli.app import app
from abroad.cli.common import (
    EXIT_BAD_INPUT,
    ScenarioArg,
    fail,
    fail_input,
    print_json,
    stderr,
    stdout,
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL: sqlite:///abroad.db (default, or $ABROAD_DB) or "
        "postgresql://user:password@host/dbname.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ActorOpt = Annotated[
    str, typer.Option("--actor", help="Who is doing this, as the audit log records it.")
]

db_app = typer.Typer(help="The server's database.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts of the server.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of station and mission devices.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")


def _url(db: str | None) -> str:
    from abroad.server.config import default_db_url

    return db or default_db_url()


def _open(db: str | None) -> Any:
    """The database, refusing an out-of-date schema with the command that fixes it."""
    from abroad.server.db import Database, SchemaOutOfDate, check_schema

    database = Database.open(_url(db))
    try:
        check_schema(database)
    except SchemaOutOfDate as exc:
        database.dispose()
        fail(str(exc), 1)
    return database


@contextmanager
def _session(db: str | None, *, write: bool = False) -> Iterator[Any]:
    """A session on the database (a write transaction with ``write``); account errors exit 2."""
    from abroad.server.services.accounts import AccountError

    database = _open(db)
    try:
        with database.write() if write else database.read() as s:
            yield s
    except AccountError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    finally:
        database.dispose()


def _actor(actor: str) -> str:
    return f"cli:{actor}"


@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (PostgreSQL for more than 1).")
    ] = 1,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Force the Secure flag on cookies (default: when the request came over TLS; "
            "set it behind a TLS-terminating proxy).",
            show_default=False,
        ),
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest accepted upload, MB.")] = 20.0,
) -> None:
    """Run the web server: the planner workspace and the JSON API (docs at /api/docs).

    Example:  abroad db upgrade && abroad import examples/us-2024 && abroad serve
    """
    import os

    import uvicorn

    from abroad.server.db import display_url, is_sqlite

    url = _url(db)
    _open(url).dispose()  # exits with the fix when the schema is not this version's
    if workers > 1 and is_sqlite(url):
        stderr.print(
            "note: several workers on SQLite serialise every write; use PostgreSQL in production",
            highlight=False,
        )
    os.environ["ABROAD_DB"] = url
    os.environ["ABROAD_SECURE_COOKIES"] = "" if secure_cookies is None else str(int(secure_cookies))
    os.environ["ABROAD_MAX_UPLOAD_BYTES"] = str(int(max_upload_mb * 1024 * 1024))
    stderr.print(
        f"abroad serving {display_url(url)} on http://{host}:{port} (API docs at /api/docs)",
        highlight=False,
    )
    uvicorn.run(
        "abroad.server.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
        loop="uvloop",  # pinned dependencies: the fast event loop and HTTP parser, never
        http="httptools",  # a silent fall-back to the pure-Python ones
    )


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create the database or bring its schema up to this version of abroad."""
    from abroad.server.db import Database, display_url, upgrade

    database = Database.open(_url(db))
    try:
        before, after = upgrade(database)
    finally:
        database.dispose()
    what = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    stderr.print(f"{display_url(database.url)}: {what} revision {after}", highlight=False)


@app.command("import")
def import_(
    scenario: ScenarioArg,
    db: DbOpt = None,
    actor: ActorOpt = "admin",
    json_output: JsonOpt = False,
) -> None:
    """Import a scenario into the server's database; importing again shows what changed.

    Example:  abroad import examples/us-2024
    """
    from abroad.io.errors import InputError
    from abroad.io.scenario import load_scenario
    from abroad.server.services.importer import import_scenario

    try:
        sc = load_scenario(scenario)
    except InputError as exc:
        fail_input(exc)
    with _session(db, write=True) as s:
        result = import_scenario(s, scenario, _actor(actor), sc)
    if json_output:
        print_json(result.model_dump(mode="json"))
        return
    counts = ", ".join(f"{n} {k}s" for k, n in result.counts.items())
    head = "imported" if result.created else ("updated" if result.changed else "unchanged")
    stdout.print(f"{result.election_key}: {head} ({counts})", highlight=False)
    if result.created or not result.changes:
        return
    table = Table(title="changes", title_justify="left")
    for c in ("kind", "id", "change", "fields"):
        table.add_column(c)
    for ch in result.changes:
        fields = "; ".join(f"{f}: {v.before!r} → {v.after!r}" for f, v in ch.fields.items())
        table.add_row(ch.kind, ch.key, ch.action, fields)
    stdout.print(table)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, planner, mission_staff or observer.")],
    mission: Annotated[
        list[str] | None, typer.Option(help="A mission of mission staff (repeat for more).")
    ] = None,
    station: Annotated[
        list[str] | None, typer.Option(help="A station of an observer (repeat for more).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOpt = None,
    actor: ActorOpt = "admin",
) -> None:
    """Create an account (asks for its password).

    Example:  abroad users add alice --role admin
    """
    from pydantic import ValidationError

    from abroad.server.schemas import UserIn
    from abroad.server.services.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserIn(
            username=username,
            password=password,
            role=role,
            missions=mission or [],
            stations=station or [],
        )
    except ValidationError as exc:
        for e in exc.errors():
            stderr.print(f"  {'.'.join(map(str, e['loc']))}: {e['msg']}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with _session(db, write=True) as s:
        user = create_user(s, data, _actor(actor))
    stderr.print(f"created {user.username} ({user.role.value})", highlight=False)


@users_app.command("list")
def users_list(db: DbOpt = None, json_output: JsonOpt = False) -> None:
    """List the accounts."""
    from abroad.server.services.accounts import list_users

    with _session(db) as s:
        users, _total = list_users(s)
    _print_list(
        "users",
        users,
        json_output,
        {
            "user": lambda u: u.username,
            "role": lambda u: u.role.value,
            "scope": lambda u: ", ".join(u.missions + u.stations),
            "disabled": lambda u: "yes" if u.disabled else "",
            "created (UTC)": lambda u: f"{u.created_at:%Y-%m-%d %H:%M}",
        },
    )


def _print_list(
    title: str, items: list[Any], json_output: bool, columns: dict[str, Callable[[Any], str]]
) -> None:
    """Items as JSON on stdout, or as a table."""
    if json_output:
        print_json([i.model_dump(mode="json") for i in items])
        return
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for i in items:
        table.add_row(*(f(i) for f in columns.values()))
    stdout.print(table)


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="Login name.")],
    db: DbOpt = None,
    actor: ActorOpt = "admin",
) -> None:
    """Disable an account; its sessions end at once."""
    from abroad.server.services.accounts import disable_user

    with _session(db, write=True) as s:
        disable_user(s, username, _actor(actor))
    stderr.print(f"disabled {username}", highlight=False)


@tokens_app.command("issue")
def tokens_issue(
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'Berlin tablet 1'.")],
    station: Annotated[str | None, typer.Option(help="The station it may act on.")] = None,
    mission: Annotated[str | None, typer.Option(help="The mission it may act on.")] = None,
    expires_in_days: Annotated[float, typer.Option(help="Days until it expires.")] = 30.0,
    db: DbOpt = None,
    actor: ActorOpt = "admin",
    json_output: JsonOpt = False,
) -> None:
    """Issue an API token for one station or mission; the secret is printed once, on stdout."""
    from abroad.server.schemas import TokenIn
    from abroad.server.services.accounts import issue_token

    if (station is None) == (mission is None):
        fail("give exactly one of --station and --mission", EXIT_BAD_INPUT)
    kind, key = ("station", station) if station is not None else ("mission", mission)
    assert key is not None
    if not 0 < expires_in_days <= 366:
        fail("--expires-in-days must be in (0, 366]", EXIT_BAD_INPUT)
    with _session(db, write=True) as s:
        issued = issue_token(
            s,
            TokenIn(name=name, scope_kind=kind, scope_key=key, expires_in_days=expires_in_days),
            _actor(actor),
        )
    if json_output:
        print_json(issued.model_dump(mode="json"))
        return
    stderr.print(
        f"token {issued.id} for {kind} {key}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        "it is shown only now:",
        highlight=False,
    )
    sys.stdout.write(issued.token + "\n")


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `abroad tokens list`).")],
    db: DbOpt = None,
    actor: ActorOpt = "admin",
) -> None:
    """Revoke a token at once."""
    from abroad.server.services.accounts import revoke_token

    with _session(db, write=True) as s:
        revoke_token(s, token_id, _actor(actor))
    stderr.print(f"revoked token {token_id}", highlight=False)


@tokens_app.command("list")
def tokens_list(db: DbOpt = None, json_output: JsonOpt = False) -> None:
    """List the tokens (never their secrets)."""
    from abroad.server.services.accounts import list_tokens

    with _session(db) as s:
        tokens = list_tokens(s)
    _print_list(
        "tokens",
        tokens,
        json_output,
        {
            "id": lambda t: str(t.id),
            "name": lambda t: t.name,
            "scope": lambda t: f"{t.scope_kind} {t.scope_key}",
            "starts with": lambda t: f"abt_{t.lookup}",
            "expires (UTC)": lambda t: f"{t.expires_at:%Y-%m-%d %H:%M}",
            "revoked": lambda t: "yes" if t.revoked_at else "",
        },
    )


@audit_app.command("verify")
def audit_verify(
    db: DbOpt = None,
    expect_head: Annotated[
        str | None,
        typer.Option(help="The head hash kept from an earlier export: catches a cut-off end."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Recompute the hash chain; report the first broken link and exit 1 if there is one."""
    from abroad.server import audit

    with _session(db) as s:
        v = audit.verify(s, expect_head)
    if json_output:
        print_json(
            {
                "ok": v.ok,
                "entries": v.entries,
                "head_hash": v.head_hash,
                "broken_seq": v.broken_seq,
                "reason": v.reason,
            }
        )
    elif v.ok:
        stdout.print(f"audit log intact: {v.entries} entries, head {v.head_hash}", highlight=False)
    else:
        stderr.print(f"[bold red]audit log broken:[/] {v.reason}", highlight=False)
        stderr.print(f"  {v.entries} entries verified before it", highlight=False)
    if not v.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    db: DbOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Write every audit entry as one JSON object per line, oldest first."""
    from abroad.server import audit

    with _session(db) as s:
        if out is None:
            for line in audit.export_lines(s):
                sys.stdout.write(line + "\n")
        else:
            with out.open("w", encoding="utf-8") as fh:
                for line in audit.export_lines(s):
                    fh.write(line + "\n")

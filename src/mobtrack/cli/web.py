"""`mobtrack serve`, `mobtrack user add/list/disable`, `mobtrack export`."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

user_app = typer.Typer(help="Accounts of the web server: add, list, disable.", no_args_is_help=True)


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    insecure_cookies: Annotated[bool, typer.Option("--insecure-cookies", help="Send the session cookie over "
                                                   "plain HTTP (a laptop without TLS); never on a public host.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (one per core).")] = 1,
    db: DbOption = None,
) -> None:
    """Serve the API, the DTM v3 layer and the pages.

    Example: mobtrack serve --db mobtrack.db --port 8000
    """
    import uvicorn

    from mobtrack.protect import retention
    from mobtrack.store.db import ensure_schema, resolve_url
    from mobtrack.web.app import create_app

    try:
        purge_hours = retention.interval_hours()
    except ValueError as exc:
        fail(str(exc), 2)
    local = host in ("127.0.0.1", "localhost", "::1")
    # Browsers keep Secure cookies from plain-HTTP localhost only sometimes: off there unless asked.
    secure = not (insecure_cookies or (local and os.environ.get("MOBTRACK_SECURE_COOKIES") is None))
    console.print(f"serving on http://{host}:{port}  (API docs: /api/v1/docs)")
    url = resolve_url(db)
    engine = ensure_schema(url)  # schema made once, before any worker starts
    # One purge schedule in this process, whatever the number of workers (they would race).
    retention.start(engine, purge_hours)
    if workers == 1:
        uvicorn.run(create_app(url, secure_cookies=secure), host=host, port=port, log_level="warning")
        return
    from mobtrack.web.services.accounts import secret_key

    with engine.begin() as conn:  # the signing key made once, before the workers race
        secret_key(conn)
    os.environ.update(MOBTRACK_DATABASE_URL=url, MOBTRACK_SECURE_COOKIES="1" if secure else "0")
    uvicorn.run("mobtrack.web.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


def _password(value: str | None) -> str:
    if value:
        return value
    if os.environ.get("MOBTRACK_PASSWORD"):
        return os.environ["MOBTRACK_PASSWORD"]
    first = getpass.getpass("password (15+ characters; a few unrelated words): ")
    if getpass.getpass("again: ") != first:
        fail("the passwords differ", 2)
    return first


def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, analyst, data-entry or viewer.")],
    organisation: Annotated[str, typer.Option("--organisation", "--org", help="The user's organisation.")],
    operation: Annotated[list[str] | None, typer.Option("--operation", help="Operation in scope (repeat; '*' = all).")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO3 country in scope (repeat).")] = None,
    password: Annotated[str | None, typer.Option("--password", help="Default: asked, or $MOBTRACK_PASSWORD.")] = None,
    token: Annotated[bool, typer.Option("--token", help="Also create an API token and print it once.")] = False,
    db: DbOption = None, json: JsonOption = False,
) -> None:
    """Add a user. Roles that read raw figures get a TOTP secret for their authenticator app.

    Example: mobtrack user add amina --role analyst --org IOM --country SOM
    """
    from mobtrack.store.db import ensure_schema
    from mobtrack.web.services import accounts

    try:
        with ensure_schema(db).begin() as conn:
            made = accounts.add_user(conn, username, _password(password), role, organisation, operation, country)
            api_token = accounts.create_token(conn, made.id, "cli") if token else None
    except accounts.AccountError as exc:
        fail(str(exc), 2)
    out = {"id": made.id, "username": made.username, "role": role, "totp_uri": made.totp_uri, "token": api_token}
    if json:
        print_json(out)
        return
    console.print(f"[green]added[/green] {made.username} ({role})")
    if made.totp_uri:
        console.print(f"two-factor: add this to an authenticator app: {made.totp_uri}")
    if api_token:
        console.print(f"API token (shown once): {api_token}")


def user_list(db: DbOption = None, json: JsonOption = False) -> None:
    """List users with their role, organisation, scopes and state."""
    from rich.table import Table

    from mobtrack.store.db import ensure_schema
    from mobtrack.web.services import accounts

    with ensure_schema(db).connect() as conn:
        users = accounts.list_users(conn)
    if json:
        print_json(users)
        return
    table = Table("username", "role", "organisation", "scopes", "active", "2FA", "last login")
    for u in users:
        table.add_row(u["username"], u["role"], u["organisation"], ", ".join(u["scopes"]) or "all",
                      "yes" if u["active"] else "no", "yes" if u["two_factor"] else "no", str(u["last_login_at"] or ""))
    console.print(table)


def user_disable(username: Annotated[str, typer.Argument()], enable: Annotated[bool, typer.Option(
        "--enable", help="Enable the account again instead.")] = False, db: DbOption = None,
        json: JsonOption = False) -> None:
    """Disable a user (ends their sessions and revokes their API tokens at once)."""
    from mobtrack.store.db import ensure_schema
    from mobtrack.web.services import accounts

    try:
        with ensure_schema(db).begin() as conn:
            accounts.set_active(conn, username, enable)
    except accounts.AccountError as exc:
        fail(str(exc), 1)
    if json:
        print_json({"username": username, "active": enable})
    else:
        console.print(f"{username}: {'enabled' if enable else 'disabled'}")


def export_command(
    operation: Annotated[str, typer.Option("--operation", help="Operation name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, hxl, xlsx, geojson or parquet.")] = "csv",
    table: Annotated[str, typer.Option("--table", help="figures, series or changes.")] = "figures",
    level: Annotated[int, typer.Option("--level", min=0, max=5)] = 1,
    round_number: Annotated[int | None, typer.Option("--round")] = None,
    group: Annotated[str, typer.Option("--group")] = "idps",
    unit: Annotated[str, typer.Option("--unit")] = "individuals",
    db: DbOption = None, json: JsonOption = False,
) -> None:
    """Export the public (published, small-cell protected) figures of an operation, as the website does.

    Example: mobtrack export --operation "Lake Chad Basin Crisis" --level 2 --format hxl -o lcb.csv
    """
    from mobtrack.publish import FORMATS, export
    from mobtrack.store.db import ensure_schema
    from mobtrack.web.errors import ApiError
    from mobtrack.web.services import audit, catalogue, places
    from mobtrack.web.services import figures as service
    from mobtrack.web.services.principal import ANONYMOUS

    if fmt not in FORMATS or table not in ("figures", "series", "changes"):
        fail(f"--format is one of {', '.join(FORMATS)}; --table one of figures, series, changes", 2)
    try:
        with ensure_schema(db).begin() as conn:
            op = catalogue.find_operation(conn, ANONYMOUS, operation)
            view = catalogue.view_of(ANONYMOUS, op["name"], op["country_iso3"])
            if table == "figures":
                frame, _ = service.figures(conn, view, level, group, unit, round_number)
            elif table == "series":
                frame = service.series(conn, view, level, group, unit)
            else:
                frame = service.changes(conn, view, level, group, unit, round_number)
            geometry = places.geojson(conn, view.country_iso3, level) if fmt == "geojson" else None
            output.write_bytes(export(frame, fmt, level, geometry))
            audit.record(conn, ANONYMOUS.__class__(username=f"cli:{getpass.getuser()}", via="cli"), "export",
                         f"{op['name']}/{table}", details={"format": fmt, "rows": frame.height, "file": str(output)})
    except ApiError as exc:
        fail(exc.message, 1)
    if json:
        print_json({"file": str(output), "rows": frame.height, "format": fmt})
    else:
        console.print(f"wrote {frame.height:,} rows to {output}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("export")(export_command)
    user_app.command("add")(user_add)
    user_app.command("list")(user_list)
    user_app.command("disable")(user_disable)
    app.add_typer(user_app, name="user")

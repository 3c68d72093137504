"""`mobtrack publish`: make a round visible to the public, when nothing blocks it."""

from __future__ import annotations

from typing import Annotated

import typer

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json


def publish_command(
    operation: Annotated[str, typer.Option("--operation", help="Operation name.")],
    round_number: Annotated[int, typer.Option("--round", help="Round number.")],
    assessment_type: Annotated[str | None, typer.Option("--assessment-type", help="When the round number is "
                                                        "used by several assessment types.")] = None,
    db: DbOption = None, json: JsonOption = False,
) -> None:
    """Publish a round. Refused, with the blocking errors listed, while any error remains.

    Example: mobtrack publish --operation "Lake Chad Basin Crisis" --round 24
    """
    from mobtrack.store.db import ensure_schema
    from mobtrack.store.publishing import PublishError, publish

    try:
        with ensure_schema(db).begin() as conn:
            result = publish(conn, operation, round_number, assessment_type)
    except PublishError as exc:
        if json:
            print_json({"status": "blocked", "message": str(exc), "blocking": exc.blocking})
            raise typer.Exit(1) from exc
        for b in exc.blocking[:20]:
            console.print(f"  {b['rule']:26} row {b['row']}  {b['message']}")
        fail(str(exc))
    if json:
        print_json(result)
    else:
        console.print(f"[green]published[/green] round {round_number} of {operation}"
                      + ("" if result["changed"] else " (it already was)"))


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)

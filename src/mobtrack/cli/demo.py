"""`mobtrack demo`: a demo database from synthetic data, and what to try next."""

from __future__ import annotations

import typer

from mobtrack.cli._common import DbOption, JsonOption, console, print_json


def demo_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Build a demo database: a synthetic 12-round operation on the Somalia COD-AB boundaries.

    Example: mobtrack demo --db demo.db
    """
    from mobtrack.demo import OPERATION, build_demo
    from mobtrack.store.db import resolve_url

    with console.status("building the demo database (synthetic data)…"):
        result = build_demo(db)
    if json:
        print_json(result)
        return
    db_flag = f" --db {db}" if db else ""
    console.print(f"[green]demo ready[/green] in {resolve_url(db)}: {len(result['rounds'])} rounds, "
                  f"{result['observations']:,} observations of [bold]{OPERATION}[/bold] ({result['status']}); "
                  f"rounds {', '.join(map(str, result['published']))} published, "
                  f"{', '.join(map(str, result['blocked'])) or 'none'} held back by data-quality errors.")
    console.print(f"""
Try:
  mobtrack serve{db_flag}                                 (then open http://127.0.0.1:8000/)
  mobtrack figures --country SOM --level 1 --latest{db_flag}
  mobtrack figures --country SOM --level 2 --round 11 --json{db_flag}
  mobtrack changes --country SOM --level 1{db_flag}
  mobtrack match names.csv --country SOM --level 2 --json       (a CSV with a 'name' column)
  mobtrack --help
""")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)

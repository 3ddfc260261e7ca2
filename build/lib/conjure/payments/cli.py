"""Operator commands: ``conjure payments packages`` and ``conjure payments reconcile``."""

from __future__ import annotations

import asyncio
import datetime as dt

import typer

from conjure.settings import Settings

app = typer.Typer(help="Star packages and Stripe payments.", no_args_is_help=True)


@app.command()
def packages() -> None:
    """List the star packages for sale (from STAR_PACKAGES)."""
    for p in Settings().star_packages:
        typer.echo(
            f"{p.id:<12} {p.name:<16} {p.price / 100:>9.2f} THB  {p.stars} + {p.bonus_stars} bonus stars"
        )


@app.command()
def reconcile(
    older_than_minutes: int = typer.Option(15, help="Only payments at least this old."),
    max_age_days: int = typer.Option(7, help="Skip payments older than this."),
) -> None:
    """Ask Stripe about open payments and credit those that succeeded (safe to repeat)."""
    from conjure.payments.reconcile import reconcile_open_payments
    from conjure.payments.stripe_client import close_gateway
    from conjure.runtime import Runtime

    async def run() -> dict[str, int]:
        runtime = await Runtime.start(Settings())
        try:
            counts = await reconcile_open_payments(
                runtime,
                older_than=dt.timedelta(minutes=older_than_minutes),
                max_age=dt.timedelta(days=max_age_days),
            )
            return dict(counts)
        finally:
            await close_gateway(runtime)
            await runtime.close()

    counts = asyncio.run(run())
    typer.echo(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "No open payments.")
    if counts.get("error"):
        raise typer.Exit(1)

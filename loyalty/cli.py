"""The `loyalty` command: serve, migrate, import owners, staff accounts, worker and beat.

What the commands report is in the CLI's locale (`environment_locale()`: LC_ALL, LC_MESSAGES,
LANG; zh-CN on a server that names neither language). Start-up errors of the operator's own
configuration (settings, a missing migration, no broker for Celery) stay English, as the
settings' own messages do, and so does `--help`."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from getpass import getpass
from pathlib import Path
from typing import Any, Awaitable, Callable

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from loyalty import db, jobs
from loyalty.errors import DomainError, ImportRejected, NotMigrated
from loyalty.i18n import Message, _, _n, environment_locale, translate
from loyalty.i18n.enums import enum_label
from loyalty.i18n.format import items
from loyalty.settings import Settings, SettingsError, load_settings, login_channel_problem

console = Console(stderr=True)


def say(message: Message) -> str:
    """`message` in the CLI's locale."""
    return translate(message, environment_locale())

DEMO_SECRET_FILE = ".loyalty-demo-secret"


def _settings(*, demo: bool = False, require_secret: bool = True) -> Settings:
    try:
        settings = load_settings(demo=True if demo else None, require_secret=require_secret)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if settings.demo and not settings.secret_key:
        settings = settings.with_overrides(secret_key=_demo_secret())
    return settings


def _demo_secret() -> str:
    """A demo keeps its generated secret in the working folder, so sessions and printed
    codes survive a restart. Production always sets LOYALTY_SECRET_KEY."""
    path = Path(DEMO_SECRET_FILE)
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _run(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Bind the database for `settings` and run one coroutine with the pool open."""
    db.bind(db.engine_from_url(settings.database_url))
    jobs.configure(settings)

    async def main() -> Any:
        await db.start()
        try:
            return await work()
        finally:
            await db.stop()

    try:
        return asyncio.run(main())
    except ImportRejected:
        raise  # the import command prints its row-level report
    except DomainError as error:
        locale = environment_locale()
        raise click.ClickException(
            say(_("{title}: {detail}", title=error.title_in(locale), detail=error.detail_in(locale)))
        ) from None


def _logging(settings: Settings | None = None) -> None:
    from loyalty.ops.logs import configure_logging

    configure_logging(settings.log_format if settings is not None else "text")


@click.group()
def main() -> None:
    """Owner Club (业主俱乐部): the loyalty and membership platform for home owners."""


@main.command()
@click.option("--demo", is_flag=True, help="Migrate, load demo data if empty, and serve (no services needed).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Web processes (production: several).")
def serve(demo: bool, host: str, port: int, workers: int) -> None:
    """Run the web server."""
    import uvicorn

    settings = _settings(demo=demo)
    if problem := login_channel_problem(settings):
        raise click.ClickException(problem)
    _logging(settings)
    if demo:
        from loyalty import demo as demo_data

        async def prepare() -> tuple[bool, str]:
            await db.migrate()
            loaded = await demo_data.load_demo_data()
            return loaded, await demo_data.demo_partner_key()

        loaded, partner_key = _run(settings, prepare)
        _print_demo_banner(settings, loaded, partner_key, host, port)
        os.environ.setdefault("LOYALTY_DEMO", "true")
        os.environ.setdefault("LOYALTY_SECRET_KEY", settings.secret_key or "")
    else:
        try:
            _run(settings, db.check_migrated)
        except NotMigrated as error:
            raise click.ClickException(str(error)) from None
    if workers > 1:
        from loyalty.serving import fix_multiworker_nodelay

        fix_multiworker_nodelay()
    # Each web process configures its own logging (loyalty.asgi) and writes its own access
    # log line per request, with the request id and without the query string.
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer
    # before the app sees it; which proxies to trust is LOYALTY_TRUSTED_PROXIES' decision
    # (loyalty.ops.client_address), and by default none is.
    uvicorn.run(
        "loyalty.asgi:create", factory=True, host=host, port=port, workers=workers, log_config=None, access_log=False,
        proxy_headers=False,
    )


@main.command()
def migrate() -> None:
    """Apply all pending database migrations."""
    settings = _settings(require_secret=False)
    applied = _run(settings, lambda: db.migrate(quiet=True))
    console.print(
        say(_n("{count} migration applied to {database}.", "{count} migrations applied to {database}.", len(applied),
               database=settings.database_kind))
        if applied else say(_("Already up to date."))
    )


@main.command("import-owners")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows and report the bad ones.")
def import_owners(file: Path, skip_bad_rows: bool) -> None:
    """Import owners from a .csv or .xlsx file (all or nothing by default)."""
    from loyalty.members import importer

    settings = _settings(require_secret=False)
    with Progress(
        TextColumn(f"[bold]{say(_('importing'))}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("rows", total=None)

        async def work() -> importer.ImportReport:
            await db.check_migrated()
            return await importer.import_owners(
                file, skip_bad_rows=skip_bad_rows, region=settings.default_region,
                progress=lambda done: bar.update(task, advance=done),
            )

        try:
            report = _run(settings, work)
        except ImportRejected as error:
            bar.stop()
            _print_row_errors(error.extra.get("errors", []))
            raise click.ClickException(error.detail_in(environment_locale())) from None
        except NotMigrated as error:
            raise click.ClickException(str(error)) from None
    if report.errors:
        _print_row_errors([vars(e) for e in report.errors])
    _print_import_summary(file, report)


def _print_import_summary(file: Path, report: Any) -> None:
    summary = RichTable(title=say(_n("{file}: {count} row", "{file}: {count} rows", report.rows, file=file.name)))
    summary.add_column("")
    summary.add_column(say(_("created")), justify="right")
    summary.add_column(say(_("updated")), justify="right")
    summary.add_row(say(_("projects")), str(report.projects_created), "-")
    summary.add_row(say(_("units")), str(report.units_created), str(report.units_updated))
    summary.add_row(say(_("members")), str(report.members_created), str(report.members_updated))
    summary.add_row(say(_("ownerships")), str(report.ownerships_created), str(report.ownerships_updated))
    console.print(summary)
    console.print(
        say(_n("{count} row skipped", "{count} rows skipped", report.skipped_rows)) if report.skipped_rows
        else say(_("no rows skipped"))
    )
    if not report.changed:
        console.print(say(_("Nothing changed: the database already matches the file.")))


def _print_row_errors(errors: list[dict[str, Any]]) -> None:
    """The rows the import refused: row, column and reason (a catalogue message from the
    importer, or a plain text), in the CLI's locale."""
    table = RichTable(title=say(_("rows with problems")))
    for column in (_("row"), _("column"), _("reason")):
        table.add_column(say(column))
    for error in errors[:200]:
        table.add_row(str(error["row"]), str(error["column"]), translate(error["reason"], environment_locale()))
    console.print(table)
    if len(errors) > 200:
        console.print(say(_n("... and {count} more", "... and {count} more", len(errors) - 200)))


def _print_demo_banner(settings: Settings, loaded: bool, partner_key: str, host: str, port: int) -> None:
    from loyalty import demo as demo_data

    staff = items(
        [say(_("{username} / {password} ({role})", username=user, password=password, role=enum_label("staff_role", role, environment_locale())))
         for user, (role, password, _display) in demo_data.DEMO_STAFF.items()],
        environment_locale(),
    )
    docs = f"http://{host}:{port}/schema"
    lines = [
        say(_("Demo loaded in {database}.", database=settings.database_url) if loaded
            else _("Demo already loaded in {database}.", database=settings.database_url)),
        say(_("Owner login: phone {phone}; the one-time code is printed in this log.", phone=demo_data.DEMO_OWNER_PHONE)),
        say(_("Staff logins: {logins}", logins=staff)),
        say(_("Partner API key ({merchant}; stores {stores}): {key}", merchant="好家居建材", stores="BJ, XH", key=partner_key)),
        say(_("API docs: {swagger} (Swagger UI), {redoc} (Redoc)", swagger=docs + "/swagger", redoc=docs + "/redoc")),
    ]
    console.print("\n  ".join(lines))


@main.command("create-staff")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "sales", "event_staff", "service"]))
@click.option("--name", "display_name", default="", help="Display name")
@click.option("--password", envvar="LOYALTY_STAFF_PASSWORD", default=None, help="Or set LOYALTY_STAFF_PASSWORD; asked if absent.")
def create_staff(username: str, role: str, display_name: str, password: str | None) -> None:
    """Create a staff login with one role."""
    from loyalty.identity import service

    if password is None:
        password = getpass(say(_("Password: ")))
        if getpass(say(_("Again: "))) != password:
            raise click.ClickException(say(_("the passwords differ")))
    settings = _settings(require_secret=False)
    staff = _run(settings, lambda: service.create_staff(username, password, role, display_name))
    role = enum_label("staff_role", staff.role, environment_locale())
    console.print(say(_("Staff {username} created with role {role}.", username=staff.username, role=role)))


@main.command("refresh-stages")
def refresh_stages() -> None:
    """Recompute every member's lifecycle stage now (beat does it nightly)."""
    from loyalty.members import service

    changed = _run(_settings(require_secret=False), service.refresh_stages)
    console.print(say(_n("{count} member changed stage.", "{count} members changed stage.", changed)))


@main.command("recompute-tiers")
@click.option("--review", is_flag=True, help="The yearly review: tiers may also go down (beat runs it on January 1st).")
def recompute_tiers(review: bool) -> None:
    """Evaluate every member's tier now, set-based, with a progress bar. Without --review a
    tier only rises (downgrades wait for the yearly review)."""
    from loyalty.cards import service as cards

    settings = _settings(require_secret=False)
    with Progress(
        TextColumn(f"[bold]{say(_('tiers'))}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("cards", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def work() -> Any:
            await db.check_migrated()
            return await cards.recompute_tiers(review=review, progress=advance)

        result = _run(settings, work)
    counts = {"upgraded": result.upgraded, "downgraded": result.downgraded}
    if review:
        done = _n("{count} card evaluated: {upgraded} upgraded, {downgraded} downgraded",
                  "{count} cards evaluated: {upgraded} upgraded, {downgraded} downgraded", result.evaluated, **counts)
    else:
        done = _n("{count} card evaluated: {upgraded} upgraded, {downgraded} downgraded (downgrades wait for --review)",
                  "{count} cards evaluated: {upgraded} upgraded, {downgraded} downgraded (downgrades wait for --review)",
                  result.evaluated, **counts)
    console.print(say(done))


@main.command("create-merchant-key")
@click.argument("merchant_id", type=int)
@click.option("--store", "store_id", type=int, default=None, help="Limit the key to one store (its id).")
@click.option("--label", default="", help="What the key is for, e.g. 'till 2'.")
def create_merchant_key(merchant_id: int, store_id: int | None, label: str) -> None:
    """Create a partner API key for a merchant. The key is printed once and never stored."""
    from loyalty.merchants import service as merchants

    raw, key_id = _run(_settings(require_secret=False), lambda: merchants.create_api_key(merchant_id, store_id=store_id, label=label))
    console.print(say(_("API key {key_id} for merchant {merchant_id} (shown once, keep it safe):", key_id=key_id,
                        merchant_id=merchant_id)))
    click.echo(raw)


@main.command("audit-ledger")
def audit_ledger() -> None:
    """Prove every points balance equals its ledger (and its lots); exits 1 on any drift."""
    from loyalty.points import service as points

    drifts = _run(_settings(require_secret=False), points.audit_ledger)
    if not drifts:
        console.print(say(_("Ledger and balances agree for every member.")))
        return
    table = RichTable(title=say(_n("{count} drift", "{count} drifts", len(drifts))))
    for column in (_("member"), _("what"), _("ledger"), _("recorded")):
        table.add_column(say(column))
    for drift in drifts[:200]:
        table.add_row(str(drift.member_id), drift.what, str(drift.ledger), str(drift.recorded))
    console.print(table)
    raise SystemExit(1)


def _celery(*args: str) -> None:
    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException(
            "set LOYALTY_BROKER_URL (redis://...) to run Celery; without it the web process runs the jobs and the beat schedule itself"
        )
    from loyalty.worker import celery_app

    celery_app.start(argv=list(args))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker (extra arguments go to Celery)."""
    # The worker is what sends: on the log backend it would mark owners' codes "sent" to nowhere.
    if problem := login_channel_problem(_settings()):
        raise click.ClickException(problem)
    _celery("worker", "--loglevel=INFO", *celery_args)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Run the Celery beat scheduler (exactly one per deployment)."""
    _celery("beat", "--loglevel=INFO", *celery_args)


if __name__ == "__main__":
    sys.exit(main())

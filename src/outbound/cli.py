"""The `outbound` command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from outbound import delivery, service
from outbound.app import create_app
from outbound.bootstrap import build, build_simulation, drain, open_store
from outbound.clock import RealClock, monotonic
from outbound.config import Settings
from outbound.demo import run_demo
from outbound.domain.errors import InvalidInput, OutboundError
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction
from outbound.domain.limits import abandon_words
from outbound.domain.settings import AbandonWindow
from outbound.domain.timefmt import iso
from outbound.ingest.contacts import RowError
from outbound.scenario import load_scenario, parse_time
from outbound.store import Store
from outbound.store.db import Checkpointer

if TYPE_CHECKING:
    from outbound.telephony.twiml import Webhook

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Outbound: paced, compliant, crash-safe bulk outbound dialing.")
admin = typer.Typer(no_args_is_help=True, help="Accounts and users.")
campaigns_cli = typer.Typer(no_args_is_help=True, help="Create, load and drive campaigns.")
contacts_cli = typer.Typer(no_args_is_help=True, help="Contact lists of campaigns.")
dnc_cli = typer.Typer(no_args_is_help=True, help="An account's do-not-call list.")
app.add_typer(admin, name="admin")
app.add_typer(campaigns_cli, name="campaigns")
app.add_typer(contacts_cli, name="contacts")
app.add_typer(dnc_cli, name="dnc")

# Messages are single lines however long: scripts read them, and so do the tests.
err = Console(stderr=True, soft_wrap=True)
out = Console()
# The time of every change a command makes: the wall clock (commands run no loop).
clock = RealClock()


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Every error we raise on purpose becomes one line and exit status 2."""
    try:
        yield
    except OutboundError as exc:
        fail(str(exc))


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _store() -> Store:
    return open_store(_settings())


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- simulate and demo ---------------------------------------------------------------------


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="The scenario TOML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where report.json and calls.csv go.")],
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
) -> None:
    """Run a scenario in virtual time: the real engine and store, a simulated network."""
    _settings()
    with user_errors():
        loaded = load_scenario(scenario, seed)
        began = monotonic()
        result = build_simulation(loaded, out_dir).run()
        wall = monotonic() - began
    report = result.report
    err.print(
        f"{report['status']}: {report['calls']} calls, {report['answered']} answered, "
        f"{report['dnc_blocks']} DNC blocks, {result.virtual_seconds / 3600:.1f} simulated "
        f"hours in {wall:.1f} s; wrote {out_dir / 'report.json'} and {out_dir / 'calls.csv'}",
        highlight=False,
    )
    occupancy = report["agent_occupancy"]
    err.print(
        f"abandoned {report['abandonment_rate'] * 100:.1f}% of answered (target "
        f"{report['abandon_target']:g}%)"
        + (f", agents {occupancy * 100:.0f}% busy, {report['answered_per_agent_hour']:g} "
           "answered per agent-hour" if occupancy is not None else "")
        + f", drained in {report['drain_time'] / 60:.0f} min", highlight=False)


@app.command()
def demo(
    contacts: Annotated[int, typer.Option(help="How many contacts to generate.")] = 2000,
    fresh: Annotated[bool, typer.Option(help="Start over even if a demo campaign exists.")] = False,
) -> None:
    """Run a customer-first demo campaign on the wall clock against the simulated network."""
    settings = _settings()
    with user_errors():
        run_demo(settings, contacts=contacts, fresh=fresh, console=out)


@app.command()
def worker(
    drain_seconds: Annotated[float, typer.Option(
        help="On SIGTERM, let calls in flight finish for at most this long.")] = 10.0,
) -> None:
    """Run the scheduler alone against the configured store, until SIGTERM or Ctrl-C."""
    settings = _settings()
    with user_errors():
        code = asyncio.run(_run_worker(settings, drain_seconds))
    raise typer.Exit(code)


async def _run_worker(settings: Settings, drain_seconds: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def failed(exc: BaseException) -> None:
        failure.append(exc)
        stop.set()

    application = build(settings, RealClock(loop), on_failure=failed)
    _settle_memory()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    err.print(f"worker {application.engine.worker_id} started on {settings.store_url()}",
              highlight=False)
    with Checkpointer(application.store.engine):
        application.runner.start()
        webhooks = asyncio.create_task(delivery.run(application.store, RealClock(loop), stop))
        await stop.wait()
        await webhooks
        if failure:
            application.runner.stop()
        else:
            await drain(application, drain_seconds)
    application.store.close()
    if failure:
        err.print(f"[bold red]worker stopped:[/] {failure[0]}", highlight=False)
        return 1
    return 0


def _settle_memory() -> None:
    """Exempt what startup built (modules, tables, statements) from the garbage collector's
    full passes: a long-running dialer then never stalls tens of milliseconds walking it."""
    gc.collect()
    gc.freeze()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    drain_seconds: Annotated[float, typer.Option(
        help="On SIGTERM, let calls in flight finish for at most this long.")] = 10.0,
) -> None:
    """Run the API and the scheduler in one process on the configured store."""
    settings = _settings()
    with user_errors():
        code = asyncio.run(_serve(settings, host, port, drain_seconds))
    raise typer.Exit(code)


class _Server(uvicorn.Server):
    """uvicorn, with the signals left to us: its own handler re-raises SIGTERM once it has
    shut down, which would kill the process before the scheduler drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True


async def _serve(settings: Settings, host: str, port: int, drain_seconds: float) -> int:
    """The scheduler on this loop, the HTTP server on a loop of its own in a second thread:
    a burst of dials never delays a request behind it on one loop, and a burst of requests
    never delays a dial. They meet only through the store and call_soon_threadsafe."""
    loop = asyncio.get_running_loop()
    failure: list[BaseException] = []
    application = build(settings, RealClock(loop), on_failure=failure.append)
    _settle_memory()

    def changed() -> None:  # called from the HTTP server's threads
        loop.call_soon_threadsafe(application.runner.refresh)

    def provider_changed(account_id: int) -> None:  # likewise
        loop.call_soon_threadsafe(application.providers.forget, account_id)

    def twilio_hook(account_id: int, hook: Webhook) -> None:  # likewise
        loop.call_soon_threadsafe(application.providers.webhook, account_id, hook)

    api = create_app(application.store, application.clock, on_change=changed,
                     on_provider_change=provider_changed, on_twilio=twilio_hook)
    server = _Server(uvicorn.Config(api, host=host, port=port, log_level="warning",
                                    lifespan="off"))
    http = threading.Thread(target=server.run, name="http", daemon=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    with Checkpointer(application.store.engine):
        application.runner.start()
        delivering = asyncio.Event()
        webhooks = asyncio.create_task(delivery.run(application.store, RealClock(loop),
                                                    delivering))
        http.start()
        err.print(f"serving http://{host}:{port}/api/v1/docs on {settings.store_url()}",
                  highlight=False)
        await asyncio.to_thread(http.join)  # returns on SIGINT/SIGTERM, or if it cannot listen
        await drain(application, drain_seconds)
        delivering.set()
        await webhooks
    application.store.close()
    if failure:
        err.print(f"[bold red]scheduler stopped:[/] {failure[0]}", highlight=False)
        return 1
    if not server.started:
        err.print(f"[bold red]could not listen on {host}:{port}[/]", highlight=False)
        return 1
    return 0


# -- admin ---------------------------------------------------------------------------------


@admin.command("create-account")
def create_account(
    name: str,
    timezone: Annotated[str, typer.Option(help="IANA zone for default business hours.")] = "UTC",
    region: Annotated[str, typer.Option(help="Default region for national numbers.")] = "US",
    json_out: Annotated[bool, typer.Option("--json", help="Print the whole account.")] = False,
) -> None:
    """Create an account (business hours default to 09:00–19:00 on weekdays)."""
    store = _store()
    with user_errors():
        row = service.create_account(store, name, timezone, region, clock.now())
    if json_out:
        _print_json({"id": row.id, "name": row.name, "timezone": row.timezone,
                     "region": row.region, "business_hours": row.business_hours})
    else:
        print(row.id)


@admin.command("create-user")
def create_user(
    account: str,
    email: str,
    role: Annotated[str, typer.Option(help="owner, admin or user")] = "user",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read a password for the web login from standard input.")
    ] = False,
) -> None:
    """Add a user to an account (prints the user's id)."""
    store = _store()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with user_errors():
        row = service.find_account(store, account)
        user_id = service.create_user(store, row.id, email, role, clock.now(), password=password)
    print(user_id)


@admin.command("create-token")
def create_token(account: str, email: str) -> None:
    """Print a new API bearer token for a user, once: only its hash is kept."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        print(service.create_token(store, row.id, email, clock.now()))


@admin.command("revoke-token")
def revoke_token(
    account: str,
    email: str,
    token: Annotated[str | None, typer.Option(
        help="Revoke only this token (default: all of the user's tokens).")] = None,
) -> None:
    """Revoke a user's API tokens."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        done = service.revoke_tokens(store, row.id, email, clock.now(), token=token)
    err.print(f"revoked {done} token{'' if done == 1 else 's'}", highlight=False)


# -- campaigns -----------------------------------------------------------------------------


@campaigns_cli.command("load")
def campaigns_load(
    scenario: Path,
    account: Annotated[str, typer.Option(help="Account id or name.")],
    draft: Annotated[bool, typer.Option(help="Leave it a draft instead of scheduling it.")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a scenario's numbers, people, menus, campaign, contacts and DNC in an account."""
    store = _store()
    with user_errors():
        loaded_scenario = load_scenario(scenario)
        account_row = service.find_account(store, account)
        loaded = service.load_scenario(store, account_row.id, loaded_scenario, clock.now(),
                                       draft=draft)
    report = loaded.contacts
    dnc_errors = [{"row": e.row, "value": e.value, "reason": e.reason}
                  for e in loaded.dnc_errors]
    _print_campaign(store, loaded.campaign_id, json_out,
                    extra={"import": report.to_dict(), "dnc_added": loaded.dnc_added,
                           "dnc_errors": dnc_errors})
    if not json_out:
        err.print(f"imported {report.imported:,} of {report.rows:,} rows: {report.invalid:,} "
                  f"invalid, {report.duplicate:,} duplicate, {report.dnc_flagged:,} on the "
                  f"do-not-call list; {loaded.dnc_added:,} do-not-call entries added",
                  highlight=False)
        for e in report.errors[:10]:
            err.print(f"  row {e.row}: {e.value!r}: {e.reason}", highlight=False)
        if len(report.errors) > 10:
            err.print(f"  … and {len(report.errors) - 10:,} more (use --json for all)",
                      highlight=False)
        for e in loaded.dnc_errors[:10]:
            err.print(f"  do-not-call row {e.row}: {e.value!r}: {e.reason}", highlight=False)


def _settings_options(**given: Any) -> dict[str, Any]:
    changes = {k: v for k, v in given.items() if v is not None}
    if "transfer" in changes:
        kind, _, name = changes["transfer"].partition("=")
        changes["transfer"] = {kind.strip(): name.strip()}
    if "numbers" in changes:
        changes["numbers"] = [n for n in changes["numbers"].split(",") if n.strip()]
    return changes


# Pacing against agents (issue 14): the same options on `campaigns create` and `set`.
DialingOption = Annotated[str | None, typer.Option(
    help="predictive, progressive or fixed (customer-first only).")]
AbandonTargetOption = Annotated[float | None, typer.Option(
    help="Abandoned calls at most, percent of answered, 0–5.")]
AbandonWindowOption = Annotated[str | None, typer.Option(
    help="30d (rolling, US) or 24h (today in the account's zone, UK).")]
AbandonMessageOption = Annotated[str | None, typer.Option(
    help="What an abandoned call hears (default: the account's).")]


@campaigns_cli.command("create")
def campaigns_create(
    account: str,
    name: Annotated[str, typer.Option(help="Campaign name, unique in the account.")],
    dial_mode: Annotated[str | None, typer.Option(help="customer-first or agent-first")] = None,
    pacing: Annotated[float | None, typer.Option(help="Calls per second, 1–20.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Calls in flight, 1–50.")] = None,
    attempts: Annotated[int | None, typer.Option(help="Attempts per contact, 1–5.")] = None,
    backoff_seconds: Annotated[float | None, typer.Option(help="Wait between attempts.")] = None,
    backoff_multiplier: Annotated[float | None, typer.Option()] = None,
    rotation: Annotated[str | None, typer.Option(help="round-robin, random or sticky")] = None,
    numbers: Annotated[str | None, typer.Option(help="Comma-separated caller IDs.")] = None,
    transfer: Annotated[str | None, typer.Option(
        help="department=NAME, agent=NAME or voice_menu=NAME")] = None,
    recording: Annotated[bool | None, typer.Option("--recording/--no-recording")] = None,
    start: Annotated[str | None, typer.Option(
        help="When a scheduled campaign starts, ISO-8601 with offset.")] = None,
    hours_timezone: Annotated[str | None, typer.Option(
        help="Business hours override: IANA zone (default: the account's).")] = None,
    hours_days: Annotated[str | None, typer.Option(
        help="Business hours override: days, e.g. mon,tue,wed,thu,fri.")] = None,
    hours_open: Annotated[str | None, typer.Option(help="Business hours override: HH:MM.")] = None,
    hours_close: Annotated[str | None, typer.Option(help="Business hours override: HH:MM.")
                           ] = None,
    dialing: DialingOption = None,
    abandon_target: AbandonTargetOption = None,
    abandon_window: AbandonWindowOption = None,
    abandon_message: AbandonMessageOption = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a draft campaign (business hours: the account's unless overridden)."""
    store = _store()
    with user_errors():
        account_row = service.find_account(store, account)
        data = _settings_options(
            name=name, dial_mode=dial_mode, pacing=pacing, concurrency=concurrency,
            attempts=attempts, backoff_seconds=backoff_seconds,
            backoff_multiplier=backoff_multiplier, rotation=rotation, numbers=numbers,
            transfer=transfer, recording=recording, dialing=dialing,
            abandon_target=abandon_target, abandon_window=abandon_window,
            abandon_message=abandon_message)
        if start is not None:
            data["start"] = parse_time(start, "start")
        if any(v is not None for v in (hours_timezone, hours_days, hours_open, hours_close)):
            default = account_row.business_hours
            try:
                data["business_hours"] = BusinessHours.parse(
                    hours_timezone or default["timezone"],
                    hours_days.split(",") if hours_days is not None else default["days"],
                    hours_open or default["open"], hours_close or default["close"])
            except InvalidInput as exc:
                raise exc.under("business_hours") from None
        campaign_id = service.create_campaign(store, account_row.id, data, clock.now()).id
    _print_campaign(store, campaign_id, json_out)


def _print_campaign(store: Store, campaign_id: int, json_out: bool,
                    extra: dict[str, Any] | None = None) -> None:
    if json_out:
        data = service.find_campaign(store, campaign_id).to_dict()
        data["contacts"] = service.contact_counts(store, campaign_id)
        _print_json(data | (extra or {}))
    else:
        print(campaign_id)


@campaigns_cli.command("list")
def campaigns_list(
    account: Annotated[str | None, typer.Argument(help="Only this account.")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List campaigns with status and progress."""
    store = _store()
    with user_errors():
        account_id = service.find_account(store, account).id if account else None
        rows = service.list_campaigns(store, account_id)
    items = []
    for campaign in rows:
        total, finished, _ = service.progress(store, campaign.id)
        items.append((campaign, total, finished))
    if json_out:
        _print_json([c.to_dict() | {"contacts": t, "finished": f} for c, t, f in items])
        return
    table = Table("id", "name", "status", "progress", "mode", "pacing")
    for campaign, total, finished in items:
        table.add_row(str(campaign.id), campaign.settings.name, campaign.status.value,
                      f"{finished}/{total}", campaign.settings.dial_mode.value,
                      f"{campaign.settings.pacing:g}/s")
    out.print(table)


@campaigns_cli.command("show")
def campaigns_show(campaign: str, json_out: Annotated[bool, typer.Option("--json")] = False
                   ) -> None:
    """A campaign's settings and contact counts; while it runs, what keeps it from dialing
    more, its abandon rate over its window and its agents' occupancy."""
    store = _store()
    with user_errors():
        found = service.find_campaign(store, campaign)
        live = service.compute_stats(store, found.account_id, found, clock.now())
    figures = {"limited_by": live["limited_by"], "limited_by_text": live["limited_by_text"],
               "abandon": live["abandon"], "agents": live["agents"]}
    if json_out:
        _print_campaign(store, found.id, True, figures)
        return
    table = Table("setting", "value", show_header=False)
    for key, value in found.to_dict().items():
        table.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
    for status, count in service.contact_counts(store, found.id).items():
        table.add_row(f"contacts {status}", str(count))
    if live["limited_by_text"]:
        table.add_row("limited by", live["limited_by_text"])
    table.add_row("abandon rate", _abandon_text(live["abandon"]))
    if live["agents"] is not None:
        agents = live["agents"]
        table.add_row("agents", f"{agents['busy']} of {agents['logged_in']} busy "
                      f"({agents['occupancy'] * 100:.0f}% occupancy)")
    out.print(table)


def _abandon_text(abandon: dict[str, Any]) -> str:
    words = abandon_words(abandon["rate"], abandon["target"], AbandonWindow(abandon["window"]))
    return f"{words} ({abandon['abandoned']} of {abandon['answered']} answered)"


@campaigns_cli.command("set")
def campaigns_set(
    campaign: str,
    pacing: Annotated[float | None, typer.Option(help="Calls per second, 1–20.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Calls in flight, 1–50.")] = None,
    dialing: DialingOption = None,
    abandon_target: AbandonTargetOption = None,
    abandon_window: AbandonWindowOption = None,
    abandon_message: AbandonMessageOption = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change settings: pacing and concurrency also while running (applied on the engine's
    next tick); the dialing and abandon settings before it starts."""
    store = _store()
    changes = _settings_options(pacing=pacing, concurrency=concurrency, dialing=dialing,
                                abandon_target=abandon_target, abandon_window=abandon_window,
                                abandon_message=abandon_message)
    if not changes:
        fail("nothing to change: give --pacing, --concurrency, --dialing, --abandon-target, "
             "--abandon-window or --abandon-message")
    with user_errors():
        found = service.find_campaign(store, campaign)
        service.update_campaign(store, found.account_id, found.id, changes, clock.now())
    _print_campaign(store, found.id, json_out)


def _action(action: CampaignAction) -> Callable[[str], None]:
    def command(campaign: str) -> None:
        store = _store()
        with user_errors():
            found = service.find_campaign(store, campaign)
            done = service.act(store, found.account_id, found.id, action, clock.now())
        err.print(f"campaign {done.id} is {done.status.value}", highlight=False)

    command.__doc__ = f"{action.value.capitalize()} a campaign."
    return command


for _verb in (CampaignAction.START, CampaignAction.PAUSE, CampaignAction.RESUME,
              CampaignAction.CANCEL, CampaignAction.SCHEDULE):
    campaigns_cli.command(_verb.value)(_action(_verb))


# -- contacts and the do-not-call list ---------------------------------------------------


@contextlib.contextmanager
def _progress(what: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A live row counter on a terminal; nothing otherwise (or with --json)."""
    if quiet or not err.is_terminal:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda rows: bar.update(task, completed=rows)


def _print_row_errors(errors: list[RowError], truncated: bool) -> None:
    for e in errors[:20]:
        err.print(f"  row {e.row}: {e.value!r}: {e.reason}", highlight=False, soft_wrap=True)
    if len(errors) > 20 or truncated:
        err.print(f"  … {len(errors) - 20:,}{'+' if truncated else ''} more (--json lists "
                  "them all)", highlight=False)


@contacts_cli.command("import")
def contacts_import(
    campaign: str,
    file: Path,
    region: Annotated[str | None, typer.Option(
        help="Region for national numbers (default: the account's), e.g. GB.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import a contact list (CSV, or a JSON list of objects) into a campaign, with a report of
    every row not imported."""
    store = _store()
    with user_errors():
        found = service.find_campaign(store, campaign)
        if region is not None and not (len(region) == 2 and region.isalpha()):
            raise InvalidInput("--region", f"must be a two-letter country code (got {region!r})")
        with _progress(f"importing {file.name}", json_out) as tick:
            report = service.import_contacts_file(store, found, file, region, clock.now(),
                                                  progress=tick)
    if json_out:
        _print_json(report.to_dict())
        return
    err.print(f"{report.rows:,} rows: {report.imported:,} imported ({report.dnc_flagged:,} on "
              f"the do-not-call list), {report.invalid:,} invalid, {report.duplicate:,} "
              "duplicate", highlight=False)
    _print_row_errors(report.errors, report.errors_truncated)


@dnc_cli.command("add")
def dnc_add(account: str, numbers: list[str],
            json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Add numbers to the do-not-call list (any common format; the account's region)."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        e164, added = service.add_dnc(store, row.id, numbers, "cli", "cli", clock.now())
    if json_out:
        _print_json({"added": added, "already_listed": len(set(e164)) - added,
                     "numbers": e164})
    else:
        err.print(f"added {added} of {len(e164)} (the rest were listed already)",
                  highlight=False)


@dnc_cli.command("import")
def dnc_import(account: str, file: Path,
               region: Annotated[str | None, typer.Option()] = None,
               json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Import a do-not-call list: a CSV with a phone column, or one number per line."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        with _progress(f"importing {file.name}", json_out) as tick:
            report = service.import_dnc_path(store, row.id, file, region, "cli", clock.now(),
                                             progress=tick)
    if json_out:
        _print_json(report.to_dict())
        return
    err.print(f"{report.rows:,} rows: {report.added:,} added, {report.already_listed:,} "
              f"already listed, {report.invalid:,} invalid", highlight=False)
    _print_row_errors(report.errors, report.errors_truncated)


@dnc_cli.command("export")
def dnc_export(account: str, file: Annotated[Path | None, typer.Argument(
        help="Where to write the CSV (default: standard output).")] = None) -> None:
    """Export the do-not-call list as CSV: phone, added_at, added_by, source."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        with (file.open("w", newline="", encoding="utf-8") if file else
              contextlib.nullcontext(sys.stdout)) as out:
            count = service.write_dnc(store, row.id, out)
    if file is not None:
        err.print(f"wrote {count:,} number{'' if count == 1 else 's'} to {file}",
                  highlight=False)


@dnc_cli.command("search")
def dnc_search(account: str, query: str,
               limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
               json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Find listed numbers by number (any format) or by prefix (e.g. +1415); + lists them
    all."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        rows = service.search_dnc(store, row.id, query, limit)
    if json_out:
        _print_json([service.dnc_entry(r) for r in rows])
        return
    table = Table("phone", "added", "by", "source")
    for r in rows:
        table.add_row(r.phone, iso(r.added_at), r.added_by or "", r.source or "")
    out.print(table)


@dnc_cli.command("remove")
def dnc_remove(account: str, numbers: list[str]) -> None:
    """Take numbers off the do-not-call list."""
    store = _store()
    with user_errors():
        row = service.find_account(store, account)
        e164, removed = service.remove_dnc_numbers(store, row.id, numbers)
    err.print(f"removed {removed} of {len(e164)}", highlight=False)


def main() -> None:
    try:
        app()
    except Exception as exc:  # the last line of defence: one line, never a traceback
        logging.getLogger("outbound").debug("unexpected failure", exc_info=True)
        err.print(f"[bold red]error:[/] unexpected failure: {type(exc).__name__}: {exc} "
                  "(set OUTBOUND_LOG_LEVEL=DEBUG for details)", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

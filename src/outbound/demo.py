"""`outbound demo`: a customer-first campaign on the wall clock, with live counts.

It creates (once) a demo account with a Sales department of agents, a voice menu, four
caller-ID numbers and 2,000 generated contacts, then runs the real engine against the
simulated network with a brisk profile until the campaign completes or Ctrl-C. A second run
resumes the unfinished demo campaign, or starts a new one once the last has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from outbound import service
from outbound.bootstrap import App, build, drain
from outbound.clock import RealClock
from outbound.config import Settings
from outbound.domain.contacts import ContactStatus
from outbound.domain.errors import NotFound
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.engine.report import campaign_report
from outbound.ingest.contacts import RawContact
from outbound.scenario import generate_numbers
from outbound.store import Store

ACCOUNT = "Demo"
DEPARTMENT = "Sales"
AGENTS = 30
NUMBERS = ["+14155550100", "+14155550101", "+14155550102", "+14155550103"]
# Brisk but realistic in shape: most calls are not answered; answered ones talk a few seconds.
NETWORK = {
    "answer": 0.35, "busy": 0.10, "no_answer": 0.40, "invalid": 0.05, "rejected": 0.05,
    "provider_error": 0.05, "ring_seconds": [1, 4], "talk_seconds": [3, 10],
    "digits": {"1": 0.6, "2": 0.3},
}
HANDLE_SECONDS = [3, 12]
RATE_WINDOW = 10.0  # seconds: the live dial rate is the rate over this much of the latest time


class _Rate:
    """Dials per second over the last `RATE_WINDOW` seconds, from the engine's running count."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def __call__(self, now: float, dials: int) -> float:
        samples = self._samples
        samples.append((now, dials))
        while now - samples[0][0] > RATE_WINDOW:
            samples.popleft()
        then, before = samples[0]
        return (dials - before) / (now - then) if now > then else 0.0


def _account(store: Store, now: float) -> int:
    try:
        return int(service.find_account(store, ACCOUNT).id)
    except NotFound:
        pass
    account_id = int(service.create_account(
        store, ACCOUNT, "UTC", "US", now, business_hours=BusinessHours.always(),
        provider={"kind": "sim", "network": NETWORK, "handle_seconds": {DEPARTMENT:
                                                                         HANDLE_SECONDS}}).id)
    service.add_department(store, account_id, DEPARTMENT)
    for n in range(1, AGENTS + 1):
        service.add_agent(store, account_id, f"{DEPARTMENT}-{n}", now, department=DEPARTMENT)
    service.add_voice_menu(store, account_id, "confirm", "Press 1 to confirm, 2 to cancel.",
                           {"1": "confirm", "2": "cancel"})
    service.add_numbers(store, account_id, NUMBERS)
    return account_id


def _campaign(store: Store, account_id: int, contacts: int, fresh: bool, now: float
              ) -> tuple[int, str]:
    """The demo campaign to run, and whether it was resumed or started."""
    existing = [c for c in service.list_campaigns(store, account_id) if not c.status.terminal]
    if existing and not fresh:
        campaign = existing[-1]
        if campaign.status is CampaignStatus.PAUSED:
            service.act(store, account_id, campaign.id, CampaignAction.RESUME, now)
        return campaign.id, "resuming"
    for campaign in existing:
        service.act(store, account_id, campaign.id, CampaignAction.CANCEL, now)
    number = len(service.list_campaigns(store, account_id)) + 1
    created = service.create_campaign(store, account_id, {
        "name": f"Demo lead-qual #{number}", "dial_mode": "customer-first", "pacing": 20,
        "concurrency": 50, "attempts": 3, "backoff_seconds": 20, "rotation": "round-robin",
        "numbers": NUMBERS, "transfer": {"department": DEPARTMENT}, "recording": True,
    }, now, seed=number)
    phones = generate_numbers(contacts, seed=number)
    service.import_contact_rows(store, created, (
        RawContact(i + 2, p, f"Demo contact {i + 1}", None, {}) for i, p in enumerate(phones)),
        "US", now)
    service.act(store, account_id, created.id, CampaignAction.START, now)
    return created.id, "starting"


def _view(store: Store, account_id: int, campaign_id: int, app: App, rate: float) -> Panel:
    report = campaign_report(store, campaign_id)
    settings = service.campaign_of(store, account_id, campaign_id).settings
    counts = report["contacts"]
    total = sum(counts.values())
    finished = sum(counts[s.value] for s in ContactStatus if s.terminal)
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right")
    table.add_column()
    for status in ContactStatus:
        table.add_row(f"{counts[status.value]:,}", status.value)
    stats = Table.grid(padding=(0, 2))
    stats.add_column(justify="right")
    stats.add_column()
    stats.add_row(f"{report['calls']:,}", "calls placed")
    stats.add_row(f"{len(app.engine.calls)} of {settings.concurrency}",
                  "calls in flight (concurrency)")
    stats.add_row(f"{rate:.1f}/s",
                  f"dial rate, last {RATE_WINDOW:g} s (pacing {settings.pacing:g}/s)")
    stats.add_row(f"{report['abandonment_rate'] * 100:.1f}%", "abandonment")
    stats.add_row(f"{report['dnc_blocks']}", "DNC blocks")
    header = Table.grid(expand=True)
    header.add_row(f"{report['status']}: {finished:,} of {total:,} contacts finished")
    header.add_row(ProgressBar(total=max(1, total), completed=finished))
    body = Table.grid(padding=(0, 6))
    body.add_row(table, stats)
    return Panel(Group(header, body), title=f"Outbound demo — campaign {campaign_id}",
                 subtitle="Ctrl-C to stop (run again to resume)")


def run_demo(settings: Settings, *, contacts: int, fresh: bool, console: Console) -> None:
    asyncio.run(_demo(settings, contacts, fresh, console))


async def _demo(settings: Settings, contacts: int, fresh: bool, console: Console) -> None:
    loop = asyncio.get_running_loop()
    store = Store.open(settings.store_url())
    clock = RealClock(loop)
    now = clock.now()
    account_id = _account(store, now)
    campaign_id, how = _campaign(store, account_id, contacts, fresh, now)
    console.print(f"{how} demo campaign {campaign_id} on {settings.store_url()}",
                  highlight=False)
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def failed(exc: BaseException) -> None:
        failure.append(exc)
        stop.set()

    app = build(settings, clock, store=store, on_failure=failed)
    for sig in (signal.SIGINT, signal.SIGTERM):  # both pause the campaign and let calls end
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    app.runner.start()
    rate = _Rate()

    def view() -> Panel:
        return _view(store, account_id, campaign_id, app,
                     rate(clock.now(), app.engine.counters.dials))

    with Live(view(), console=console, refresh_per_second=4, transient=False) as live:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            live.update(view())
            if (service.campaign_of(store, account_id, campaign_id).status.terminal
                    and not app.engine.calls):
                break
    status = service.campaign_of(store, account_id, campaign_id).status
    if status is CampaignStatus.RUNNING:
        service.act(store, account_id, campaign_id, CampaignAction.PAUSE, clock.now())
        console.print("pausing: letting the calls in flight finish…")
    await drain(app, 15.0)
    if status is CampaignStatus.RUNNING:
        console.print("paused; run `make demo` again to resume")
    store.close()
    if failure:
        raise failure[0]

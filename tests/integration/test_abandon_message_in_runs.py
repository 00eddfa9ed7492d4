"""The safe-harbour message and the opt-out, through the simulated network (SQLite and
PostgreSQL).

An answered customer-first call that finds no agent hears its campaign's message (here the
account's default wording: the account's name and the campaign's first caller ID); a 9
pressed meanwhile puts the number on the account's DNC list (source "opt-out"), so the
account's next campaign blocks it; a customer who hangs up while waiting for an agent counts
as abandoned too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scenario_runs import POOL, small_scenario
from sqlalchemy import select

from outbound import service
from outbound.bootstrap import build, build_simulation
from outbound.config import Settings
from outbound.domain.lifecycle import CampaignAction
from outbound.domain.settings import AGENT_GRACE_SECONDS, default_abandon_message
from outbound.engine.simulation import SIMULATION_TUNING, Simulation
from outbound.scenario import load_scenario
from outbound.store import Store
from outbound.store.schema import call_attempts, contacts, dnc, events
from outbound.telephony.sim import Played, SimulatedNetwork

# One agent with long calls and many answers: most answered calls find no agent.
SCARCE = [{"name": "Sales", "agents": 1, "handle_seconds": [60, 90]}]
EAGER = {"answer": 0.7, "busy": 0.1, "no_answer": 0.2, "invalid": 0.0, "rejected": 0.0,
         "provider_error": 0.0}


@dataclass
class Finished:
    """A simulation run to its end, its store still open."""

    simulation: Simulation
    network: SimulatedNetwork
    url: str
    out_dir: Path

    @property
    def store(self) -> Store:
        return self.simulation.store

    @property
    def played(self) -> dict[int, Played]:
        return {p.attempt_id: p for p in self.network.played}

    def rows(self, table: Any, where: Any) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(table).where(where)))

    def attempts(self, campaign_id: int) -> list[Any]:
        return self.rows(call_attempts, call_attempts.c.campaign_id == campaign_id)


def simulate(directory: Path, url: str, scenario_files: Any, scenario: dict[str, Any], *,
             account: dict[str, Any] | None = None) -> Finished:
    """Run the scenario to its end; `account` changes the account's settings first."""
    path = scenario_files(directory, scenario)
    simulation = build_simulation(load_scenario(path), directory / "out", store_url=url)
    if account is not None:
        service.update_account(simulation.store, simulation.account_id, account)
    simulation.run()
    assert simulation.app is not None
    network = simulation.app.providers.for_account(simulation.account_id)  # type: ignore[attr-defined]
    assert isinstance(network, SimulatedNetwork)
    return Finished(simulation, network, url, directory / "out")


def scarce(**network: Any) -> dict[str, Any]:
    # Fixed pacing: the campaign dials whatever the agents, so it abandons.
    return small_scenario(campaign={"dialing": "fixed", "pacing": 3, "concurrency": 20,
                                    "attempts": 1},
                          contacts={"generate": 60}, departments=SCARCE,
                          network={**EAGER, **network})


@pytest.fixture(scope="module")
def opting_out(store_kind: str, empty_store: Any, scenario_files: Any,
               tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("opt-out")
    finished = simulate(directory, empty_store(store_kind, directory), scenario_files,
                        scarce(opt_out=0.5))
    yield finished
    finished.store.close()


@pytest.fixture(scope="module")
def impatient(store_kind: str, empty_store: Any, scenario_files: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("impatient")
    # Customers hang up 1 s after answering to silence: before the 2 s grace runs out.
    finished = simulate(directory, empty_store(store_kind, directory), scenario_files,
                        scarce(patience=1.0))
    yield finished
    finished.store.close()


ACCOUNT_WORDING = "Acme calling. Dial 415 555 0100 to call back. Press 9 to stop our calls."


@pytest.fixture(scope="module")
def account_worded(store_kind: str, empty_store: Any, scenario_files: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("account-worded")
    finished = simulate(directory, empty_store(store_kind, directory), scenario_files,
                        scarce(), account={"abandon_message": ACCOUNT_WORDING})
    yield finished
    finished.store.close()


def test_an_abandoned_call_hears_the_accounts_own_message_when_it_sets_one(
        account_worded: Finished) -> None:
    run = account_worded
    abandoned = [a.id for a in run.attempts(run.simulation.campaign_id)
                 if a.outcome == "abandoned"]
    assert len(abandoned) >= 10
    assert {i: p.text for i, p in run.played.items()} == dict.fromkeys(abandoned,
                                                                       ACCOUNT_WORDING)


def test_an_abandoned_call_hears_the_accounts_default_message(opting_out: Finished) -> None:
    run = opting_out
    account = run.store.accounts.get(run.simulation.account_id)
    expected = default_abandon_message(account.name, POOL[0])
    abandoned = [a for a in run.attempts(run.simulation.campaign_id)
                 if a.outcome == "abandoned"]
    assert len(abandoned) >= 10
    played = run.played
    assert sorted(played) == sorted(a.id for a in abandoned)
    for attempt in abandoned:
        heard = played[attempt.id]
        assert heard.text == expected
        # Said as the grace ran out: within 2 s of the answer (and the call ended after).
        assert attempt.answered_at + AGENT_GRACE_SECONDS - 1e-6 <= heard.at
        assert heard.at <= attempt.answered_at + AGENT_GRACE_SECONDS + 0.5
        assert attempt.ended_at >= heard.at


def test_a_9_during_the_message_puts_the_number_on_the_dnc_list_as_an_opt_out(
        opting_out: Finished) -> None:
    run = opting_out
    attempts = run.attempts(run.simulation.campaign_id)
    pressed = [a for a in attempts if a.digit == "9"]
    assert 3 <= len(pressed) < len([a for a in attempts if a.outcome == "abandoned"])
    assert all(a.outcome == "abandoned" for a in pressed)  # the call still ends abandoned
    phones = {c.id: c.phone for c in run.rows(
        contacts, contacts.c.campaign_id == run.simulation.campaign_id)}
    listed = {r.phone: r.source for r in run.rows(
        dnc, dnc.c.account_id == run.simulation.account_id)}
    assert listed == {phones[a.contact_id]: "opt-out" for a in pressed}
    opted = run.rows(events, (events.c.campaign_id == run.simulation.campaign_id)
                     & (events.c.kind == "opted_out"))
    assert sorted(e.contact_id for e in opted) == sorted(a.contact_id for a in pressed)


def test_the_accounts_next_campaign_blocks_the_numbers_that_opted_out(
        opting_out: Finished) -> None:
    run = opting_out
    store, account_id = run.store, run.simulation.account_id
    first = run.simulation.campaign_id
    phones = {c.id: c.phone for c in run.rows(contacts, contacts.c.campaign_id == first)}
    opted = sorted({phones[a.contact_id] for a in run.attempts(first) if a.digit == "9"})
    assert opted
    fresh = sorted(set(phones.values()) - set(opted))[:3]
    clock = run.simulation.clock
    now = clock.now()
    settings = {"name": "Next", "dial_mode": "customer-first", "dialing": "fixed",
                "pacing": 2, "concurrency": 5, "attempts": 1, "numbers": POOL,
                "transfer": {"department": "Sales"}, "recording": False}
    campaign = service.create_campaign(store, account_id, settings, now)
    service.import_contacts_json(store, account_id, campaign,
                                 [{"phone": p} for p in opted + fresh], None, now)
    store.campaigns.act(campaign.id, CampaignAction.START, now)
    out = run.out_dir / "next"
    boot = functools.partial(build, Settings(data_dir=out, database_url=run.url), clock,
                             store=store, tuning=SIMULATION_TUNING, seed=12)
    Simulation(store, clock, boot, account_id=account_id, campaign_id=campaign.id,
               script=[], out_dir=out).run()
    status = {c.phone: c.status for c in run.rows(contacts,
                                                  contacts.c.campaign_id == campaign.id)}
    assert {p: status[p] for p in opted} == {p: "blocked" for p in opted}
    dialed = {c.phone for c in run.rows(contacts, contacts.c.campaign_id == campaign.id)
              if c.attempts}
    assert dialed == set(fresh)


def test_a_customer_who_hangs_up_while_waiting_for_an_agent_counts_as_abandoned(
        impatient: Finished) -> None:
    run = impatient
    attempts = run.attempts(run.simulation.campaign_id)
    hung_up = [a for a in attempts if a.answered_at is not None and a.bridged_at is None]
    assert len(hung_up) >= 10
    for attempt in hung_up:
        assert attempt.outcome == "abandoned", attempt
        # They left before the grace ran out: no message was said to them.
        assert attempt.ended_at - attempt.answered_at < AGENT_GRACE_SECONDS
    assert not run.played
    abandoned = {c.id for c in run.rows(contacts, contacts.c.campaign_id
                                        == run.simulation.campaign_id)
                 if c.status == "abandoned"}
    assert abandoned == {a.contact_id for a in hung_up}

"""Both dial modes with too few agents, and contacts that name their own agent.

Customer-first dials first and looks for an agent on answer: at a fixed pace, with two agents
and long handle times, it must abandon (after the 2-second window) rather than queue callers.
Agent-first reserves an agent before dialing: it never abandons. Neither ever puts one agent on
two calls.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from scenario_runs import (
    Run,
    contacts_csv,
    overlapping,
    peak_level,
    run_scenario,
    small_scenario,
)

from outbound.domain.settings import AGENT_GRACE_SECONDS
from outbound.scenario import generate_numbers

SCARCE_AGENTS = [{"name": "Sales", "agents": 2, "handle_seconds": [20, 40]}]
EAGER_NETWORK = {"answer": 0.6, "busy": 0.1, "no_answer": 0.2, "invalid": 0.05,
                 "rejected": 0.05, "provider_error": 0.0}


def agent_spans(run: Run, *, from_dial: bool) -> dict[str, list[tuple[float, float, int]]]:
    """Per agent, the spans it was held: from the bridge, or (agent-first) from the dial."""
    spans: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for attempt in run.attempts:
        if attempt.agent is not None:
            start = attempt.started_at if from_dial else attempt.bridged_at
            assert start is not None, attempt
            spans[attempt.agent].append((start, attempt.ended_at, attempt.id))
    return spans


@pytest.fixture(scope="module")
def runner(store_kind: str, empty_store: Any, scenario_files: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run a scenario (with the files it names) on an empty store of this module's kind."""

    def run(name: str, scenario: dict[str, Any], files: dict[str, str] | None = None) -> Run:
        directory = tmp_path_factory.mktemp(name)
        url = empty_store(store_kind, directory)
        path = scenario_files(directory, scenario, files=files)
        return run_scenario(path, directory / "out", url)

    return run


def scarce_scenario(dial_mode: str) -> dict[str, Any]:
    # Customer-first at a fixed pace, whatever the agents (the governor's own runs are in
    # test_pacing_against_agents.py).
    return small_scenario(campaign={"dial_mode": dial_mode, "pacing": 3, "concurrency": 20,
                                    "dialing": "fixed"},
                          contacts={"generate": 60}, departments=SCARCE_AGENTS,
                          network=EAGER_NETWORK)


@pytest.fixture(scope="module")
def customer_first_scarce(runner: Any) -> Run:
    return runner("scarce-customer-first", scarce_scenario("customer-first"))


@pytest.fixture(scope="module")
def agent_first_scarce(runner: Any) -> Run:
    return runner("scarce-agent-first", scarce_scenario("agent-first"))


def test_customer_first_at_a_fixed_pace_with_too_few_agents_abandons_answered_calls(
        customer_first_scarce: Run) -> None:
    scarce = customer_first_scarce
    abandoned = [a for a in scarce.attempts if a.outcome == "abandoned"]
    assert len(abandoned) >= 5
    contacts = scarce.contact_by_id
    for attempt in abandoned:
        assert attempt.answered_at is not None
        assert attempt.bridged_at is None and attempt.agent is None
        assert attempt.status_after == "abandoned"
        assert contacts[attempt.contact_id].status == "abandoned"
        # The caller waited out the whole window before the apology.
        assert attempt.ended_at - attempt.answered_at >= AGENT_GRACE_SECONDS
    assert scarce.report["abandoned"] == len(abandoned)
    assert scarce.report["contacts"]["abandoned"] == len({a.contact_id for a in abandoned})


def test_customer_first_bridges_within_the_agent_grace_and_never_double_books(
        customer_first_scarce: Run) -> None:
    scarce = customer_first_scarce
    bridged = [a for a in scarce.attempts if a.bridged_at is not None]
    assert bridged
    for attempt in bridged:
        assert attempt.agent in ("Sales-1", "Sales-2")
        assert 0 <= attempt.bridged_at - attempt.answered_at <= AGENT_GRACE_SECONDS
    for agent, spans in agent_spans(scarce, from_dial=False).items():
        assert not overlapping(spans), agent
    answered = [a for a in scarce.attempts if a.answered_at is not None]
    assert all(a.bridged_at is not None or a.outcome == "abandoned" for a in answered)


def test_agent_first_never_abandons_and_never_double_books_an_agent(
        agent_first_scarce: Run) -> None:
    scarce = agent_first_scarce
    assert not [a for a in scarce.attempts if a.outcome == "abandoned"]
    assert scarce.report["abandoned"] == 0
    assert scarce.report["contacts"]["abandoned"] == 0
    for attempt in scarce.attempts:
        assert attempt.agent in ("Sales-1", "Sales-2"), attempt
        if attempt.answered_at is not None:
            assert attempt.bridged_at is not None, attempt
    for agent, spans in agent_spans(scarce, from_dial=True).items():
        assert not overlapping(spans), agent
    # An agent is reserved for every dial, so two agents mean two calls at most.
    assert peak_level((a.started_at, a.ended_at) for a in scarce.attempts) == 2
    assert scarce.campaign.status == "completed"


# -- a contact that names its agent ---------------------------------------------------------

NUMBERS = generate_numbers(40, seed=9)
ASKS_FOR_VIP = [0, 1, 2, 3, 4]  # the first five contacts ask for VIP-1
TEAMS = [{"name": "Sales", "agents": 3, "handle_seconds": [5, 15]},
         {"name": "VIP", "agents": 1, "handle_seconds": [5, 15]}]


def named_run(runner: Any, dial_mode: str) -> Run:
    scenario = small_scenario(
        campaign={"dial_mode": dial_mode, "pacing": 2, "concurrency": 10},
        contacts={"file": "contacts.csv"}, departments=TEAMS, network=EAGER_NETWORK)
    csv_text = contacts_csv(NUMBERS, {i: "VIP-1" for i in ASKS_FOR_VIP})
    return runner(f"named-{dial_mode}", scenario, {"contacts.csv": csv_text})


@pytest.fixture(scope="module")
def customer_first_named(runner: Any) -> Run:
    return named_run(runner, "customer-first")


@pytest.fixture(scope="module")
def agent_first_named(runner: Any) -> Run:
    return named_run(runner, "agent-first")


def vip_contacts(run: Run) -> set[int]:
    by_position = {c.position: c for c in run.contacts}
    assert all(by_position[i].agent == "VIP-1" for i in ASKS_FOR_VIP)
    return {by_position[i].id for i in ASKS_FOR_VIP}


def test_agent_first_dials_a_contacts_own_agent_and_lets_others_go_ahead(
        agent_first_named: Run) -> None:
    named = agent_first_named
    vip = vip_contacts(named)
    for attempt in named.attempts:
        if attempt.contact_id in vip:
            assert attempt.agent == "VIP-1", attempt
        else:
            assert attempt.agent != "VIP-1", attempt  # VIP-1 is not in the target, Sales
    for agent, spans in agent_spans(named, from_dial=True).items():
        assert not overlapping(spans), agent
    # While VIP-1 was busy, contacts further down the list were dialed before theirs.
    position = {c.id: c.position for c in named.contacts}
    firsts = {a.contact_id: a.started_at for a in named.attempts if a.attempt == 1}
    last_vip_first = max(firsts[c] for c in vip)
    overtaken = [c for c, t in firsts.items() if c not in vip and t < last_vip_first
                 and position[c] > max(ASKS_FOR_VIP)]
    assert overtaken, "nobody went ahead of a contact waiting for its agent"
    assert named.campaign.status == "completed"


def test_customer_first_tries_a_contacts_own_agent_first(customer_first_named: Run) -> None:
    named = customer_first_named
    vip = vip_contacts(named)
    vip_spans = [(a.bridged_at, a.ended_at) for a in named.attempts if a.agent == "VIP-1"]
    got_vip = 0
    for attempt in named.attempts:
        if attempt.bridged_at is None:
            continue
        if attempt.contact_id not in vip:
            assert attempt.agent != "VIP-1", attempt  # only for those who ask for it
            continue
        busy = any(start <= attempt.bridged_at < end for start, end in vip_spans
                   if (start, end) != (attempt.bridged_at, attempt.ended_at))
        if busy:  # the campaign's target is the fallback
            assert attempt.agent.startswith("Sales-"), attempt
        else:
            assert attempt.agent == "VIP-1", attempt
            got_vip += 1
    assert got_vip, "no contact that asked for VIP-1 got VIP-1"
    for agent, spans in agent_spans(named, from_dial=False).items():
        assert not overlapping(spans), agent

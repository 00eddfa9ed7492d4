"""A carrier that refuses calls for load, and an account's cap on call starts per second.

A refused originate dialed nobody: the contact keeps its attempt and is dialed again later,
the campaign slows down instead of hammering the carrier, and nothing fails because of it.
An account that declares its carrier's limit never goes over it in any one-second window.
"""

from __future__ import annotations

from typing import Any

import pytest
from scenario_runs import Run, most_in_window, run_scenario, small_scenario

CONTACTS = 80
CARRIER_LIMIT = 3
# Every call that reaches the network is answered or rings out: a contact whose attempt was
# charged for a refusal would show up as `failed` with one attempt and no call.
FATES = {"answer": 0.5, "busy": 0.0, "no_answer": 0.5, "invalid": 0.0, "rejected": 0.0,
         "provider_error": 0.0}


def congested_run(directory: Any, empty_store: Any, scenario_files: Any, store_kind: str,
                  **sections: Any) -> Run:
    scenario = small_scenario(
        campaign={"pacing": 10, "concurrency": 50, "attempts": 1},
        contacts={"generate": CONTACTS},
        departments=[{"name": "Sales", "agents": 50, "handle_seconds": [2, 4]}],
        network={**FATES, "max_calls_per_second": CARRIER_LIMIT, "ring_seconds": [1, 3]},
        **sections,
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


@pytest.fixture(scope="module")
def refused(store_kind: str, empty_store: Any, scenario_files: Any,
            tmp_path_factory: pytest.TempPathFactory) -> Run:
    return congested_run(tmp_path_factory.mktemp("refused"), empty_store, scenario_files,
                         store_kind)


@pytest.fixture(scope="module")
def capped(store_kind: str, empty_store: Any, scenario_files: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Run:
    return congested_run(tmp_path_factory.mktemp("capped"), empty_store, scenario_files,
                         store_kind, carrier={"calls_per_second": CARRIER_LIMIT})


def test_refused_calls_are_logged_and_dialed_again_without_using_an_attempt(refused: Run) -> None:
    refusals = [e for e in refused.events if e.kind == "carrier_refused"]
    assert refusals, "the carrier refused nothing: the test proves little"
    assert refused.campaign.status == "completed"
    for contact in refused.contacts:
        assert contact.status in ("completed", "failed"), contact
        assert contact.attempts == 1, contact
    attempts = refused.attempts_by_contact()
    assert sorted(attempts) == sorted(c.id for c in refused.contacts)
    assert all(len(a) == 1 for a in attempts.values())
    # No call in the log was a refusal: every attempt reached the network.
    assert {a.outcome for a in refused.attempts} <= {"completed", "no_answer"}
    assert all(a.sip_code != 503 for a in refused.attempts)
    refused_contacts = {e.contact_id for e in refusals}
    failed = {c.id for c in refused.contacts if c.status == "failed"}
    no_answer = {a.contact_id for a in refused.attempts if a.outcome == "no_answer"}
    assert failed == no_answer  # nobody failed for the carrier's sake
    assert refused_contacts - {a.contact_id for a in refused.attempts} == set()


def test_refusals_slow_the_campaign_down(refused: Run) -> None:
    refusals = len([e for e in refused.events if e.kind == "carrier_refused"])
    # At its configured 10 calls/s against a carrier taking 3, a campaign that did not slow
    # down would be refused about 7 times a second: some 190 refusals for 80 calls placed.
    assert refusals < CONTACTS / 4, refusals
    assert most_in_window((a.started_at for a in refused.attempts), 1.0) <= CARRIER_LIMIT


def test_an_account_cap_keeps_every_second_under_the_carrier_limit(capped: Run) -> None:
    assert not [e for e in capped.events if e.kind == "carrier_refused"]
    starts = [a.started_at for a in capped.attempts]
    assert len(starts) == CONTACTS
    assert most_in_window(starts, 1.0) == CARRIER_LIMIT
    assert capped.campaign.status == "completed"

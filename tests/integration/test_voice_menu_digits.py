"""A voice-menu target: the digit each answered customer pressed is stored on the attempt and
on the contact, and the digits follow the network's shares (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from scenario_runs import Run, run_scenario, small_scenario


@pytest.fixture(scope="module")
def run(store_kind: str, empty_store: Any, scenario_files: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("menu")
    scenario = small_scenario(
        campaign={"transfer": {"voice_menu": "confirm"}, "pacing": 5, "concurrency": 30,
                  "attempts": 2},
        contacts={"generate": 300},
        voice_menus=[{"name": "confirm", "prompt": "Press 1 to confirm, 2 to cancel.",
                      "options": {"1": "confirm", "2": "cancel"}}],
        network={"answer": 0.9, "busy": 0.0, "no_answer": 0.1, "invalid": 0.0,
                 "rejected": 0.0, "provider_error": 0.0, "digits": {"1": 0.6, "2": 0.3}},
    )
    url = empty_store(store_kind, directory)
    return run_scenario(scenario_files(directory, scenario), directory / "out", url)


def test_the_pressed_digit_is_stored_on_the_attempt_and_on_the_contact(run: Run) -> None:
    pressed = [a for a in run.attempts if a.digit is not None]
    assert len(pressed) > 100
    for attempt in pressed:
        assert attempt.answered_at is not None, attempt
        assert attempt.digit in ("1", "2")
        assert attempt.agent is None and attempt.bridged_at is None  # a menu, not an agent
    by_contact = run.attempts_by_contact()
    for contact in run.contacts:
        digits = [a.digit for a in by_contact.get(contact.id, []) if a.digit is not None]
        assert contact.digit == (digits[-1] if digits else None), contact.id
    csv_digits = {c.attempt_id: c.digit for c in run.calls}
    assert all(csv_digits[a.id] == (a.digit or "") for a in run.attempts)


def test_digits_roughly_follow_the_network_shares(run: Run) -> None:
    answered = [a for a in run.attempts if a.answered_at is not None]
    assert len(answered) > 200
    shares = Counter(a.digit for a in answered)
    n = len(answered)
    # About 250 answers: a share's standard error is under 0.035; allow about three of them.
    assert shares["1"] / n == pytest.approx(0.6, abs=0.1)
    assert shares["2"] / n == pytest.approx(0.3, abs=0.1)
    assert shares[None] / n == pytest.approx(0.1, abs=0.08)


def test_menu_calls_complete_without_abandoning(run: Run) -> None:
    assert run.campaign.status == "completed"
    assert run.report["abandoned"] == 0
    assert all(a.outcome == "completed" for a in run.attempts if a.answered_at is not None)

"""Campaign lifecycle: draft → scheduled → running ⇄ paused → completed, cancelled from any
non-terminal status, and a clear refusal for everything else."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from outbound.domain.errors import InvalidTransition
from outbound.domain.lifecycle import CampaignAction, CampaignStatus, transition

S, A = CampaignStatus, CampaignAction

# The documented lifecycle, written out independently of the module's own table.
DOCUMENTED = {
    (S.DRAFT, A.SCHEDULE): S.SCHEDULED,
    (S.DRAFT, A.START): S.RUNNING,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.START): S.RUNNING,
    (S.SCHEDULED, A.UNSCHEDULE): S.DRAFT,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.RUNNING, A.PAUSE): S.PAUSED,
    (S.RUNNING, A.COMPLETE): S.COMPLETED,
    (S.RUNNING, A.CANCEL): S.CANCELLED,
    (S.PAUSED, A.RESUME): S.RUNNING,
    (S.PAUSED, A.CANCEL): S.CANCELLED,
}
ALL_PAIRS = list(itertools.product(S, A))
REFUSED = [pair for pair in ALL_PAIRS if pair not in DOCUMENTED]


@pytest.mark.parametrize(("status", "action"), list(DOCUMENTED), ids=str)
def test_an_allowed_action_leads_to_the_documented_status(
    status: CampaignStatus, action: CampaignAction
) -> None:
    assert transition(status, action) is DOCUMENTED[(status, action)]


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=str)
def test_any_other_action_is_refused_with_a_message_naming_it(
    status: CampaignStatus, action: CampaignAction
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(status, action)

    message = str(refused.value)
    assert f"cannot {action.value} a campaign that is {status.value}" in message
    allowed = sorted(a.value for (s, a) in DOCUMENTED if s is status)
    if allowed:
        assert f"allowed: {', '.join(allowed)}" in message
    else:
        assert "final" in message


def test_every_status_action_pair_is_either_allowed_or_refused() -> None:
    assert len(DOCUMENTED) + len(REFUSED) == len(S) * len(A) == 42


def test_only_completed_and_cancelled_are_terminal() -> None:
    assert {s for s in S if s.terminal} == {S.COMPLETED, S.CANCELLED}


def test_a_running_campaign_refuses_to_resume_and_says_what_it_can_do() -> None:
    with pytest.raises(InvalidTransition, match=r"allowed: cancel, complete, pause$"):
        transition(S.RUNNING, A.RESUME)


def test_a_cancelled_campaign_says_it_is_final() -> None:
    with pytest.raises(InvalidTransition, match="cannot start a campaign that is cancelled; it is"):
        transition(S.CANCELLED, A.START)


class CampaignLifecycle(RuleBasedStateMachine):
    """Any sequence of actions, refused ones included, applied to one campaign."""

    def __init__(self) -> None:
        super().__init__()
        self.status = S.DRAFT
        self.first_terminal: CampaignStatus | None = None
        self.seen = {S.DRAFT}

    @rule(action=st.sampled_from(A))
    def act(self, action: CampaignAction) -> None:
        before = self.status
        try:
            self.status = transition(before, action)
        except InvalidTransition:
            assert (before, action) not in DOCUMENTED
        self.seen.add(self.status)
        if self.status.terminal and self.first_terminal is None:
            self.first_terminal = self.status

    @invariant()
    def a_terminal_status_never_changes(self) -> None:
        if self.first_terminal is not None:
            assert self.status is self.first_terminal

    @invariant()
    def cancelled_is_one_action_away_from_any_non_terminal_status(self) -> None:
        if not self.status.terminal:
            assert transition(self.status, A.CANCEL) is S.CANCELLED


CampaignLifecycle.TestCase.settings = settings(
    max_examples=80, stateful_step_count=30, deadline=None
)
TestAnyActionSequenceKeepsFinalStatusesFinal = CampaignLifecycle.TestCase

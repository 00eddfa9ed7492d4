"""Campaign lifecycle: draft → scheduled → running ⇄ paused → completed; cancelled from any
non-terminal status."""

from __future__ import annotations

from enum import StrEnum

from outbound.domain.errors import InvalidTransition


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # still being configured; never dials
    SCHEDULED = "scheduled"  # starts by itself at its start time
    RUNNING = "running"  # dialing
    PAUSED = "paused"  # no new dials; calls in flight finish
    COMPLETED = "completed"  # every contact reached a final state
    CANCELLED = "cancelled"  # stopped for good; calls in flight finished

    @property
    def terminal(self) -> bool:
        return self in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


class CampaignAction(StrEnum):
    SCHEDULE = "schedule"  # draft → scheduled
    START = "start"  # draft or scheduled → running
    PAUSE = "pause"  # running → paused
    RESUME = "resume"  # paused → running
    CANCEL = "cancel"  # any non-terminal → cancelled
    COMPLETE = "complete"  # running → completed (the engine's, when nothing is left)
    UNSCHEDULE = "unschedule"  # scheduled → draft


S = CampaignStatus
A = CampaignAction

TRANSITIONS: dict[tuple[CampaignStatus, CampaignAction], CampaignStatus] = {
    (S.DRAFT, A.SCHEDULE): S.SCHEDULED,
    (S.DRAFT, A.START): S.RUNNING,
    (S.SCHEDULED, A.START): S.RUNNING,
    (S.SCHEDULED, A.UNSCHEDULE): S.DRAFT,
    (S.RUNNING, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.RUNNING,
    (S.RUNNING, A.COMPLETE): S.COMPLETED,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.RUNNING, A.CANCEL): S.CANCELLED,
    (S.PAUSED, A.CANCEL): S.CANCELLED,
}


def transition(status: CampaignStatus, action: CampaignAction) -> CampaignStatus:
    """The status after `action`, or InvalidTransition saying what is allowed instead."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is status)
        hint = f"; allowed: {', '.join(allowed)}" if allowed else "; it is final"
        raise InvalidTransition(
            f"cannot {action.value} a campaign that is {status.value}{hint}"
        ) from None

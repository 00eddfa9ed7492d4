"""/metrics in the Prometheus text format: per campaign dials, outcomes, calls in flight,
pacing, DNC blocks and abandonment, read from the store (so every process reports the same)."""

from __future__ import annotations

from collections.abc import Iterator

from outbound import service
from outbound.domain.contacts import IN_FLIGHT, ContactStatus, Outcome
from outbound.store import Store


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(store: Store) -> str:
    return "".join(f"{line}\n" for line in _lines(store))


def _lines(store: Store) -> Iterator[str]:
    totals = service.totals(store)
    names = {r.id: (r.account_id, r.name, r.status, r.settings) for r in totals.campaigns}
    outcomes, states = totals.outcomes, totals.states

    def labels(campaign_id: int) -> str:
        account_id, name, _, _ = names.get(campaign_id, (0, "?", "", {}))
        return f'account="{account_id}",campaign="{campaign_id}",name="{_label(name)}"'

    yield "# HELP outbound_dials_total Calls placed (attempts started)."
    yield "# TYPE outbound_dials_total counter"
    dials: dict[int, int] = {}
    for campaign_id, _, count in outcomes:
        dials[campaign_id] = dials.get(campaign_id, 0) + int(count)
    for campaign_id, count in sorted(dials.items()):
        yield f"outbound_dials_total{{{labels(campaign_id)}}} {count}"
    yield "# HELP outbound_outcomes_total Finished attempts by outcome."
    yield "# TYPE outbound_outcomes_total counter"
    for campaign_id, outcome, count in outcomes:
        if outcome is not None:
            yield (f'outbound_outcomes_total{{{labels(campaign_id)},outcome="{outcome}"}} '
                   f"{count}")
    yield "# HELP outbound_contacts Contacts by status."
    yield "# TYPE outbound_contacts gauge"
    in_flight: dict[int, int] = {}
    blocked: dict[int, int] = {}
    for campaign_id, status, count in states:
        yield f'outbound_contacts{{{labels(campaign_id)},status="{status}"}} {count}'
        if ContactStatus(status) in IN_FLIGHT:
            in_flight[campaign_id] = in_flight.get(campaign_id, 0) + int(count)
        if status == ContactStatus.BLOCKED.value:
            blocked[campaign_id] = int(count)
    yield "# HELP outbound_in_flight Calls in flight."
    yield "# TYPE outbound_in_flight gauge"
    for campaign_id in sorted(names):
        yield f"outbound_in_flight{{{labels(campaign_id)}}} {in_flight.get(campaign_id, 0)}"
    yield "# HELP outbound_pacing_configured Configured pacing, calls per second."
    yield "# TYPE outbound_pacing_configured gauge"
    for campaign_id, (_, _, _, settings) in sorted(names.items()):
        yield f"outbound_pacing_configured{{{labels(campaign_id)}}} {settings.get('pacing', 0)}"
    yield "# HELP outbound_dnc_blocks Contacts blocked by the do-not-call list at dial time."
    yield "# TYPE outbound_dnc_blocks gauge"
    for campaign_id in sorted(names):
        yield f"outbound_dnc_blocks{{{labels(campaign_id)}}} {blocked.get(campaign_id, 0)}"
    answered: dict[int, int] = {}
    abandoned: dict[int, int] = {}
    for campaign_id, outcome, count in outcomes:
        if outcome in (Outcome.COMPLETED.value, Outcome.ABANDONED.value):
            answered[campaign_id] = answered.get(campaign_id, 0) + int(count)
        if outcome == Outcome.ABANDONED.value:
            abandoned[campaign_id] = int(count)
    yield "# HELP outbound_abandonment_rate Abandoned over answered calls."
    yield "# TYPE outbound_abandonment_rate gauge"
    for campaign_id in sorted(names):
        rate = abandoned.get(campaign_id, 0) / answered[campaign_id] if answered.get(
            campaign_id) else 0.0
        yield f"outbound_abandonment_rate{{{labels(campaign_id)}}} {rate:.6f}"

"""Campaigns through any door: find one (another account's is NotFound), list, summarize,
create, change settings, act on the lifecycle, delete, and load a scenario file into an
account."""

from __future__ import annotations

from typing import Any

from outbound.domain.contacts import IN_FLIGHT, ContactStatus
from outbound.domain.errors import CannotStart, InvalidInput, NotFound
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.settings import CampaignSettings
from outbound.domain.timefmt import iso
from outbound.scenario import Loaded, Scenario, load_into
from outbound.store import Store
from outbound.store.campaigns import Campaign


def campaign_of(store: Store, account_id: int, campaign_id: int) -> Campaign:
    """The campaign, if it belongs to the account; NotFound otherwise (whether or not it
    exists elsewhere)."""
    campaign = store.campaigns.get(campaign_id)
    if campaign.account_id != account_id:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def find_campaign(store: Store, ref: str | int) -> Campaign:
    """A campaign of any account by id or unique name: for the operator's command line,
    which stands above the accounts."""
    return store.campaigns.find(ref)


def list_campaigns(store: Store, account_id: int | None) -> list[Campaign]:
    """The account's campaigns (every account's for None), oldest first."""
    return store.campaigns.list(account_id)


def contact_counts(store: Store, campaign_id: int) -> dict[str, int]:
    """How many of the campaign's contacts are in each state (every state named)."""
    return store.contacts.counts(campaign_id)


def progress(store: Store, campaign_id: int) -> tuple[int, int, int]:
    """(contacts, finished, in flight) of a campaign."""
    counts = store.contacts.counts(campaign_id)
    return (sum(counts.values()), sum(counts[s.value] for s in ContactStatus if s.terminal),
            sum(counts[s.value] for s in IN_FLIGHT))


def dnc_flagged(store: Store, campaign_id: int) -> int:
    """How many of the campaign's contacts are flagged as being on the do-not-call list."""
    return store.contacts.dnc_flagged(campaign_id)


def campaign_summary(store: Store, campaign: Campaign) -> dict[str, Any]:
    """A campaign's settings, times and progress, as the API returns it."""
    data = campaign.to_dict()
    data["start"] = iso(campaign.settings.start) or None
    data["started_at"] = iso(campaign.started_at) or None
    data["finished_at"] = iso(campaign.finished_at) or None
    data["contacts"], data["finished"], _ = progress(store, campaign.id)
    return data


def create_campaign(store: Store, account_id: int, changes: dict[str, Any],
                    now: float, *, seed: int = 0) -> Campaign:
    """A new draft from setting values (checked by the domain); its pool numbers become the
    account's numbers too. `seed` starts its random caller-ID rotation (the demo numbers its
    campaigns with it)."""
    account = store.accounts.get(account_id)
    settings = CampaignSettings.parse(changes, account.region)
    campaign_id = store.campaigns.create(account_id, settings, now, seed=seed)
    store.accounts.add_numbers(account_id, settings.numbers)
    return store.campaigns.get(campaign_id)


def update_campaign(store: Store, account_id: int, campaign_id: int, changes: dict[str, Any],
                    now: float) -> Campaign:
    campaign_of(store, account_id, campaign_id)
    region = store.accounts.get(account_id).region
    updated = store.campaigns.update_settings(campaign_id, changes, region, now)
    store.accounts.add_numbers(account_id, updated.settings.numbers)
    return updated


def act(store: Store, account_id: int, campaign_id: int, action: CampaignAction,
        now: float) -> Campaign:
    """Start, schedule, pause, resume or cancel: InvalidTransition or CannotStart say why
    not."""
    campaign_of(store, account_id, campaign_id)
    store.campaigns.act(campaign_id, action, now)
    return store.campaigns.get(campaign_id)


def check_can_start(store: Store, campaign: Campaign) -> None:
    """CannotStart, saying why, unless the campaign has a number pool and a transfer target
    that exists (and suits its dial mode): what a start or a schedule would check."""
    store.campaigns.check_can_start(campaign.account_id, campaign.settings)


def check_has_contacts(store: Store, campaign_id: int, fix: str) -> None:
    """CannotStart when the campaign has no contacts yet, the message ending with `fix` (what
    the page asking tells the user to do).

    The pages' rule, not the API's: a page starts or schedules only a campaign with contacts,
    while a partner's integration may start one and send its contacts afterwards."""
    if not progress(store, campaign_id)[0]:
        raise CannotStart(f"the campaign has no contacts yet: {fix}")


def delete_campaign(store: Store, account_id: int, campaign_id: int) -> None:
    campaign = campaign_of(store, account_id, campaign_id)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.COMPLETED,
                               CampaignStatus.CANCELLED):
        raise InvalidInput("status", f"only a draft or finished campaign can be deleted; this "
                           f"one is {campaign.status.value} (cancel it first)")
    store.campaigns.delete(campaign_id)


def load_scenario(store: Store, account_id: int, scenario: Scenario, now: float, *,
                  draft: bool = False) -> Loaded:
    """A scenario's numbers, people, menus, campaign, contacts and DNC entries, created in the
    account; the campaign is scheduled when the scenario gives a start (unless `draft`)."""
    return load_into(store, account_id, scenario, now, draft=draft)

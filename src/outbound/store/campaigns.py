"""Campaigns: creation, settings, lifecycle actions and campaign leases."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from outbound.domain.errors import CannotStart, InvalidInput, InvalidTransition, NotFound
from outbound.domain.hours import BusinessHours
from outbound.domain.lifecycle import CampaignAction, CampaignStatus, transition
from outbound.domain.settings import (
    CampaignSettings,
    DialMode,
    TransferKind,
    abandon_message,
)
from outbound.store.accounts import AccountsRepo, _lookup
from outbound.store.db import reading
from outbound.store.fast import run
from outbound.store.schema import campaigns, events


def settings_from_row(data: dict[str, Any]) -> CampaignSettings:
    data = dict(data)
    hours = data.pop("business_hours", None)
    settings = CampaignSettings.parse(data)
    if hours:
        return CampaignSettings.with_changes(
            settings, {"business_hours": BusinessHours.parse(**hours)}
        )
    return settings


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign as stored."""

    id: int
    account_id: int
    status: CampaignStatus
    settings: CampaignSettings
    version: int
    seed: int
    rotation_cursor: int
    pacer_tat: float
    created_at: float
    started_at: float | None
    finished_at: float | None
    limited_by: str | None = None  # what binds it while it runs (governor.Limit), if known

    @classmethod
    def from_row(cls, row: Row[Any]) -> Campaign:
        return cls(
            row.id, row.account_id, CampaignStatus(row.status), settings_from_row(row.settings),
            row.version, row.seed, row.rotation_cursor, row.pacer_tat, row.created_at,
            row.started_at, row.finished_at, row.limited_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "account_id": self.account_id, "status": self.status.value,
                **self.settings.to_dict(), "started_at": self.started_at,
                "finished_at": self.finished_at}


@dataclass(frozen=True, slots=True)
class Ownership:
    """What a running engine re-reads of its campaigns every second or so."""

    version: int  # moves on with every change made to the campaign or its contacts
    owner: str | None  # the worker holding the campaign's lease


_SAVE_DIAL_STATE = update(campaigns).where(campaigns.c.id == bindparam("p_id")).values(
    rotation_cursor=bindparam("p_cursor"), pacer_tat=bindparam("p_tat"))


_OWNERSHIP = select(campaigns.c.version, campaigns.c.owner).where(
    campaigns.c.id == bindparam("p_id"))
_STATUS = select(campaigns.c.status).where(campaigns.c.id == bindparam("p_id"))
_RENEW = update(campaigns).where(
    campaigns.c.id == bindparam("p_id"), campaigns.c.owner == bindparam("p_owner"),
).values(owner_until=bindparam("p_until"))
_SCHEDULED = select(campaigns.c.id, campaigns.c.start_at).where(
    campaigns.c.status == CampaignStatus.SCHEDULED.value)
_UNOWNED = select(campaigns.c.id).where(
    (campaigns.c.status == CampaignStatus.RUNNING.value)
    | (campaigns.c.status == CampaignStatus.PAUSED.value),
    campaigns.c.owner.is_(None) | (campaigns.c.owner_until < bindparam("p_now")),
).limit(1)


def log_event(conn: Connection, campaign_id: int, at: float, kind: str,
              contact_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
    conn.execute(insert(events).values(campaign_id=campaign_id, at=at, kind=kind,
                                       contact_id=contact_id, detail=detail))


class CampaignsRepo:
    def __init__(self, engine: Engine, accounts: AccountsRepo) -> None:
        self.engine = engine
        self.accounts = accounts

    def create(self, account_id: int, settings: CampaignSettings, now: float, *,
               seed: int = 0, schedule: bool = False) -> int:
        with self.engine.begin() as conn:
            taken = conn.execute(select(campaigns.c.id).where(
                campaigns.c.account_id == account_id,
                campaigns.c.name == settings.name)).first()
            if taken:
                raise InvalidInput("name", f"a campaign named {settings.name!r} already exists")
            status = CampaignStatus.DRAFT
            if schedule:
                if settings.start is None:
                    raise InvalidInput("start", "is required to schedule a campaign")
                self.check_can_start(account_id, settings)
                status = CampaignStatus.SCHEDULED
            campaign_id = int(conn.execute(insert(campaigns).values(
                account_id=account_id, name=settings.name, status=status.value,
                settings=settings.to_dict(), start_at=settings.start, seed=seed,
                rotation_cursor=0, pacer_tat=0.0, version=1, created_at=now,
            )).inserted_primary_key[0])
            log_event(conn, campaign_id, now, "created", detail={"status": status.value})
            return campaign_id

    def get(self, campaign_id: int) -> Campaign:
        with reading(self.engine) as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        if row is None:
            raise NotFound(f"no campaign {campaign_id}")
        return Campaign.from_row(row)

    def status(self, campaign_id: int) -> CampaignStatus:
        with reading(self.engine) as conn:
            value = run(conn, _STATUS, {"p_id": campaign_id}).scalar()
        if value is None:
            raise NotFound(f"no campaign {campaign_id}")
        return CampaignStatus(value)

    def find(self, ref: str | int, account_id: int | None = None) -> Campaign:
        with reading(self.engine) as conn:
            where = campaigns.c.id > 0 if account_id is None else (
                campaigns.c.account_id == account_id)
            return Campaign.from_row(_lookup(campaigns, ref, where, "campaign", conn))

    def list(self, account_id: int | None = None) -> builtins.list[Campaign]:
        query = select(campaigns).order_by(campaigns.c.id)
        if account_id is not None:
            query = query.where(campaigns.c.account_id == account_id)
        with reading(self.engine) as conn:
            return [Campaign.from_row(r) for r in conn.execute(query)]

    def set_limits(self, limits: dict[int, str | None]) -> None:
        """Save what binds each running campaign now (`governor.Limit` values), for the
        pages, the API and the CLI; only the engine that owns them writes this. A campaign
        that stopped running meanwhile keeps none (`act` cleared it)."""
        if not limits:
            return
        with self.engine.begin() as conn:
            conn.execute(update(campaigns).where(
                campaigns.c.id == bindparam("cid"),
                campaigns.c.status == CampaignStatus.RUNNING.value,  # else it holds nothing
            ).values(limited_by=bindparam("limit")),
                [{"cid": cid, "limit": limit} for cid, limit in limits.items()])

    def update_settings(self, campaign_id: int, changes: dict[str, Any], region: str | None,
                        now: float) -> Campaign:
        """Apply setting changes; while running or paused only pacing and concurrency."""
        with self.engine.begin() as conn:
            current = Campaign.from_row(conn.execute(
                select(campaigns).where(campaigns.c.id == campaign_id)).one())
            live = current.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
            if current.status.terminal or (live and set(changes) - {"pacing", "concurrency"}):
                field = sorted(set(changes) - {"pacing", "concurrency"} or set(changes))[0]
                raise InvalidInput(field, f"cannot change while the campaign is "
                                   f"{current.status.value} (only pacing and concurrency can)"
                                   if live else f"the campaign is {current.status.value}")
            settings = CampaignSettings.with_changes(current.settings, changes, region)
            if settings.name != current.settings.name and conn.execute(
                    select(campaigns.c.id).where(campaigns.c.account_id == current.account_id,
                                                 campaigns.c.name == settings.name)).first():
                raise InvalidInput("name", f"a campaign named {settings.name!r} already exists")
            conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
                settings=settings.to_dict(), name=settings.name, start_at=settings.start,
                version=campaigns.c.version + 1))
            log_event(conn, campaign_id, now, "settings_changed",
                      detail={k: settings.to_dict()[k] for k in changes if k in
                              settings.to_dict()})
        return self.get(campaign_id)

    def act(self, campaign_id: int, action: CampaignAction, now: float,
            why: str | None = None) -> CampaignStatus:
        """Apply a lifecycle action atomically; a start without what it needs is refused.
        `why` is kept with the event when the system, not a user, acted."""
        with self.engine.begin() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
            if row is None:
                raise NotFound(f"no campaign {campaign_id}")
            campaign = Campaign.from_row(row)
            new = transition(campaign.status, action)
            if action in (CampaignAction.START, CampaignAction.SCHEDULE):
                self.check_can_start(campaign.account_id, campaign.settings)
            values: dict[str, Any] = {"status": new.value, "version": campaigns.c.version + 1}
            if new is CampaignStatus.RUNNING and campaign.started_at is None:
                values["started_at"] = now
            if new.terminal:
                values["finished_at"] = now
            if new is not CampaignStatus.RUNNING:
                values["limited_by"] = None  # only a running campaign is held back
            done = conn.execute(update(campaigns).where(
                campaigns.c.id == campaign_id, campaigns.c.version == campaign.version
            ).values(**values))
            if done.rowcount != 1:
                raise InvalidTransition("the campaign changed meanwhile; try again")
            log_event(conn, campaign_id, now, new.value if action is not CampaignAction.START
                      else "started", detail={"why": why} if why else None)
            return new

    def start_due(self, now: float) -> float | None:
        """Start every scheduled campaign whose time has come; returns the next start time."""
        with reading(self.engine) as conn:
            scheduled = run(conn, _SCHEDULED, {}).all()
        upcoming = []
        for campaign_id, start_at in scheduled:
            if start_at is None or start_at > now:
                if start_at is not None:
                    upcoming.append(start_at)
                continue
            try:
                self.act(campaign_id, CampaignAction.START, now)
            except (InvalidTransition, CannotStart) as exc:
                with self.engine.begin() as conn:
                    log_event(conn, campaign_id, now, "start_refused", detail={"why": str(exc)})
                    conn.execute(update(campaigns).where(
                        campaigns.c.id == campaign_id,
                        campaigns.c.status == CampaignStatus.SCHEDULED.value,
                    ).values(status=CampaignStatus.DRAFT.value, version=campaigns.c.version + 1))
        return min(upcoming) if upcoming else None

    # -- campaign leases -----------------------------------------------------------------

    def acquire(self, owner: str, now: float, ttl: float, limit: int = 1000
                ) -> builtins.list[int]:
        """Take every running or paused campaign that has no live owner (or is ours)."""
        live = (CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value)
        with reading(self.engine) as conn:
            if run(conn, _UNOWNED, {"p_now": now}).first() is None:
                return []
        with self.engine.begin() as conn:
            free = select(campaigns.c.id).where(
                campaigns.c.status.in_(live),
                (campaigns.c.owner.is_(None)) | (campaigns.c.owner == owner)
                | (campaigns.c.owner_until < now),
            ).order_by(campaigns.c.id).limit(limit)
            if conn.dialect.name == "postgresql":
                free = free.with_for_update(skip_locked=True)
            ids = list(conn.execute(free).scalars())
            if not ids:
                return []
            got = conn.execute(update(campaigns).where(
                campaigns.c.id.in_(ids),
                (campaigns.c.owner.is_(None)) | (campaigns.c.owner == owner)
                | (campaigns.c.owner_until < now),
            ).values(owner=owner, owner_until=now + ttl).returning(campaigns.c.id))
            return sorted(got.scalars())

    def renew(self, owner: str, ids: builtins.list[int], now: float, ttl: float) -> set[int]:
        """Extend our leases; returns the ids still ours."""
        if not ids:
            return set()
        with self.engine.begin() as conn:
            return {campaign_id for campaign_id in ids if run(conn, _RENEW, {
                "p_id": campaign_id, "p_owner": owner, "p_until": now + ttl}).rowcount}

    def release(self, owner: str, ids: builtins.list[int]) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(campaigns).where(
                campaigns.c.id.in_(ids), campaigns.c.owner == owner,
            ).values(owner=None, owner_until=None))

    def log(self, campaign_id: int, at: float, kind: str,
            detail: dict[str, Any] | None = None) -> None:
        """Record an event in the campaign's history on its own (one the campaign's own
        changes do not already record, e.g. a scripted action a simulation skipped)."""
        with self.engine.begin() as conn:
            log_event(conn, campaign_id, at, kind, detail=detail)

    def delete(self, campaign_id: int) -> None:
        """Remove a campaign with its contacts, attempts and events."""
        with self.engine.begin() as conn:
            conn.execute(delete(campaigns).where(campaigns.c.id == campaign_id))

    def touch(self, conn: Connection, campaign_id: int) -> None:
        """Tell the workers something changed (new contacts): they re-read the campaign."""
        conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
            version=campaigns.c.version + 1))

    def save_dial_state(self, conn: Connection, campaign_id: int, cursor: int,
                        tat: float) -> None:
        run(conn, _SAVE_DIAL_STATE, {"p_id": campaign_id, "p_cursor": cursor, "p_tat": tat})

    def ownership(self, conn: Connection, campaign_id: int) -> Ownership | None:
        """The campaign's version and owner, on the engine's pinned connection (it is read
        for every running campaign each refresh)."""
        row = run(conn, _OWNERSHIP, {"p_id": campaign_id}).first()
        return None if row is None else Ownership(row.version, row.owner)

    def check_can_start(self, account_id: int, settings: CampaignSettings) -> None:
        """CannotStart unless the campaign has a pool, a transfer target that exists, and
        (customer-first) a message for its abandoned calls."""
        account = self.accounts.get(account_id)
        missing = settings.missing_to_start(
            abandon_message(settings, account.abandon_message, account.name))
        if missing:
            raise CannotStart(f"campaign {settings.name!r} cannot start: it lacks "
                              + " and ".join(missing))
        transfer = settings.transfer
        assert transfer is not None
        if not self.accounts.target_exists(account_id, transfer.kind.value, transfer.name):
            raise CannotStart(f"campaign {settings.name!r} cannot start: its transfer target "
                              f"{transfer.kind.value} {transfer.name!r} does not exist")
        if (settings.dial_mode is DialMode.AGENT_FIRST
                and transfer.kind is TransferKind.VOICE_MENU):
            raise CannotStart(f"campaign {settings.name!r} cannot start: agent-first needs a "
                              "department or an agent as transfer target")

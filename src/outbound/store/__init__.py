"""The store: SQL schema, migrations and repositories. SQLite by default, PostgreSQL to scale."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from outbound.store.accounts import AccountsRepo
from outbound.store.agents import AgentsRepo
from outbound.store.attempts import AttemptsRepo
from outbound.store.campaigns import CampaignsRepo
from outbound.store.contacts import ContactsRepo
from outbound.store.db import connect, migrate
from outbound.store.dialing import DialingRepo
from outbound.store.dnc import DncRepo
from outbound.store.stats import StatsRepo
from outbound.store.uploads import UploadsRepo
from outbound.store.users import UsersRepo
from outbound.store.webhooks import WebhooksRepo


@dataclass(frozen=True, slots=True)
class Store:
    """Every repository over one database."""

    engine: Engine
    accounts: AccountsRepo
    campaigns: CampaignsRepo
    contacts: ContactsRepo
    dnc: DncRepo
    dialing: DialingRepo
    users: UsersRepo
    webhooks: WebhooksRepo
    uploads: UploadsRepo
    attempts: AttemptsRepo
    stats: StatsRepo
    agents: AgentsRepo

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        engine = connect(url)
        if migrate_schema:
            migrate(engine)
        accounts = AccountsRepo(engine)
        return cls(engine, accounts, CampaignsRepo(engine, accounts), ContactsRepo(engine),
                   DncRepo(engine), DialingRepo(engine), UsersRepo(engine),
                   WebhooksRepo(engine), UploadsRepo(engine), AttemptsRepo(engine),
                   StatsRepo(engine), AgentsRepo(engine))

    def close(self) -> None:
        self.dialing.pinned.close()
        self.dnc.pinned.close()
        self.engine.dispose()

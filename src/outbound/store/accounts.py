"""Accounts and what belongs to them: users, phone numbers, departments, agents, voice menus."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Row

from outbound.domain.errors import InvalidInput, NotFound
from outbound.domain.hours import BusinessHours, load_zone
from outbound.store.db import reading
from outbound.store.schema import (
    accounts,
    agents,
    departments,
    phone_numbers,
    voice_menus,
)

DEFAULT_PROVIDER: dict[str, Any] = {"kind": "sim", "network": {}}


def _lookup(table: Any, ref: str | int, where: Any, what: str, conn: Any) -> Row[Any]:
    """A row by id (digits) or unique name."""
    text = str(ref).strip()
    query = select(table).where(where)
    if text.isdigit():
        row = conn.execute(query.where(table.c.id == int(text))).first()
        if row is not None:
            return row  # type: ignore[no-any-return]
    rows = list(conn.execute(query.where(table.c.name == text).limit(2)))
    if not rows:
        raise NotFound(f"no {what} {text!r}")
    if len(rows) > 1:
        raise InvalidInput(what, f"more than one {what} is named {text!r}; give its id")
    return rows[0]  # type: ignore[no-any-return]


class AccountsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, name: str, *, timezone: str, region: str, now: float,
        business_hours: BusinessHours | None = None, provider: dict[str, Any] | None = None,
    ) -> int:
        if not name.strip():
            raise InvalidInput("name", "must not be empty")
        load_zone(timezone)
        if not (len(region) == 2 and region.isalpha()):
            raise InvalidInput("region", f"must be a two-letter country code (got {region!r})")
        hours = business_hours or BusinessHours.parse(
            timezone, ["mon", "tue", "wed", "thu", "fri"], "09:00", "19:00"
        )
        with self.engine.begin() as conn:
            if conn.execute(select(accounts.c.id).where(accounts.c.name == name)).first():
                raise InvalidInput("name", f"an account named {name!r} already exists")
            return int(conn.execute(insert(accounts).values(
                name=name, timezone=timezone, region=region.upper(),
                business_hours=hours.to_dict(), provider=provider or DEFAULT_PROVIDER,
                created_at=now,
            )).inserted_primary_key[0])

    def get(self, ref: str | int) -> Row[Any]:
        with reading(self.engine) as conn:
            return _lookup(accounts, ref, accounts.c.id > 0, "account", conn)

    def all(self) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(accounts).order_by(accounts.c.id)))

    def set_provider(self, account_id: int, provider: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id).values(
                provider=provider))

    def set_abandon_message(self, account_id: int, message: str | None) -> None:
        """The account's abandon message (already checked); None brings back the default."""
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id).values(
                abandon_message=message))

    def business_hours(self, account: Row[Any]) -> BusinessHours:
        return BusinessHours.parse(**account.business_hours)

    # -- numbers, departments, agents, menus ---------------------------------------------

    def add_numbers(self, account_id: int, numbers: Iterable[str]) -> None:
        with self.engine.begin() as conn:
            have = set(conn.execute(select(phone_numbers.c.e164).where(
                phone_numbers.c.account_id == account_id)).scalars())
            fresh = [{"account_id": account_id, "e164": n} for n in dict.fromkeys(numbers)
                     if n not in have]
            if fresh:
                conn.execute(insert(phone_numbers), fresh)

    def numbers(self, account_id: int) -> list[str]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(phone_numbers.c.e164).where(
                phone_numbers.c.account_id == account_id).order_by(phone_numbers.c.id)).scalars())

    def add_department(self, account_id: int, name: str) -> int:
        with self.engine.begin() as conn:
            existing = conn.execute(select(departments.c.id).where(
                departments.c.account_id == account_id, departments.c.name == name)).scalar()
            if existing is not None:
                return int(existing)
            return int(conn.execute(insert(departments).values(
                account_id=account_id, name=name)).inserted_primary_key[0])

    def departments(self, account_id: int) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(departments).where(
                departments.c.account_id == account_id).order_by(departments.c.id)))

    def department_id(self, account_id: int, name: str) -> int | None:
        """The id of the account's department of that name, or None."""
        with reading(self.engine) as conn:
            found = conn.execute(select(departments.c.id).where(
                departments.c.account_id == account_id, departments.c.name == name)).scalar()
        return None if found is None else int(found)

    def add_agent(self, account_id: int, name: str, now: float, *, department_id: int | None,
                  phone: str | None = None, sip_uri: str | None = None,
                  availability: str = "available") -> int:
        with self.engine.begin() as conn:
            existing = conn.execute(select(agents.c.id).where(
                agents.c.account_id == account_id, agents.c.name == name)).scalar()
            if existing is not None:
                raise InvalidInput("name", f"an agent named {name!r} already exists")
            return int(conn.execute(insert(agents).values(
                account_id=account_id, name=name, department_id=department_id, phone=phone,
                sip_uri=sip_uri, availability=availability, idle_since=now,
            )).inserted_primary_key[0])

    def set_availability(self, account_id: int, agent_ref: str | int, availability: str) -> None:
        if availability not in ("available", "offline"):
            raise InvalidInput("availability", "must be available or offline")
        with self.engine.begin() as conn:
            row = _lookup(agents, agent_ref, agents.c.account_id == account_id, "agent", conn)
            conn.execute(update(agents).where(agents.c.id == row.id).values(
                availability=availability))

    def update_agent(self, account_id: int, agent_id: int, changes: dict[str, Any]) -> None:
        """Set an agent's department_id, availability, phone or sip_uri (those given)."""
        if not changes:
            return
        with self.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id,
                                              agents.c.account_id == account_id
                                              ).values(**changes))

    def agents(self, account_id: int) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            query = select(agents, departments.c.name.label("department")).outerjoin(
                departments, departments.c.id == agents.c.department_id
            ).where(agents.c.account_id == account_id).order_by(agents.c.id)
            return list(conn.execute(query))

    def add_voice_menu(self, account_id: int, name: str, prompt: str,
                       options: dict[str, str]) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(voice_menus).values(
                account_id=account_id, name=name, prompt=prompt, options=options,
            )).inserted_primary_key[0])

    def voice_menus(self, account_id: int) -> list[Row[Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(voice_menus).where(
                voice_menus.c.account_id == account_id).order_by(voice_menus.c.id)))

    def targets(self, account_id: int) -> dict[str, list[str]]:
        """The names of the account's departments, agents and voice menus: what a campaign
        can transfer answered calls to."""
        with reading(self.engine) as conn:
            return {kind: list(conn.execute(select(table.c.name).where(
                table.c.account_id == account_id).order_by(table.c.name)).scalars())
                for kind, table in (("department", departments), ("agent", agents),
                                    ("voice_menu", voice_menus))}

    def target_exists(self, account_id: int, kind: str, name: str) -> bool:
        table = {"department": departments, "agent": agents, "voice_menu": voice_menus}[kind]
        with reading(self.engine) as conn:
            return bool(conn.execute(select(func.count()).select_from(table).where(
                table.c.account_id == account_id, table.c.name == name)).scalar())

"""The scenario file: a campaign, its people and its network in one TOML document.

`outbound simulate` runs one in virtual time; `outbound campaigns load` puts one into an account
without running it. Every problem is reported as one InvalidInput naming the field
(`campaign.pacing`) or the file and line, before anything is written.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from outbound.domain.errors import InvalidInput
from outbound.domain.hours import BusinessHours
from outbound.domain.phone import Normalized, normalize, normalize_or_raise
from outbound.domain.settings import CampaignSettings
from outbound.ingest.contacts import (
    ImportReport,
    RawContact,
    RowError,
    import_contacts,
    rows_from_table,
)
from outbound.ingest.dnc import dnc_rows, import_dnc
from outbound.ingest.reader import open_text, read_table
from outbound.store import Store
from outbound.telephony.sim import NetworkProfile, seconds_range

TOP_KEYS = ("seed", "campaign", "business_hours", "contacts", "dnc", "departments",
            "voice_menus", "network", "carrier", "events")
ACTIONS = ("dnc_add", "pause", "resume", "cancel", "set_pacing", "set_agents", "crash")
_AGENT_LIMIT = 500


def parse_time(value: Any, field: str) -> float:
    """POSIX seconds for an ISO-8601 time with a UTC offset (TOML datetimes too)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(field, f"must be an ISO-8601 time such as "
                               f"2026-03-02T08:55:00-05:00 (got {value!r})") from None
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"must be an ISO-8601 time (got {value!r})")
    if value.tzinfo is None:
        raise InvalidInput(field, f"must include a UTC offset, e.g. -05:00 (got {value})")
    return value.timestamp()


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    agents: int
    handle_seconds: tuple[float, float]


@dataclass(frozen=True, slots=True)
class VoiceMenu:
    name: str
    prompt: str
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    at: float
    action: str
    numbers: tuple[str, ...] = ()
    pacing: float | None = None
    department: str | None = None  # set_agents: whose agents
    available: int | None = None  # set_agents: how many of them are available from then on


def _agents_event(item: dict[str, Any], field: str,
                  departments: list[Any]) -> tuple[str, int]:
    """A set_agents event: a department of the scenario and how many of its agents work."""
    names = {d.name: d.agents for d in departments}
    department = item.get("department")
    if department not in names:
        raise InvalidInput(f"{field}.department",
                           f"must name one of the scenario's departments ({', '.join(names)})")
    available = item.get("available")
    staff = names[department]
    if not isinstance(available, int) or isinstance(available, bool) or not (
            0 <= available <= staff):
        raise InvalidInput(f"{field}.available",
                           f"must be a whole number of agents from 0 to {staff}")
    return str(department), available


@dataclass(frozen=True, slots=True)
class Scenario:
    path: Path
    seed: int
    campaign: CampaignSettings
    region: str
    contacts_file: Path | None
    contacts_generate: int | None
    dnc_file: Path | None
    dnc_generate: int
    dnc_overlap: int
    departments: tuple[Department, ...]
    voice_menus: tuple[VoiceMenu, ...]
    network: NetworkProfile
    events: tuple[ScenarioEvent, ...]
    # [carrier] calls_per_second: the account's cap on call starts, all campaigns together.
    carrier_calls_per_second: float | None = None

    @property
    def timezone(self) -> str:
        hours = self.campaign.business_hours
        return hours.timezone if hours else "UTC"


def _table(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidInput(key, "must be a table")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidInput(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(allowed)})")
    return value


def _array(data: dict[str, Any], key: str, allowed: tuple[str, ...]
           ) -> Iterator[tuple[str, dict[str, Any]]]:
    """The tables of an array of tables ([[key]]), each with its field path."""
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InvalidInput(key, f"must be an array of tables [[{key}]]")
    for i, raw in enumerate(items):
        field = f"{key}[{i}]"
        yield field, _table({field: raw}, field, allowed)


def _name(item: dict[str, Any], field: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{field}.name", "must be a non-empty name")
    return name.strip()


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field, f"must be a whole number from {low:,} to {high:,} "
                           f"(got {value!r})")
    return int(value)


def _file(base: Path, value: Any, field: str) -> Path:
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, "must be a file path")
    path = (base / value).resolve()
    if not path.is_file():
        raise InvalidInput(field, f"file not found: {path}")
    return path


def load_scenario(path: Path, seed: int | None = None) -> Scenario:
    """Parse and check a scenario file; raises InvalidInput naming the field or line."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(str(path), f"cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(str(path), f"is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise InvalidInput(unknown[0], f"unknown key (allowed: {', '.join(TOP_KEYS)})")
    base = path.parent
    if seed is None:
        seed = _int(data.get("seed", 0), "seed", 0, 2**31 - 1)

    contacts = _table(data, "contacts", ("file", "generate", "region"))
    region = contacts.get("region", "US")
    if not isinstance(region, str) or len(region) != 2 or not region.isalpha():
        raise InvalidInput("contacts.region", f"must be a two-letter country code (got {region!r})")
    region = region.upper()

    raw_campaign = dict(_table(data, "campaign", CampaignSettings.KEYS))
    if "start" in raw_campaign:
        raw_campaign["start"] = parse_time(raw_campaign["start"], "campaign.start")
    if "business_hours" in raw_campaign:
        raise InvalidInput("campaign.business_hours", "goes in its own [business_hours] table")
    if "business_hours" in data:
        hours = _table(data, "business_hours", ("timezone", "days", "open", "close"))
        missing = [k for k in ("timezone", "days", "open", "close") if k not in hours]
        if missing:
            raise InvalidInput(f"business_hours.{missing[0]}", "is required")
        try:
            raw_campaign["business_hours"] = BusinessHours.parse(**hours)
        except InvalidInput as exc:
            raise exc.under("business_hours") from None
    try:
        campaign = CampaignSettings.parse(raw_campaign, region)
    except InvalidInput as exc:
        raise exc.under("campaign") from None

    contacts_file = None
    contacts_generate = None
    if "file" in contacts and "generate" in contacts:
        raise InvalidInput("contacts", "give either file or generate, not both")
    if "file" in contacts:
        contacts_file = _file(base, contacts["file"], "contacts.file")
    elif "generate" in contacts:
        contacts_generate = _int(contacts["generate"], "contacts.generate", 1, 2_000_000)
    else:
        raise InvalidInput("contacts", "needs file = \"…\" or generate = N")

    dnc = _table(data, "dnc", ("file", "generate", "overlap"))
    dnc_file = _file(base, dnc["file"], "dnc.file") if "file" in dnc else None
    dnc_generate = _int(dnc.get("generate", 0), "dnc.generate", 0, 10_000_000)
    dnc_overlap = _int(dnc.get("overlap", 0), "dnc.overlap", 0, dnc_generate)
    if dnc_overlap and contacts_generate is not None and dnc_overlap > contacts_generate:
        raise InvalidInput("dnc.overlap", f"must be at most contacts.generate "
                           f"({contacts_generate}) (got {dnc_overlap})")

    departments = []
    for field, item in _array(data, "departments", ("name", "agents", "handle_seconds")):
        name = _name(item, field)
        agents = _int(item.get("agents", 1), f"{field}.agents", 1, _AGENT_LIMIT)
        try:
            handle = seconds_range(item, "handle_seconds", (60.0, 240.0))
        except InvalidInput as exc:
            raise exc.under(field) from None
        departments.append(Department(name, agents, handle))

    menus = []
    for field, item in _array(data, "voice_menus", ("name", "prompt", "options")):
        name, prompt, options = _name(item, field), item.get("prompt"), item.get("options", {})
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInput(f"{field}.prompt", "must be the text to play")
        if not isinstance(options, dict) or not all(
                isinstance(k, str) and len(k) == 1 and k in "0123456789*#"
                and isinstance(v, str) for k, v in options.items()):
            raise InvalidInput(f"{field}.options", "must map single digits to labels")
        menus.append(VoiceMenu(name, prompt, dict(options)))

    try:
        network = NetworkProfile.parse(data.get("network", {}))
    except InvalidInput as exc:
        raise exc.under("network") from None
    network = replace(network, handle_seconds={d.name: d.handle_seconds for d in departments})
    carrier = _table(data, "carrier", ("calls_per_second",))
    cap = carrier.get("calls_per_second")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)
                            or not 0 < cap <= 1000):
        raise InvalidInput("carrier.calls_per_second",
                           f"must be a number of calls per second from 0 to 1000 (got {cap!r})")

    events = []
    for field, item in _array(data, "events", ("at", "action", "numbers", "pacing",
                                                "department", "available")):
        if "at" not in item:
            raise InvalidInput(f"{field}.at", "is required")
        at = parse_time(item["at"], f"{field}.at")
        action = item.get("action")
        if action not in ACTIONS:
            raise InvalidInput(f"{field}.action", f"must be one of {', '.join(ACTIONS)} "
                               f"(got {action!r})")
        numbers: tuple[str, ...] = ()
        pacing = None
        if action == "dnc_add":
            raw_numbers = item.get("numbers")
            if not isinstance(raw_numbers, list) or not raw_numbers:
                raise InvalidInput(f"{field}.numbers", "must list the numbers to add")
            numbers = tuple(normalize_or_raise(str(n), region, f"{field}.numbers[{j}]")
                            for j, n in enumerate(raw_numbers))
        if action == "set_pacing":
            try:
                pacing = CampaignSettings.with_changes(
                    campaign, {"pacing": item.get("pacing")}).pacing
            except InvalidInput as exc:
                raise InvalidInput(f"{field}.pacing", exc.message) from None
        department, available = None, None
        if action == "set_agents":
            department, available = _agents_event(item, field, departments)
        events.append(ScenarioEvent(at, action, numbers, pacing, department, available))
    events.sort(key=lambda e: e.at)

    return Scenario(path, seed, campaign, region, contacts_file, contacts_generate, dnc_file,
                    dnc_generate, dnc_overlap, tuple(departments), tuple(menus), network,
                    tuple(events), None if cap is None else float(cap))


# Area codes used for generated lists: real, geographic, so every number passes validation.
_AREA_CODES = (212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 713, 801, 206, 303, 602, 615)


def generate_numbers(count: int, seed: int, exclude: set[str] | None = None) -> list[str]:
    """`count` distinct valid US numbers, the same for the same seed."""
    rng = random.Random(seed)
    seen = set(exclude or ())
    out: list[str] = []
    while len(out) < count:
        area = _AREA_CODES[rng.randrange(len(_AREA_CODES))]
        number = f"+1{area}{rng.randrange(200, 1000):03d}{rng.randrange(10000):04d}"
        if number in seen or not isinstance(normalize(number, None), Normalized):
            continue
        seen.add(number)
        out.append(number)
    return out


@dataclass(frozen=True, slots=True)
class Loaded:
    campaign_id: int
    contacts: ImportReport
    dnc_added: int
    dnc_errors: list[RowError]


def load_into(store: Store, account_id: int, scenario: Scenario, now: float, *,
              draft: bool = False) -> Loaded:
    """Create the scenario's numbers, people, menus, campaign, contacts and DNC entries.

    An account on the simulated network takes the scenario's [network] (and its departments'
    handle times), so the worker's calls behave as the scenario says.
    """
    schedule = not draft and scenario.campaign.start is not None
    _check_loadable(store, account_id, scenario, schedule)
    accounts = store.accounts
    if accounts.get(account_id).provider.get("kind", "sim") == "sim":
        accounts.set_provider(account_id, sim_provider(scenario))
    accounts.add_numbers(account_id, scenario.campaign.numbers)
    existing = {a.name for a in accounts.agents(account_id)}
    for department in scenario.departments:
        department_id = accounts.add_department(account_id, department.name)
        for n in range(1, department.agents + 1):
            name = f"{department.name}-{n}"
            if name not in existing:
                accounts.add_agent(account_id, name, now, department_id=department_id)
    for menu in scenario.voice_menus:
        if not accounts.target_exists(account_id, "voice_menu", menu.name):
            accounts.add_voice_menu(account_id, menu.name, menu.prompt, menu.options)

    contact_numbers: list[str] = []
    if scenario.contacts_generate is not None:
        contact_numbers = generate_numbers(scenario.contacts_generate, scenario.seed)

    dnc_numbers: list[str] = []
    dnc_added, dnc_errors = 0, []
    if scenario.dnc_file is not None:
        with open_text(scenario.dnc_file) as text:
            dnc_report = import_dnc(store, account_id, dnc_rows(text, str(scenario.dnc_file)),
                                    scenario.region, now, source=scenario.dnc_file.name)
        dnc_added, dnc_errors = dnc_report.added, dnc_report.errors
    if scenario.dnc_generate:
        overlap = random.Random(scenario.seed + 1).sample(
            contact_numbers, min(scenario.dnc_overlap, len(contact_numbers)))
        dnc_numbers.extend(overlap)
        dnc_numbers.extend(generate_numbers(scenario.dnc_generate - len(overlap),
                                            scenario.seed + 2, set(contact_numbers)))
    dnc_added += store.dnc.add(account_id, dnc_numbers, now, source=scenario.path.name)

    campaign_id = store.campaigns.create(account_id, scenario.campaign, now,
                                         seed=scenario.seed, schedule=schedule)
    if scenario.contacts_file is not None:
        with open_text(scenario.contacts_file) as text:
            table = read_table(text, str(scenario.contacts_file))
            report = import_contacts(store, campaign_id, account_id, rows_from_table(table),
                                     scenario.region, now, max_rows=None)
    else:
        report = import_contacts(store, campaign_id, account_id, _generated(contact_numbers),
                                 scenario.region, now, max_rows=None)
    return Loaded(campaign_id, report, dnc_added, dnc_errors)


def _check_loadable(store: Store, account_id: int, scenario: Scenario, schedule: bool) -> None:
    """Everything that could refuse the load, checked before anything is written."""
    settings = scenario.campaign
    if any(c.settings.name == settings.name for c in store.campaigns.list(account_id)):
        raise InvalidInput("campaign.name", f"a campaign named {settings.name!r} already "
                           "exists in this account")
    if schedule:
        missing = settings.missing_to_start()
        if missing:
            field = "campaign.numbers" if settings.numbers == () else "campaign.transfer"
            raise InvalidInput(field, "a scheduled campaign needs " + " and ".join(missing)
                               + " (or load it with --draft)")
        transfer = settings.transfer
        assert transfer is not None
        created = {
            "department": {d.name for d in scenario.departments},
            "agent": {f"{d.name}-{n}" for d in scenario.departments
                      for n in range(1, d.agents + 1)},
            "voice_menu": {m.name for m in scenario.voice_menus},
        }[transfer.kind.value]
        if transfer.name not in created and not store.accounts.target_exists(
                account_id, transfer.kind.value, transfer.name):
            raise InvalidInput(f"campaign.transfer.{transfer.kind.value}",
                               f"no {transfer.kind.value.replace('_', ' ')} named "
                               f"{transfer.name!r} in the account or the scenario")
    if scenario.contacts_file is not None:
        with open_text(scenario.contacts_file) as text:
            read_table(text, str(scenario.contacts_file))
    if scenario.dnc_file is not None:
        with open_text(scenario.dnc_file) as text:
            next(dnc_rows(text, str(scenario.dnc_file)), None)


def sim_provider(scenario: Scenario) -> dict[str, object]:
    """The account provider settings for the scenario's simulated network."""
    return {"kind": "sim", "network": scenario.network.to_dict(),
            "handle_seconds": {k: list(v) for k, v in scenario.network.handle_seconds.items()},
            "calls_per_second": scenario.carrier_calls_per_second}


def _generated(numbers: list[str]) -> Iterator[RawContact]:
    for i, number in enumerate(numbers, start=2):
        yield RawContact(i, number, f"Contact {i - 1}", None, {})


"""Fixtures of the e2e tier: a private `outbound` per test and a scenario to break."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_support import GOOD_CONTACTS, GOOD_SCENARIO, Outbound, contacts_csv


@pytest.fixture
def outbound(tmp_path: Path) -> Iterator[Outbound]:
    cli = Outbound(tmp_path)
    try:
        yield cli
    finally:
        cli.close()


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A directory holding GOOD_SCENARIO as scenario.toml, its contacts.csv and dnc.txt."""
    directory = tmp_path / "scenario"
    directory.mkdir()
    (directory / "scenario.toml").write_text(GOOD_SCENARIO, encoding="utf-8")
    (directory / "contacts.csv").write_text(contacts_csv(GOOD_CONTACTS), encoding="utf-8")
    # Two numbers of the list in two common formats, and one not on it.
    (directory / "dnc.txt").write_text("415-555-2003\n+1 (415) 555-2007\n212 555 0199\n",
                                       encoding="utf-8")
    return directory


@pytest.fixture
def edited_scenario(scenario_dir: Path) -> Callable[[str, str], Path]:
    """GOOD_SCENARIO with one piece of text replaced, written next to its data files."""

    def edit(old: str, new: str) -> Path:
        assert GOOD_SCENARIO.count(old) == 1, f"{old!r} must occur once in GOOD_SCENARIO"
        path = scenario_dir / "edited.toml"
        path.write_text(GOOD_SCENARIO.replace(old, new), encoding="utf-8")
        return path

    return edit


@pytest.fixture(scope="session")
def acme_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one account, Acme (UTC, US), made once by the real command."""
    cli = Outbound(tmp_path_factory.mktemp("acme-template"))
    try:
        cli.ok("admin", "create-account", "Acme", "--timezone", "UTC", "--region", "US")
    finally:
        cli.close()
    return cli.data_dir


@pytest.fixture
def acme(outbound: Outbound, acme_template: Path) -> Outbound:
    """`outbound` on a store that already holds the account Acme (a copy of the template)."""
    shutil.copytree(acme_template, outbound.data_dir)
    return outbound

"""Routing decides whom to try for a call, in order, from the account's people it is given."""

from __future__ import annotations

from outbound.domain.settings import Transfer, TransferKind
from outbound.routing.router import candidates, resolve_target
from outbound.store.agents import AgentChoice, Directory, VoiceMenu

PEOPLE = Directory({1: "Sales", 2: "Support"}, frozenset({"ann", "bob"}), None)
SALES = AgentChoice(department_id=1)


def test_a_department_target_offers_its_longest_idle_free_agent() -> None:
    target = resolve_target(Transfer(TransferKind.DEPARTMENT, "Sales"), PEOPLE)

    assert target.department_id == 1
    assert candidates(target, None, strict_preference=False) == (SALES,)


def test_an_agent_target_offers_that_agent() -> None:
    target = resolve_target(Transfer(TransferKind.AGENT, "bob"), PEOPLE)

    assert candidates(target, None, strict_preference=True) == (AgentChoice(name="bob"),)


def test_a_department_the_account_lacks_offers_nobody() -> None:
    target = resolve_target(Transfer(TransferKind.DEPARTMENT, "Billing"), PEOPLE)

    assert target.department_id is None
    assert candidates(target, None, strict_preference=False) == ()


def test_the_contacts_own_agent_is_tried_before_the_target() -> None:
    target = resolve_target(Transfer(TransferKind.DEPARTMENT, "Sales"), PEOPLE)

    assert candidates(target, "ann", strict_preference=False) == (AgentChoice(name="ann"), SALES)


def test_agent_first_waits_for_the_contacts_own_agent_when_that_agent_exists() -> None:
    target = resolve_target(Transfer(TransferKind.DEPARTMENT, "Sales"), PEOPLE)

    assert candidates(target, "ann", strict_preference=True) == (AgentChoice(name="ann"),)


def test_agent_first_falls_back_to_the_target_for_an_agent_nobody_knows() -> None:
    target = resolve_target(Transfer(TransferKind.DEPARTMENT, "Sales"), PEOPLE)

    assert candidates(target, "zed", strict_preference=True) == (AgentChoice(name="zed"), SALES)


def test_a_voice_menu_target_carries_its_prompt_and_offers_no_agent() -> None:
    menu = VoiceMenu("Press 1 to confirm", {"1": "confirm"})
    people = Directory(PEOPLE.departments, PEOPLE.agent_names, menu)

    target = resolve_target(Transfer(TransferKind.VOICE_MENU, "Confirm"), people)

    assert target.menu is not None
    assert (target.menu.prompt, target.menu.options) == (menu.prompt, menu.options)
    assert candidates(target, None, strict_preference=False) == ()

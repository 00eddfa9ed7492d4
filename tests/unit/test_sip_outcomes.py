"""How the SIP trunk reads the network: final responses into outcomes, settings into a trunk."""

from __future__ import annotations

import pytest

from outbound.domain.contacts import Outcome
from outbound.domain.errors import InvalidInput, ProviderError
from outbound.telephony.sip.outcomes import outcome_for
from outbound.telephony.sip.trunk import Trunk, parse_settings


@pytest.mark.parametrize(("code", "outcome"), [
    (486, Outcome.BUSY), (600, Outcome.BUSY),
    (480, Outcome.NO_ANSWER), (408, Outcome.NO_ANSWER),
    (404, Outcome.INVALID_NUMBER), (484, Outcome.INVALID_NUMBER), (604, Outcome.INVALID_NUMBER),
    (403, Outcome.REJECTED), (603, Outcome.REJECTED),
    (400, Outcome.PROVIDER_ERROR), (401, Outcome.PROVIDER_ERROR),
    (407, Outcome.PROVIDER_ERROR), (488, Outcome.PROVIDER_ERROR),
    (500, Outcome.PROVIDER_ERROR), (502, Outcome.PROVIDER_ERROR),
    (503, Outcome.PROVIDER_ERROR), (606, Outcome.PROVIDER_ERROR),
])
def test_each_final_response_means_the_outcome_the_issue_gives_it(
    code: int, outcome: Outcome,
) -> None:
    assert outcome_for(code) is outcome


def trunk(**settings: object) -> Trunk:
    return Trunk.from_settings(parse_settings({"kind": "sip", "proxy": "sip:127.0.0.1:5070",
                                               **settings}))


def test_a_customer_is_dialed_as_e164_at_the_proxy_and_the_caller_id_goes_in_from() -> None:
    udp = trunk()
    assert udp.uri("+14155550123") == "sip:+14155550123@127.0.0.1:5070"
    assert udp.identity("+14155550100") == "<sip:+14155550100@127.0.0.1>"
    assert udp.local_ip == "127.0.0.1"  # RTP and Contact on the route to the proxy


def test_tcp_and_a_domain_shape_the_uris_and_the_registrar() -> None:
    tcp = trunk(transport="tcp", domain="voice.example.net", register=True,
                username="acme", password="s3cret-pass")
    assert tcp.uri("+14155550123") == "sip:+14155550123@127.0.0.1:5070;transport=tcp"
    assert tcp.identity("+14155550100") == "<sip:+14155550100@voice.example.net>"
    assert tcp.registrar == "sip:127.0.0.1:5070;transport=tcp"  # REGISTER via the proxy
    assert tcp.register


def test_the_port_defaults_to_5060_and_the_password_never_shows_in_a_repr() -> None:
    plain = Trunk.from_settings(parse_settings({"kind": "sip", "proxy": "sip:127.0.0.1",
                                                "username": "u", "password": "hunter2-x"}))
    assert plain.port == 5060
    assert "hunter2" not in repr(plain)


@pytest.mark.parametrize(("config", "field"), [
    ({"proxy": "sips:127.0.0.1:5061"}, "proxy"),
    ({"proxy": "sip:127.0.0.1:70000"}, "proxy"),
    ({"proxy": "sip:127.0.0.1", "transport": "tls"}, "transport"),
    ({"proxy": "sip:127.0.0.1", "colour": "red"}, "colour"),
])
def test_bad_trunk_settings_name_the_field(config: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Trunk.from_settings(parse_settings({"kind": "sip", **config}))
    assert refused.value.field == field


def test_customers_are_dialed_at_e164_numbers_only_and_agents_at_a_sip_uri_or_a_number() -> None:
    udp = trunk()
    assert udp.customer_uri("+14155550123") == "sip:+14155550123@127.0.0.1:5070"
    assert udp.agent_uri("sip:alice@10.0.0.5:5080") == "sip:alice@10.0.0.5:5080"
    assert udp.agent_uri("+14155550199") == "sip:+14155550199@127.0.0.1:5070"
    with pytest.raises(ProviderError, match=r"not an E\.164 number"):
        udp.customer_uri("4155550123")
    with pytest.raises(ProviderError, match="give the agent a sip_uri"):
        udp.agent_uri("alice")
